package fetch

import (
	"net"
	"net/netip"
	"net/url"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"github.com/optio-edu/optio"
)

// refuse builds the EFORBIDDEN error every policy refusal carries.
func refuse(format string, args ...any) *optio.Error {
	return optio.Errorf(optio.EFORBIDDEN, "download refused: "+format, args...)
}

// checkURL applies the policy to one URL, the first or a redirect's, before
// anything is sent. The connect-time address check still follows.
func (p Policy) checkURL(u *url.URL) error {
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if p.HTTPSOnly {
			return refuse("plain http is not allowed; file URLs must use https")
		}
	case "":
		return refuse("the URL has no scheme; only http and https are allowed")
	default:
		return refuse("the %s scheme is not allowed; only http and https are", strings.ToLower(u.Scheme))
	}
	if u.User != nil {
		return refuse("URLs with a user name or password are not allowed")
	}
	if u.Opaque != "" {
		return refuse("the URL has no host")
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return refuse("the URL has no host")
	}
	if port := u.Port(); port != "" && !validPort(port) {
		return refuse("the port %q is not valid", port)
	}

	ip, err := netip.ParseAddr(host)
	if err != nil {
		// Judge the name as it will be dialled: net/http maps Unicode host
		// names to ASCII, and "127。0。0。1" becomes "127.0.0.1".
		if host, err = asciiHost(host); err != nil || host == "" {
			return refuse("the host %q is not a valid host name", u.Hostname())
		}
		ip, err = netip.ParseAddr(host)
	}
	if err == nil {
		if err := p.checkIP(ip); err != nil {
			return err
		}
	} else if strings.ContainsAny(host, "%\\") {
		return refuse("the host %q is not a valid host name", host)
	} else if numericHost(host) {
		return refuse("%q is a numeric host in a non-canonical form; write IPv4 addresses as four decimal numbers", host)
	} else if !p.AllowPrivate && (host == "localhost" || strings.HasSuffix(strings.TrimSuffix(host, "."), ".localhost")) {
		return refuse("%s is a loopback address", host)
	}

	if len(p.AllowedHosts) > 0 && !p.hostAllowed(u, host) {
		return refuse("%s is not an allowed download host", u.Host)
	}
	return nil
}

// hostAllowed matches u against the allowlist: "host" allows any port,
// "host:port" only that port (the scheme's default when u names none).
func (p Policy) hostAllowed(u *url.URL, host string) bool {
	host = strings.TrimSuffix(host, ".")
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	for _, entry := range p.AllowedHosts {
		if entry == host || entry == "["+host+"]" {
			return true
		}
		if eh, ep, err := net.SplitHostPort(entry); err == nil && eh == host && ep == port {
			return true
		}
	}
	return false
}

// checkIP refuses an address that is not public, unless the policy allows
// private addresses and this is one of them.
func (p Policy) checkIP(ip netip.Addr) error {
	what, private := classify(ip)
	if what == "" || (private && p.AllowPrivate) {
		return nil
	}
	article := "a"
	if strings.ContainsAny(what[:1], "aeiouAEIOUI") {
		article = "an"
	}
	return refuse("%s is %s %s address", ip, article, what)
}

// numericHost reports whether a host that is not a canonical IP address
// would still be read as an IPv4 address by some resolver or browser:
// WHATWG URL parsing treats a host whose last label is a number (decimal,
// octal with a leading 0, or hex with 0x) as IPv4, so "2130706433",
// "0177.0.0.1" and "0x7f.1" all mean 127.0.0.1. No real domain ends in a
// numeric label, so such hosts are refused outright.
func numericHost(host string) bool {
	host = strings.TrimSuffix(host, ".")
	last := host[strings.LastIndexByte(host, '.')+1:]
	if last == "" {
		return false
	}
	if strings.HasPrefix(last, "0x") {
		return strings.Trim(last[2:], "0123456789abcdef") == ""
	}
	return strings.Trim(last, "0123456789") == ""
}

func validPort(port string) bool {
	if len(port) > 5 || strings.Trim(port, "0123456789") != "" {
		return false
	}
	n := 0
	for _, c := range port {
		n = n*10 + int(c-'0')
	}
	return n > 0 && n <= 65535
}

// asciiHost is host as net/http will dial it: unchanged when ASCII, else
// mapped by IDNA lookup rules (which also fold full-width digits and dots).
func asciiHost(host string) (string, error) {
	for i := 0; i < len(host); i++ {
		if host[i] >= utf8.RuneSelf {
			return idna.Lookup.ToASCII(host)
		}
	}
	return host, nil
}
