package fetch

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	cases := []struct {
		ip      string
		what    string // "" means public
		private bool   // opened by AllowPrivate
	}{
		{"8.8.8.8", "", false},
		{"1.1.1.1", "", false},
		{"2606:4700:4700::1111", "", false},
		{"::ffff:8.8.8.8", "", false},
		{"64:ff9b::808:808", "", false},
		{"2002:808:808::1", "", false},

		{"127.0.0.1", "loopback", true},
		{"127.255.255.254", "loopback", true},
		{"::1", "loopback", true},
		{"::ffff:127.0.0.1", "loopback", true},
		{"64:ff9b::7f00:1", "loopback", true},
		{"2002:7f00:1::", "loopback", true},
		{"10.1.2.3", "private", true},
		{"172.16.0.1", "private", true},
		{"172.31.255.255", "private", true},
		{"192.168.1.1", "private", true},
		{"::ffff:192.168.1.1", "private", true},
		{"64:ff9b::a00:1", "private", true},
		{"fd12:3456::1", "private (unique local)", true},
		{"100.64.0.1", "shared (CGNAT)", true},
		{"100.127.255.255", "shared (CGNAT)", true},

		{"169.254.169.254", "link-local", false},
		{"::ffff:169.254.169.254", "link-local", false},
		{"fe80::1", "link-local", false},
		{"fe80::1%eth0", "link-local", false},
		{"0.0.0.0", "unspecified (\"this network\")", false},
		{"::", "unspecified", false},
		{"255.255.255.255", "broadcast", false},
		{"224.0.0.1", "multicast", false},
		{"ff02::1", "multicast", false},
		{"192.0.0.8", "IETF protocol assignment", false},
		{"198.18.0.1", "benchmarking", false},
		{"198.19.255.255", "benchmarking", false},
		{"240.0.0.1", "reserved", false},
		{"192.0.2.1", "documentation", false},
		{"2001:db8::1", "documentation", false},
		{"2001::1", "Teredo", false},
		{"::7f00:1", "IPv4-compatible (deprecated)", false},
		{"64:ff9b:1::1", "local-use NAT64", false},
		{"100::1", "discard-only", false},
		{"4000::1", "reserved", false},

		{"172.32.0.1", "", false},
		{"100.128.0.1", "", false},
		{"198.20.0.1", "", false},
	}
	for _, tc := range cases {
		what, private := classify(netip.MustParseAddr(tc.ip))
		require.Equal(t, tc.what, what, tc.ip)
		require.Equal(t, tc.private, private, tc.ip)
	}
}

func TestCheckIPMessages(t *testing.T) {
	t.Parallel()
	strict := Policy{}.withDefaults()
	sandbox := Policy{AllowPrivate: true}.withDefaults()

	err := strict.checkIP(netip.MustParseAddr("127.0.0.1"))
	require.EqualError(t, err, "optio: forbidden: download refused: 127.0.0.1 is a loopback address")
	err = strict.checkIP(netip.MustParseAddr("169.254.169.254"))
	require.EqualError(t, err, "optio: forbidden: download refused: 169.254.169.254 is a link-local address")
	err = strict.checkIP(netip.MustParseAddr("::"))
	require.EqualError(t, err, "optio: forbidden: download refused: :: is an unspecified address")

	require.NoError(t, sandbox.checkIP(netip.MustParseAddr("127.0.0.1")))
	require.NoError(t, sandbox.checkIP(netip.MustParseAddr("10.0.0.1")))
	require.Error(t, sandbox.checkIP(netip.MustParseAddr("169.254.169.254")), "metadata stays closed in the sandbox")
	require.Error(t, sandbox.checkIP(netip.MustParseAddr("0.0.0.0")))
}
