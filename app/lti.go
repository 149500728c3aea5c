package app

import (
	"context"
	"fmt"

	"github.com/optio-edu/optio/lti"
	"github.com/optio-edu/optio/openbadges"
	"github.com/optio-edu/optio/web"
)

// startLTI loads the LTI tool's signing key (signing_keys, purpose
// lti-tool: an RSA 2048 key made on the first start, shared by every
// process) and the verifier of platforms' launches.
func (a *App) startLTI(ctx context.Context) error {
	tool, err := lti.LoadTool(ctx, a.Store, openbadges.GenerateKey)
	if err != nil {
		return fmt.Errorf("lti tool key: %w", err)
	}
	a.Web.LTI = &web.LTI{Tool: tool, Verifier: &lti.Verifier{Keys: lti.NewKeySource(nil, a.Clock, a.Logger), Clock: a.Clock}}
	return nil
}
