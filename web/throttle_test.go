package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
	"github.com/optio-edu/optio/web"
)

// throttleEnv is two Optio web servers (two instances, as behind a load
// balancer) on one database and one fake clock.
type throttleEnv struct {
	t      *testing.T
	db     *store.DB
	clock  *optio.FakeClock
	a, b   *web.Server
	urlA   string
	urlB   string
	client *http.Client
}

func newThrottleEnv(t *testing.T, d store.Dialect, env map[string]string) *throttleEnv {
	t.Helper()
	clock := optio.NewFakeClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	db := storetest.Open(t, d, clock)
	cfg, err := optio.LoadConfig(func(k string) string { return env[k] })
	require.NoError(t, err)
	e := &throttleEnv{t: t, db: db, clock: clock,
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	for _, s := range []**web.Server{&e.a, &e.b} {
		*s = newServer(t, web.Deps{Config: cfg, Store: db, Logger: slog.New(slog.DiscardHandler), Clock: clock})
	}
	sa, sb := httptest.NewServer(e.a), httptest.NewServer(e.b)
	t.Cleanup(sa.Close)
	t.Cleanup(sb.Close)
	e.urlA, e.urlB = sa.URL, sb.URL
	return e
}

// seen is what a client sees of a response.
type seen struct {
	status     int
	retryAfter string
	code       string
	message    string
	body       string
}

// send posts body (JSON, or a form for url.Values) to base+path with an
// optional session token and headers.
func (e *throttleEnv) send(base, path, token string, body any, header map[string]string) seen {
	e.t.Helper()
	var rd io.Reader
	ct := "application/json"
	if v, ok := body.(url.Values); ok {
		rd, ct = strings.NewReader(v.Encode()), "application/x-www-form-urlencoded"
	} else {
		raw, err := json.Marshal(body)
		require.NoError(e.t, err)
		rd = strings.NewReader(string(raw))
	}
	req, err := http.NewRequest("POST", base+path, rd)
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", ct)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if token != "" {
		req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: token})
	}
	resp, err := e.client.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := seen{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: string(raw)}
	var eb struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if json.Unmarshal(raw, &eb) == nil {
		a.code, a.message = eb.Error.Code, eb.Error.Message
	}
	return a
}

// user makes a user of role with a password, returning it and a session token.
func (e *throttleEnv) user(role optio.Role, email, password string) (*optio.User, string) {
	e.t.Helper()
	hash, err := web.HashPassword(password)
	require.NoError(e.t, err)
	u, err := e.db.CreateUser(context.Background(), optio.NewUser{Email: email, PasswordHash: hash, GivenName: "Kate", FamilyName: "Lee", Role: role})
	require.NoError(e.t, err)
	token := "tok-" + u.ID
	sum := sha256.Sum256([]byte(token))
	_, err = e.db.CreateSession(context.Background(), u.ID, hex.EncodeToString(sum[:]), 24*time.Hour)
	require.NoError(e.t, err)
	return u, token
}

func refusals(s *web.Server, scope string) float64 {
	return testutil.ToFloat64(s.Metrics.Throttle.WithLabelValues(scope))
}

// TestLoginThrottle: 60 wrong passwords for one account, alternating between
// two instances on one database: the first 10 are checked (401), the other 50
// answer 429 with Retry-After; the right password is refused too while the
// lock lasts, and works once it ends (a fake clock); each further wrong
// password after a lock doubles it; a successful login clears the account's
// count. The form on /login is throttled the same way.
func TestLoginThrottle(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		e := newThrottleEnv(t, d, nil)
		e.user(optio.RoleParent, "kate@home.example", "the right password")
		login := func(base, pw string) seen {
			return e.send(base, "/api/auth/login", "", map[string]string{"email": "kate@home.example", "password": pw}, nil)
		}
		var statuses []int
		for i := range 60 {
			base := e.urlA
			if i%2 == 1 {
				base = e.urlB
			}
			a := login(base, "wrong password")
			statuses = append(statuses, a.status)
			if i >= 10 {
				require.Equal(t, "rate_limited", a.code, "attempt %d", i+1)
				require.Equal(t, "60", a.retryAfter, "attempt %d", i+1)
				require.Equal(t, "Too many attempts. Try again in a minute.", a.message)
			} else {
				require.Equal(t, "unauthorized", a.code, "attempt %d", i+1)
				require.Empty(t, a.retryAfter)
			}
		}
		require.Equal(t, 10, howMany(statuses, 401), "the two instances share one count")
		require.Equal(t, 50, howMany(statuses, 429))
		require.Equal(t, 50.0, refusals(e.a, optio.ThrottleLoginAccount)+refusals(e.b, optio.ThrottleLoginAccount))

		a := login(e.urlA, "the right password")
		require.Equal(t, http.StatusTooManyRequests, a.status, "the right password during the lock is refused unchecked")
		require.Equal(t, "60", a.retryAfter)
		form := e.send(e.urlB, "/login", "", url.Values{"email": {"KATE@home.example "}, "password": {"the right password"}}, nil)
		require.Equal(t, http.StatusTooManyRequests, form.status, "the sign-in form too, whatever the email's case")
		require.Equal(t, "60", form.retryAfter)
		require.Contains(t, form.body, "Too many attempts. Try again in a minute.")

		e.clock.Advance(30 * time.Second)
		require.Equal(t, "30", login(e.urlB, "wrong password").retryAfter)
		e.clock.Advance(30 * time.Second)
		a = login(e.urlB, "wrong password")
		require.Equal(t, http.StatusUnauthorized, a.status, "after the lock one attempt is checked…")
		a = login(e.urlA, "the right password")
		require.Equal(t, http.StatusTooManyRequests, a.status)
		require.Equal(t, "120", a.retryAfter, "…and the next lock is twice as long")

		e.clock.Advance(2 * time.Minute)
		require.Equal(t, http.StatusOK, login(e.urlA, "the right password").status, "after the lock the right password works")
		for i := range 9 {
			require.Equal(t, http.StatusUnauthorized, login(e.urlB, "wrong password").status, "a sign-in cleared the count (attempt %d)", i+1)
		}
		// Another account from the same address is not locked by this one.
		e.user(optio.RoleParent, "pat@home.example", "pat's password")
		require.Equal(t, http.StatusOK, e.send(e.urlA, "/api/auth/login", "", map[string]string{"email": "pat@home.example", "password": "pat's password"}, nil).status)
	})
}

// TestLoginThrottleUnderConcurrency sends 60 wrong passwords at once to two
// instances: exactly 10 are checked, because each attempt is counted in the
// database before its password is.
func TestLoginThrottleUnderConcurrency(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		e := newThrottleEnv(t, d, nil)
		e.user(optio.RoleStudent, "sam@home.example", "the right password")
		var mu sync.Mutex
		var statuses []int
		var wg sync.WaitGroup
		for i := range 60 {
			wg.Go(func() {
				base := e.urlA
				if i%2 == 1 {
					base = e.urlB
				}
				a := e.send(base, "/api/auth/login", "", map[string]string{"email": "sam@home.example", "password": "wrong password"}, nil)
				mu.Lock()
				statuses = append(statuses, a.status)
				mu.Unlock()
			})
		}
		wg.Wait()
		require.Equal(t, 10, howMany(statuses, 401))
		require.Equal(t, 50, howMany(statuses, 429))
	})
}

// TestRegistrationThrottle: one address may create OPTIO_REGISTRATIONS_PER_HOUR
// accounts (here 5) an hour, across instances and through the API and the
// form; then 429 with Retry-After. X-Forwarded-For is ignored unless the
// peer is one of OPTIO_TRUSTED_PROXIES.
func TestRegistrationThrottle(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		e := newThrottleEnv(t, d, map[string]string{"OPTIO_REGISTRATIONS_PER_HOUR": "5"})
		reg := func(base string, i int, header map[string]string) seen {
			return e.send(base, "/api/auth/register", "", map[string]string{"email": "kid" + string(rune('a'+i)) + "@spam.example",
				"password": "a long password", "given_name": "Kid", "family_name": "Spam"}, header)
		}
		spoof := map[string]string{"X-Forwarded-For": "203.0.113.9"}
		for i := range 4 {
			require.Equal(t, http.StatusCreated, reg(e.urlA, i, spoof).status)
		}
		form := e.send(e.urlB, "/register", "", url.Values{"email": {"kidz@spam.example"}, "password": {"a long password"},
			"given_name": {"Kid"}, "family_name": {"Spam"}}, nil)
		require.Equal(t, http.StatusSeeOther, form.status)
		a := reg(e.urlB, 5, spoof)
		require.Equal(t, http.StatusTooManyRequests, a.status, "a spoofed X-Forwarded-For from an untrusted peer changes nothing")
		require.Equal(t, "rate_limited", a.code)
		require.Equal(t, "300", a.retryAfter)
		form = e.send(e.urlA, "/register", "", url.Values{"email": {"kidy@spam.example"}, "password": {"a long password"},
			"given_name": {"Kid"}, "family_name": {"Spam"}}, nil)
		require.Equal(t, http.StatusTooManyRequests, form.status)
		require.Equal(t, "300", form.retryAfter)
		var n int
		require.NoError(t, e.db.R.QueryRow(`SELECT COUNT(*) FROM users WHERE email LIKE '%@spam.example'`).Scan(&n))
		require.Equal(t, 5, n)
		require.Equal(t, 2.0, refusals(e.a, optio.ThrottleRegisterAddress)+refusals(e.b, optio.ThrottleRegisterAddress))
		e.clock.Advance(5 * time.Minute)
		require.Equal(t, http.StatusCreated, reg(e.urlA, 6, nil).status, "after the lock, one more")
		require.Equal(t, "600", reg(e.urlA, 7, nil).retryAfter, "and a longer lock")

		// Behind a trusted proxy each client counts for itself.
		p := newThrottleEnv(t, d, map[string]string{"OPTIO_REGISTRATIONS_PER_HOUR": "2", "OPTIO_TRUSTED_PROXIES": "127.0.0.1/32, ::1"})
		regP := func(i int, client string) int {
			return p.send(p.urlA, "/api/auth/register", "", map[string]string{"email": "kid" + string(rune('a'+i)) + "@proxy.example",
				"password": "a long password", "given_name": "Kid", "family_name": "Proxy"},
				map[string]string{"X-Forwarded-For": "198.51.100.7, " + client}).status
		}
		require.Equal(t, http.StatusCreated, regP(0, "203.0.113.1"))
		require.Equal(t, http.StatusCreated, regP(1, "203.0.113.1"))
		require.Equal(t, http.StatusTooManyRequests, regP(2, "203.0.113.1"))
		require.Equal(t, http.StatusCreated, regP(3, "203.0.113.2"), "another client behind the proxy")
		require.Equal(t, http.StatusCreated, regP(4, "2001:db8:1:2::1"))
		require.Equal(t, http.StatusCreated, regP(5, "2001:db8:1:2::ffff"))
		require.Equal(t, http.StatusTooManyRequests, regP(6, "2001:db8:1:2:aaaa::1"), "IPv6 clients count by /64")
	})
}

// TestCodeGuessingThrottle: a parent guessing link codes gets 404 ten times,
// then 429 with Retry-After, and a real code is refused during the lock and
// works after it; an address guessing with several accounts is locked after
// 30; observer invitation codes share the limits, through the API and the
// accept form.
func TestCodeGuessingThrottle(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		e := newThrottleEnv(t, d, nil)
		ctx := context.Background()
		student := storetest.MustCreateUser(t, e.db, optio.RoleStudent, "Sam", "Lee")
		lc, err := e.db.CreateLinkCode(ctx, student.ID)
		require.NoError(t, err)
		_, parent := e.user(optio.RoleParent, "pat@home.example", "pat's password")
		guess := func(base, token string) seen {
			return e.send(base, "/api/parent/links", token, map[string]string{"code": optio.NewCode()}, nil)
		}
		for i := range 10 {
			require.Equal(t, http.StatusNotFound, guess(e.urlA, parent).status, "guess %d", i+1)
		}
		a := guess(e.urlB, parent)
		require.Equal(t, http.StatusTooManyRequests, a.status)
		require.Equal(t, "rate_limited", a.code)
		require.Equal(t, "60", a.retryAfter)
		require.Equal(t, http.StatusTooManyRequests, e.send(e.urlA, "/api/parent/links", parent, map[string]string{"code": lc.Code}, nil).status,
			"the real code is refused during the lock")
		e.clock.Advance(time.Minute)
		a = e.send(e.urlA, "/api/parent/links", parent, map[string]string{"code": strings.ToLower(lc.Code)}, nil)
		require.Equal(t, http.StatusCreated, a.status, a.body)
		require.Equal(t, 2.0, refusals(e.a, optio.ThrottleCodeAccount)+refusals(e.b, optio.ThrottleCodeAccount), "the eleventh guess and the real code")

		// Per address: more accounts do not buy more guesses (30 an hour;
		// the first parent made 10).
		for i := range 2 {
			_, p := e.user(optio.RoleParent, "p"+string(rune('a'+i))+"@home.example", "a long password")
			for range 10 {
				require.Equal(t, http.StatusNotFound, guess(e.urlB, p).status)
			}
		}
		_, fourth := e.user(optio.RoleParent, "pz@home.example", "a long password")
		a = guess(e.urlA, fourth)
		require.Equal(t, http.StatusTooManyRequests, a.status)
		require.Equal(t, "60", a.retryAfter)
		require.Equal(t, 1.0, refusals(e.a, optio.ThrottleCodeAddress))
		e.clock.Advance(time.Hour + 2*time.Minute)

		// Observer invitations: the same limits, API and form.
		_, obs := e.user(optio.RoleObserver, "gran@home.example", "a long password")
		for i := range 10 {
			path, body := "/api/observer-invitations/accept", any(map[string]string{"code": optio.NewCode()})
			if i%2 == 1 {
				path, body = "/observer/accept", url.Values{"code": {optio.NewCode()}}
			}
			require.Equal(t, http.StatusNotFound, e.send(e.urlA, path, obs, body, nil).status, "guess %d", i+1)
		}
		a = e.send(e.urlB, "/observer/accept", obs, url.Values{"code": {optio.NewCode()}}, nil)
		require.Equal(t, http.StatusTooManyRequests, a.status)
		require.Equal(t, "60", a.retryAfter)
		require.Contains(t, a.body, "Too many attempts.")
		a = e.send(e.urlB, "/api/observer-invitations/accept", obs, map[string]string{"code": optio.NewCode()}, nil)
		require.Equal(t, "rate_limited", a.code)
	})
}

func howMany(list []int, v int) int {
	n := 0
	for _, x := range list {
		if x == v {
			n++
		}
	}
	return n
}
