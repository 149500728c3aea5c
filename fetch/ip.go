package fetch

import (
	"net/netip"
)

// ipRange is a block of addresses a download may not reach, with the words
// used in the refusal ("… is a loopback address"). private marks the blocks
// Policy.AllowPrivate opens.
type ipRange struct {
	prefix  netip.Prefix
	what    string
	private bool
}

func r(cidr, what string, private bool) ipRange {
	return ipRange{netip.MustParsePrefix(cidr), what, private}
}

// Checked in order; the first match names the address.
var ipv4Ranges = []ipRange{
	r("255.255.255.255/32", "broadcast", false),
	r("0.0.0.0/8", "unspecified (\"this network\")", false),
	r("127.0.0.0/8", "loopback", true),
	r("10.0.0.0/8", "private", true),
	r("172.16.0.0/12", "private", true),
	r("192.168.0.0/16", "private", true),
	r("100.64.0.0/10", "shared (CGNAT)", true),
	r("169.254.0.0/16", "link-local", false),
	r("192.0.0.0/24", "IETF protocol assignment", false),
	r("192.0.2.0/24", "documentation", false),
	r("198.51.100.0/24", "documentation", false),
	r("203.0.113.0/24", "documentation", false),
	r("192.88.99.0/24", "6to4 relay", false),
	r("198.18.0.0/15", "benchmarking", false),
	r("224.0.0.0/4", "multicast", false),
	r("240.0.0.0/4", "reserved", false),
}

var ipv6Ranges = []ipRange{
	r("::/128", "unspecified", false),
	r("::1/128", "loopback", true),
	r("::/96", "IPv4-compatible (deprecated)", false),
	r("64:ff9b:1::/48", "local-use NAT64", false),
	r("100::/64", "discard-only", false),
	r("2001::/32", "Teredo", false),
	r("2001:db8::/32", "documentation", false),
	r("fc00::/7", "private (unique local)", true),
	r("fe80::/10", "link-local", false),
	r("fec0::/10", "site-local (deprecated)", false),
	r("ff00::/8", "multicast", false),
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
	global6   = netip.MustParsePrefix("2000::/3")
)

// classify returns what kind of non-public address ip is ("" for a public
// one) and whether Policy.AllowPrivate permits it. Addresses that carry an
// IPv4 address (IPv4-mapped, NAT64, 6to4) are judged by that address.
func classify(ip netip.Addr) (what string, private bool) {
	ip = ip.WithZone("")
	if ip.Is4In6() {
		ip = ip.Unmap()
	}
	if ip.Is4() {
		for _, rg := range ipv4Ranges {
			if rg.prefix.Contains(ip) {
				return rg.what, rg.private
			}
		}
		return "", false
	}
	if nat64.Contains(ip) {
		b := ip.As16()
		return classify(netip.AddrFrom4([4]byte(b[12:16])))
	}
	if sixToFour.Contains(ip) {
		b := ip.As16()
		if what, private := classify(netip.AddrFrom4([4]byte(b[2:6]))); what != "" {
			return what, private
		}
		return "", false
	}
	for _, rg := range ipv6Ranges {
		if rg.prefix.Contains(ip) {
			return rg.what, rg.private
		}
	}
	if !global6.Contains(ip) {
		return "reserved", false
	}
	return "", false
}
