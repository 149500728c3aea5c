package optio_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
)

func TestFormatBytes(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{0: "0 bytes", 1: "1 byte", 1023: "1023 bytes", 1536: "1.5 KB",
		100 << 20: "100 MB", 500 << 20: "500 MB", 1 << 30: "1 GB"} {
		require.Equal(t, want, optio.FormatBytes(n), "%d", n)
	}
}
