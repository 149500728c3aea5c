package fetch

import (
	"context"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
)

// Every one of these is refused before a connection is attempted.
func TestURLRefusals(t *testing.T) {
	t.Parallel()
	c := New(Policy{})
	cases := []struct{ url, says string }{
		{"http://2130706433/", `"2130706433" is a numeric host in a non-canonical form`},
		{"http://0177.0.0.1/", `"0177.0.0.1" is a numeric host`},
		{"http://0x7f.0.0.1/", "numeric host"},
		{"http://0x7f000001/", "numeric host"},
		{"http://127.1/", "numeric host"},
		{"http://0/", "numeric host"},
		{"http://127.0.0.1./", "numeric host"},
		{"http://[::1]/", "::1 is a loopback address"},
		{"http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1 is a loopback address"},
		{"http://[::ffff:7f00:1]/", "is a loopback address"},
		{"http://[64:ff9b::7f00:1]/", "is a loopback address"},
		{"http://[fe80::1%25eth0]/", "is a link-local address"},
		{"http://[fd00::1]/", "private (unique local) address"},
		{"http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"},
		{"http://10.0.0.5/", "10.0.0.5 is a private address"},
		{"http://100.64.1.1/", "shared (CGNAT) address"},
		{"http://0.0.0.0:8080/", "unspecified"},
		{"http://localhost:8080/", "localhost is a loopback address"},
		{"http://127。0。0。1/", "127.0.0.1 is a loopback address"},
		{"http://①②⑦.0.0.1/", "127.0.0.1 is a loopback address"},
		{"http://files.localhost/", "is a loopback address"},
		{"file:///etc/passwd", "the file scheme is not allowed"},
		{"ftp://files.spark.test/essay.pdf", "the ftp scheme is not allowed"},
		{"gopher://files.spark.test:70/_GET", "the gopher scheme is not allowed"},
		{"data:text/plain;base64,aGk=", "the data scheme is not allowed"},
		{"javascript:alert(1)", "the javascript scheme is not allowed"},
		{"//files.spark.test/x", "no scheme"},
		{"http://user:pass@files.spark.test/x", "user name or password"},
		{"http://user@files.spark.test/x", "user name or password"},
		{"http:///x", "no host"},
		{"http:files.spark.test", "no host"},
	}
	for _, tc := range cases {
		_, err := c.Get(context.Background(), tc.url)
		require.Error(t, err, tc.url)
		require.Equal(t, optio.EFORBIDDEN, optio.ErrorCode(err), "%s: %v", tc.url, err)
		require.Contains(t, err.Error(), tc.says, tc.url)
		require.NotContains(t, err.Error(), "pass@", "credentials are not echoed")
	}

	_, err := c.Get(context.Background(), "http://files.spark.test/\x7f")
	require.Equal(t, optio.EINVALID, optio.ErrorCode(err))
}

func TestAllowedHosts(t *testing.T) {
	t.Parallel()
	p := Policy{AllowedHosts: []string{"Files.Spark.test", "sandbox.spark.test:8443", " ", "bücher.example", "[::1]:9000"}}.withDefaults()
	ok := []string{
		"https://files.spark.test/a.pdf",
		"https://FILES.SPARK.TEST/a.pdf",
		"http://files.spark.test:8080/a.pdf",
		"https://files.spark.test./a.pdf",
		"https://sandbox.spark.test:8443/a.pdf",
		"https://BÜCHER.example/a.pdf",
		"https://xn--bcher-kva.example/a.pdf",
	}
	for _, raw := range ok {
		require.NoError(t, p.checkURL(mustParse(t, raw)), raw)
	}
	refused := []string{
		"https://evil.example/a.pdf",
		"https://files.spark.test.evil.example/a.pdf",
		"https://evilfiles.spark.test/a.pdf",
		"https://sandbox.spark.test/a.pdf",
		"https://sandbox.spark.test:8444/a.pdf",
		"https://bucher.example/a.pdf",
	}
	for _, raw := range refused {
		err := p.checkURL(mustParse(t, raw))
		require.Error(t, err, raw)
		require.Contains(t, err.Error(), "is not an allowed download host")
	}
	require.NoError(t, Policy{}.withDefaults().checkURL(mustParse(t, "https://anything.example/x")), "no allowlist: any public host")
}

func mustParse(tb testing.TB, raw string) *url.URL {
	tb.Helper()
	u, err := url.Parse(raw)
	require.NoError(tb, err)
	return u
}

// inetAton reads a host the lenient way C's inet_aton and WHATWG URL parsers
// do (1–4 parts, each decimal, 0-octal or 0x-hex), the forms attackers use
// to spell 127.0.0.1 without looking like it.
func inetAton(host string) (netip.Addr, bool) {
	parts := strings.Split(strings.TrimSuffix(host, "."), ".")
	if len(parts) == 0 || len(parts) > 4 {
		return netip.Addr{}, false
	}
	vals := make([]uint64, len(parts))
	for i, p := range parts {
		base := 10
		switch {
		case strings.HasPrefix(p, "0x"):
			base, p = 16, p[2:]
			if p == "" {
				p = "0"
			}
		case len(p) > 1 && p[0] == '0':
			base, p = 8, p[1:]
		}
		v, err := strconv.ParseUint(p, base, 32)
		if err != nil {
			return netip.Addr{}, false
		}
		vals[i] = v
	}
	var n uint64
	for i, v := range vals[:len(vals)-1] {
		if v > 255 {
			return netip.Addr{}, false
		}
		n |= v << (24 - 8*i)
	}
	last := vals[len(vals)-1]
	if last >= 1<<(8*(5-len(vals))) {
		return netip.Addr{}, false
	}
	n |= last
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
}

func TestInetAtonHelper(t *testing.T) {
	t.Parallel()
	for _, h := range []string{"2130706433", "0177.0.0.1", "0x7f.1", "127.1", "0x7f000001"} {
		ip, ok := inetAton(h)
		require.True(t, ok, h)
		require.Equal(t, "127.0.0.1", ip.String(), h)
	}
}

// FuzzCheckURL: whatever the input, an accepted URL is http(s), has a host
// and no user info, and its host is neither a non-public address nor any
// numeric spelling of one.
func FuzzCheckURL(f *testing.F) {
	seeds := []string{
		"https://files.spark.test/essay.pdf",
		"http://2130706433/", "http://0177.0.0.1/", "http://0x7f.1/", "http://127.1/",
		"http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://[64:ff9b::a9fe:a9fe]/",
		"http://169.254.169.254/latest/meta-data/", "http://[fe80::1%25lo]/",
		"file:///etc/passwd", "ftp://x/", "gopher://x:70/", "data:,x", "http://u:p@x/",
		"HTTP://LOCALHOST./", "http://8.8.8.8/", "http://[2606:4700::1111]:8443/x?y#z",
		"http://%31%32%37.0.0.1/", "http://127。0。0。1/", "http://①②⑦.0.0.1/", "http:\\\\127.0.0.1\\",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	p := Policy{}.withDefaults()
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		if err != nil || p.checkURL(u) != nil {
			return
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			t.Fatalf("accepted scheme %q in %q", u.Scheme, raw)
		}
		if u.User != nil {
			t.Fatalf("accepted user info in %q", raw)
		}
		host, err := asciiHost(strings.ToLower(u.Hostname()))
		if host == "" || err != nil {
			t.Fatalf("accepted %q without a valid host", raw)
		}
		if ip, err := netip.ParseAddr(host); err == nil {
			if what, _ := classify(ip); what != "" {
				t.Fatalf("accepted %s address %s in %q", what, ip, raw)
			}
		}
		if ip, ok := inetAton(host); ok && ip.String() != host {
			t.Fatalf("accepted %q, a numeric spelling of %s", raw, ip)
		}
	})
}
