package app

import (
	"context"
	"fmt"

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
	return &web.LTI{Tool: tool, Verifier: &lti.Verifier{Keys: lti.NewKeySource(nil, a.Clock, a.Logger), Clock: a.Clock}},
		lti.NewClient(tool, a.Clock), nil
}
