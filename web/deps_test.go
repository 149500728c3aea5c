package web_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
	"github.com/optio-edu/optio/web"
)

// newServer builds a Server from d, failing the test when New refuses.
func newServer(tb testing.TB, d web.Deps) *web.Server {
	tb.Helper()
	s, err := web.New(d)
	require.NoError(tb, err)
	return s
}

// A server missing a required dependency does not start: New says which.
func TestNewRefusesMissingDependencies(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, store.SQLite, nil)
	_, err := web.New(web.Deps{Store: db})
	require.EqualError(t, err, "web: no configuration (Deps.Config)")
	_, err = web.New(web.Deps{Config: &optio.Config{}})
	require.EqualError(t, err, "web: no store (Deps.Store)")
	s, err := web.New(web.Deps{Config: &optio.Config{}, Store: db})
	require.NoError(t, err)
	require.NotNil(t, s)
}
