package app_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/app"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// TestConcurrentStartsOnAFreshDatabase: processes starting together on an
// empty database all succeed; the migrations run once, serialized by the
// migration lock (an advisory lock on PostgreSQL, a file lock on SQLite).
func TestConcurrentStartsOnAFreshDatabase(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		startTogether(t, d)
	})
}

// startTogether runs three app.New at once on one fresh database of dialect d.
func startTogether(t *testing.T, d store.Dialect) {
	url := storetest.URL(t, d)
	if d == store.SQLite {
		url = "sqlite://" + url
	}
	cfg, err := optio.LoadConfig(func(k string) string {
		return map[string]string{"OPTIO_DATABASE_URL": url, "OPTIO_DATA_DIR": t.TempDir(), "OPTIO_WORKERS": "0"}[k]
	})
	require.NoError(t, err)
	const n = 3
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			a, err := app.New(context.Background(), cfg, app.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			errs[i] = err
			if err == nil {
				a.Close()
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "process %d", i)
	}
}
