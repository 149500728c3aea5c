package fetch

import (
	"net"
	"strings"
	"time"
)

// Defaults for a zero Policy field.
const (
	DefaultMaxBytes       = 500 << 20 // as SPARK_FILE_MAX_BYTES
	DefaultTimeout        = 60 * time.Second
	DefaultMaxRedirects   = 5
	connectTimeout        = 10 * time.Second
	responseHeaderTimeout = 30 * time.Second
)

// Policy says which downloads are allowed. Config's SparkFileHosts,
// SparkFileAllowPrivate and SparkFileMaxBytes fill it.
type Policy struct {
	// AllowedHosts, when non-empty, are the only host names downloads may
	// reach, first URL and redirects alike: exact, case-insensitive matches.
	// An entry "host:port" also pins the port; a bare "host" allows any port.
	AllowedHosts []string
	// AllowPrivate permits loopback, private (RFC 1918, fc00::/7) and CGNAT
	// addresses. Only the local sandbox needs it. Link-local (cloud metadata),
	// multicast, broadcast, unspecified and reserved addresses stay refused.
	AllowPrivate bool
	// MaxBytes caps one response body. Default 500 MB.
	MaxBytes int64
	// Timeout bounds a whole download, body included. Default 60s; connecting
	// is further bounded by 10s and waiting for response headers by 30s.
	Timeout time.Duration
	// MaxRedirects is how many redirects are followed. Default 5; a negative
	// value follows none.
	MaxRedirects int
	// HTTPSOnly refuses plain http, for the first URL and every redirect:
	// set when Optio itself is served over https (OPTIO_BASE_URL) unless
	// SPARK_ALLOW_INSECURE_HTTP allows it for a local set-up.
	HTTPSOnly bool
}

// withDefaults fills zero fields and normalises the allowlist.
func (p Policy) withDefaults() Policy {
	if p.MaxBytes <= 0 {
		p.MaxBytes = DefaultMaxBytes
	}
	if p.Timeout <= 0 {
		p.Timeout = DefaultTimeout
	}
	switch {
	case p.MaxRedirects == 0:
		p.MaxRedirects = DefaultMaxRedirects
	case p.MaxRedirects < 0:
		p.MaxRedirects = 0
	}
	hosts := make([]string, 0, len(p.AllowedHosts))
	for _, h := range p.AllowedHosts {
		if h = normalizeHost(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	p.AllowedHosts = hosts
	return p
}

// normalizeHost puts an allowlist entry ("host" or "host:port") in the form
// URLs are compared in: lower-case ASCII, no trailing dot.
func normalizeHost(entry string) string {
	entry = strings.ToLower(strings.TrimSpace(entry))
	host, port, err := net.SplitHostPort(entry)
	if err != nil {
		host, port = entry, ""
	}
	host = strings.TrimSuffix(host, ".")
	if a, err := asciiHost(host); err == nil {
		host = a
	}
	if host == "" {
		return ""
	}
	if port != "" {
		return net.JoinHostPort(host, port)
	}
	return host
}
