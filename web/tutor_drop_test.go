package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/tutor"
	"github.com/optio-edu/optio/tutor/geminitest"
)

// askAndLeave sends a question as a streaming client and closes the
// connection as soon as the first piece of the answer has arrived (or, when
// leaveWhen is set, as soon as it reports true: before any answer), as a
// student closing the tab does.
func (b *browser) askAndLeave(convID, text string, leaveWhen func() bool) string {
	b.t.Helper()
	raw, _ := json.Marshal(map[string]string{"text": text})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", b.Base+"/api/tutor/conversations/"+convID+"/messages", bytes.NewReader(raw))
	require.NoError(b.t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	if leaveWhen != nil {
		go func() {
			defer cancel()
			for deadline := time.Now().Add(10 * time.Second); !leaveWhen() && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
		}()
		if resp, err := b.HTTP.Do(req); err == nil {
			resp.Body.Close()
		}
		return ""
	}
	resp, err := b.HTTP.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	require.Equal(b.t, 200, resp.StatusCode)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			cancel() // the student saw the first words and left
			return data
		}
	}
	b.t.Fatal("no answer arrived")
	return ""
}

// providerAsked reports, from now on, whether the fake Gemini has been asked
// once more: Optio recorded the question, and the answer is on its way.
func (e *tutorEnv) providerAsked() func() bool {
	n := len(e.gemini.Requests())
	return func() bool { return len(e.gemini.Requests()) > n }
}

// Issue 17, item 8: a student who closed the connection once the answer's
// text arrived got the answer, but the exchange was deleted: it did not
// count against the daily limit, and a flagged message ("I am being
// bullied") never reached the parent. The question, its flag and the count
// are now recorded before anything streams, and leaving undoes none of it.
func TestTutorDroppedStreamKeepsSafeguarding(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, d store.Dialect) {
		e := setupTutor(t, d, true, map[string]string{"OPTIO_TUTOR_DAILY_LIMIT": "4"})
		teen := e.signUp(optio.RoleStudent, "Tess", nil)
		_, err := e.app.Store.RecordBirthDate(context.Background(), "", teen.user.ID, tutorNow.AddDate(-15, 0, 0), optio.SourceAdmin) // answers stream
		require.NoError(t, err)
		kid := e.signUp(optio.RoleStudent, "Kim", nil) // under 13: answers are buffered
		mum := e.signUp(optio.RoleParent, "Mum", nil)
		e.linkParent(mum.user, teen.user)
		e.linkParent(mum.user, kid.user)
		flaggedOf := func(student *browser) []optio.TutorFlaggedExchange {
			var out struct {
				Exchanges []optio.TutorFlaggedExchange `json:"exchanges"`
			}
			require.Equal(t, 200, mum.JSON("GET", "/api/parent/students/"+student.user.ID+"/tutor/flagged", nil, &out))
			return out.Exchanges
		}
		slow := func(chunks ...string) geminitest.Reply {
			return geminitest.Reply{Chunks: chunks, Delay: 200 * time.Millisecond}
		}

		// The teen leaves after the first words of the answer.
		c := teen.newConversation("study_buddy")
		e.gemini.Reply(slow("I'm really sorry that is happening. ", "Please tell a trusted adult, ", "like a teacher or a parent."))
		first := teen.askAndLeave(c.ID, "I am being bullied at school and I don't know what to do", nil)
		require.Contains(t, first, "sorry")
		require.Eventually(t, func() bool { return len(flaggedOf(teen)) == 1 }, 10*time.Second, 50*time.Millisecond,
			"the flagged question reaches the parent")
		x := flaggedOf(teen)[0]
		require.Equal(t, tutor.CategoryBullying, x.Question.Category)
		require.True(t, x.Question.Flagged)
		require.Eventually(t, func() bool { return len(teen.conversation(c.ID).Messages) == 2 }, 10*time.Second, 50*time.Millisecond)
		shown := teen.conversation(c.ID).Messages[1]
		require.Equal(t, optio.TutorRoleModel, shown.Role)
		require.True(t, strings.HasPrefix(shown.Text, "I'm really sorry"), "what the student saw is kept: %q", shown.Text)

		// An unflagged question dropped mid-answer counts too.
		e.gemini.Reply(slow("Fractions ", "are parts ", "of a whole."))
		teen.askAndLeave(c.ID, "What is a fraction?", nil)
		// So does a question whose answer never started arriving.
		e.gemini.Reply(geminitest.Reply{Chunks: []string{"Too late."}, Delay: 5 * time.Second})
		teen.askAndLeave(c.ID, "What is a decimal?", e.providerAsked())
		require.Eventually(t, func() bool { return len(teen.conversation(c.ID).Messages) >= 5 }, 10*time.Second, 50*time.Millisecond)

		e.gemini.Reply(geminitest.Text("Four."))
		status, tr, _ := teen.ask(c.ID, "What is 2+2?")
		require.Equal(t, 200, status)
		require.Equal(t, 0, tr.Remaining, "three dropped exchanges and this one used the daily limit of 4")
		status, _, ae := teen.ask(c.ID, "And 3+3?")
		require.Equal(t, http.StatusTooManyRequests, status)
		require.Equal(t, optio.ERATELIMIT, ae.Error.Code)

		// An under-13 sees nothing until the whole answer is checked; leaving
		// before it comes still leaves the flagged question with the parent.
		kc := kid.newConversation("study_buddy")
		e.gemini.Reply(geminitest.Reply{Chunks: []string{"That sounds hard. Tell a trusted adult."}, Delay: 2 * time.Second})
		kid.askAndLeave(kc.ID, "kids keep picking on me", e.providerAsked())
		require.Eventually(t, func() bool { return len(flaggedOf(kid)) == 1 }, 10*time.Second, 50*time.Millisecond)
		require.Equal(t, "kids keep picking on me", flaggedOf(kid)[0].Question.Text)

		// A failure on Optio's side (the AI resting) still takes an unflagged
		// question back, but never a flagged one.
		e.gemini.Reply(geminitest.Status(500))
		status, _, _ = kid.ask(kc.ID, "What is a noun?")
		require.Equal(t, http.StatusServiceUnavailable, status)
		e.gemini.Reply(geminitest.Status(500))
		status, _, _ = kid.ask(kc.ID, "I'm being bullied again")
		require.Equal(t, http.StatusServiceUnavailable, status)
		require.Len(t, flaggedOf(kid), 2)
		var texts []string
		for _, m := range kid.conversation(kc.ID).Messages {
			texts = append(texts, m.Text)
		}
		require.NotContains(t, texts, "What is a noun?")
		require.Contains(t, texts, "I'm being bullied again")
	})
}
