package optio_test

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
)

// TestCodes: link and invitation codes are 80 bits of Crockford base32 in
// four dashed groups, all different, and typed input matches them however it
// is cased, spaced or grouped, with O/I/L read as 0/1/1. Codes of the old
// format normalise to themselves, so live ones keep working.
func TestCodes(t *testing.T) {
	t.Parallel()
	shape := regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$`)
	seen := map[string]bool{}
	counts := map[rune]int{}
	for range 4000 {
		c := optio.NewCode()
		require.Regexp(t, shape, c)
		require.False(t, seen[c], "a code repeated: %s", c)
		seen[c] = true
		for _, r := range optio.NormalizeCode(c) {
			counts[r]++
		}
		require.Equal(t, optio.NormalizeCode(c), optio.NormalizeCode(" "+c[:9]+" "+c[10:]+"\t"))
	}
	require.Len(t, counts, 32, "every character of the alphabet appears")
	for r, n := range counts {
		require.InDelta(t, 4000*16/32, n, 400, "character %c is drawn evenly", r)
	}

	require.Equal(t, "7KQ2M9XD4HTB0WCE", optio.NormalizeCode("7kq2-m9xd-4htb-owce"))
	require.Equal(t, "7KQ2M9XD4HTB0WCE", optio.NormalizeCode("7KQ2 M9XD_4HTB 0WCE"))
	require.Equal(t, "1111", optio.NormalizeCode("iIlL"))
	require.Equal(t, "ABCD2345", optio.NormalizeCode("abcd-2345"), "an 8-character code of the old format")
	require.Equal(t, "HUPZ7KQ2M9XD", optio.NormalizeCode("HUPZ7KQ2M9XD"), "a 12-character code of the old format (U kept)")
}
