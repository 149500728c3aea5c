package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/optio-edu/optio"
)

// Client downloads files under one Policy. It is safe for concurrent use and
// keeps connections alive between downloads, so share one per process.
type Client struct {
	policy Policy
	http   *http.Client
	dialer *net.Dialer

	// Test hooks, set only by this package's tests before the first Get.
	// lookup maps a host name to an address in place of DNS; public marks
	// addresses (e.g. a loopback test server) the check treats as public.
	// The address check itself is never bypassed for anything else.
	lookup map[string]netip.Addr
	public map[netip.AddrPort]bool
}

// Response is a successful (2xx) download. The caller must close Body;
// reading more than Policy.MaxBytes from it fails with an ETOOLARGE error.
type Response struct {
	Body io.ReadCloser
	// ContentType is the server's Content-Type header: a hint only, never a
	// reason to trust the bytes (filestore sniffs them).
	ContentType string
	// ContentLength is the declared length, or -1 when unknown.
	ContentLength int64
	// Filename is the name from Content-Disposition, if any. It is
	// untrusted: pass it through filestore.SafeFilename before use.
	Filename string
}

// New returns a Client enforcing p; zero fields of p take their defaults.
func New(p Policy) *Client {
	p = p.withDefaults()
	c := &Client{policy: p}
	c.dialer = &net.Dialer{
		Timeout:   min(connectTimeout, p.Timeout),
		KeepAlive: 30 * time.Second,
		Control:   c.control,
	}
	transport := &http.Transport{
		Proxy:                  nil, // never a proxy from the environment
		DialContext:            c.dial,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    min(connectTimeout, p.Timeout),
		ResponseHeaderTimeout:  min(responseHeaderTimeout, p.Timeout),
		ExpectContinueTimeout:  time.Second,
		MaxIdleConns:           16,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	c.http = &http.Client{
		Transport:     transport,
		Timeout:       p.Timeout,
		CheckRedirect: c.checkRedirect,
	}
	return c
}

// Get downloads rawURL under the client's policy. A refusal by policy is an
// EFORBIDDEN error; a non-2xx answer a *StatusError; a declared length over
// MaxBytes an ETOOLARGE error; a network failure or timeout an EUNAVAILABLE
// error. IsRetryable sorts them. Errors name the URL without its query, which
// may hold a signature.
func (c *Client) Get(ctx context.Context, rawURL string) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch: %w", optio.Errorf(optio.EINVALID, "the download URL is not a valid URL"))
	}
	where := redact(req.URL)
	if err := c.policy.checkURL(req.URL); err != nil {
		return nil, fmt.Errorf("fetch %s: %w", where, err)
	}
	req.Header.Set("User-Agent", "Optio-Fetch/1 (+evidence sync)")

	resp, err := c.http.Do(req)
	if err != nil {
		return nil, wrapTransportErr(where, err)
	}
	where = redact(resp.Request.URL)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // lets the connection be reused
		_ = resp.Body.Close()
		return nil, newStatusError(where, resp.StatusCode)
	}
	if resp.ContentLength > c.policy.MaxBytes {
		_ = resp.Body.Close()
		return nil, fmt.Errorf("fetch %s: %w", where, tooLarge(c.policy.MaxBytes))
	}
	out := &Response{
		Body:          &limitedBody{rc: resp.Body, left: c.policy.MaxBytes, max: c.policy.MaxBytes, where: where},
		ContentType:   resp.Header.Get("Content-Type"),
		ContentLength: resp.ContentLength,
	}
	if _, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err == nil {
		out.Filename = params["filename"]
	}
	return out, nil
}

// Do sends req under the client's policy — its URL, every redirect and every
// address connected to are checked as for Get — for callers that must send
// more than a GET (LTI dynamic registration posts to a URL a platform
// named). The caller bounds what it reads of the body.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	where := redact(req.URL)
	if err := c.policy.checkURL(req.URL); err != nil {
		return nil, fmt.Errorf("fetch %s: %w", where, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, wrapTransportErr(where, err)
	}
	return resp, nil
}

// checkRedirect applies the policy to every hop before it is requested.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > c.policy.MaxRedirects {
		return refuse("more than %d redirects", c.policy.MaxRedirects)
	}
	return c.policy.checkURL(req.URL)
}

// dial connects through the checking dialer. Only tests map names here;
// otherwise the dialer resolves the name itself and control checks each
// address it tries.
func (c *Client) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if host, port, err := net.SplitHostPort(addr); err == nil && c.lookup != nil {
		if ip, ok := c.lookup[strings.ToLower(host)]; ok {
			addr = net.JoinHostPort(ip.String(), port)
		}
	}
	return c.dialer.DialContext(ctx, network, addr)
}

// control runs after DNS resolution and before connect, on the address
// actually used: this is the check DNS rebinding cannot slip past.
func (c *Client) control(network, address string, _ syscall.RawConn) error {
	if network != "tcp4" && network != "tcp6" {
		return refuse("network %s is not allowed", network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return refuse("cannot check the address %q", address)
	}
	if c.public[ap] {
		return nil
	}
	return c.policy.checkIP(ap.Addr())
}

// wrapTransportErr drops *url.Error (its text repeats the full URL, query
// included) and gives the cause a code: a policy refusal from a redirect or
// the dialer keeps its EFORBIDDEN, anything else is EUNAVAILABLE.
func wrapTransportErr(where string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var oe *optio.Error
	if errors.As(err, &oe) {
		return fmt.Errorf("fetch %s: %w", where, oe)
	}
	msg := "the file server could not be reached"
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		msg = "the download timed out"
	}
	return fmt.Errorf("fetch %s: %w: %w", where, optio.Errorf(optio.EUNAVAILABLE, "%s", msg), err)
}

// redact is u for messages and logs: scheme, host and path, never the user
// info, query or fragment.
func redact(u *url.URL) string {
	s := u.Scheme + "://" + u.Host + u.EscapedPath()
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
