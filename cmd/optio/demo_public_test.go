package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio/app"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// TestDemoPublicPortfolio checks the demo seeds one consented family: the
// banner prints a public portfolio link that a stranger can open, and a
// restart keeps a parent's later decision.
func TestDemoPublicPortfolio(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		env := map[string]string{"OPTIO_DATA_DIR": t.TempDir(), "OPTIO_DATABASE_URL": storetest.URL(t, d)}
		if d == store.SQLite {
			env["OPTIO_DATABASE_URL"] = "sqlite://" + env["OPTIO_DATABASE_URL"]
		}
		start := func() *demo {
			optioLn, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			sandboxLn, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			dm, err := startDemo(context.Background(), func(k string) string { return env[k] }, optioLn, sandboxLn, app.Options{})
			require.NoError(t, err)
			return dm
		}
		get := func(u string) (int, string) {
			resp, err := http.Get(u)
			require.NoError(t, err)
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		dm := start()
		var banner bytes.Buffer
		printDemo(&banner, dm)
		require.Contains(t, banner.String(), "A public portfolio (Noah Okafor's parent consented): "+dm.PublicPortfolio)
		require.True(t, strings.HasPrefix(dm.PublicPortfolio, dm.App.URL()+"/portfolio/"))
		code, body := get(dm.PublicPortfolio)
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, body, "Noah Okafor")

		// The parent withdraws; a restart on the same data does not re-consent.
		ctx := context.Background()
		noah, err := dm.App.Store.UserBySparkID(ctx, "spark-stu-noah")
		require.NoError(t, err)
		grace, err := dm.App.Store.UserBySparkID(ctx, "spark-par-grace")
		require.NoError(t, err)
		_, err = dm.App.Store.SetParentConsent(ctx, grace.ID, noah.ID, false, nil)
		require.NoError(t, err)
		dm.Close()
		dm = start()
		t.Cleanup(dm.Close)
		code, body = get(dm.PublicPortfolio)
		require.Equal(t, http.StatusNotFound, code)
		require.Contains(t, body, "This portfolio is private")
	})
}
