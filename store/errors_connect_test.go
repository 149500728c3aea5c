package store

import (
	"context"
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
)

// TestConnectTimeoutIsUnavailable: a PostgreSQL that accepts connections
// but does not answer (starting up after a restart) makes the connection
// attempt time out; that is EUNAVAILABLE (a 503 with Retry-After), not an
// internal error, although pgx wraps context.DeadlineExceeded.
func TestConnectTimeoutIsUnavailable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // accepted, never answered
		}
	}()
	_, err = Open(context.Background(), "postgres://postgres@"+ln.Addr().String()+"/postgres?sslmode=disable&connect_timeout=1", nil)
	require.Error(t, err)
	require.ErrorIs(t, err, context.DeadlineExceeded, "the case this test is about: %v", err)
	require.Equal(t, optio.EUNAVAILABLE, optio.ErrorCode(translate(err)), "error: %v", err)
}
