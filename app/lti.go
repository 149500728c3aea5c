package app

import (
	"context"
	"fmt"
	"time"

	"github.com/optio-edu/optio/fetch"
	"github.com/optio-edu/optio/lti"
	"github.com/optio-edu/optio/openbadges"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/web"
)

// startLTI loads the LTI tool's signing key (signing_keys, purpose
// lti-tool: an RSA 2048 key made on the first start, shared by every
// process) and builds the launch verifier for the web server and the
// services client (NRPS, AGS) for the jobs.
func (a *App) startLTI(ctx context.Context, db *store.DB) (*web.LTI, *lti.Client, error) {
	tool, err := lti.LoadTool(ctx, db, openbadges.GenerateKey)
	if err != nil {
		return nil, nil, fmt.Errorf("lti tool key: %w", err)
	}
	cfg := a.Config
	// Dynamic registration fetches URLs a platform names: the SSRF rules of
	// submission downloads.
	f := fetch.New(fetch.Policy{AllowPrivate: cfg.SparkFileAllowPrivate, HTTPSOnly: cfg.RefuseInsecureHTTP(), MaxBytes: 1 << 20,
		Timeout: 30 * time.Second, MaxRedirects: -1})
	return &web.LTI{Tool: tool, Verifier: &lti.Verifier{Keys: lti.NewKeySource(nil, a.Clock, a.Logger), Clock: a.Clock}, Fetch: f},
		lti.NewClient(tool, a.Clock), nil
}
