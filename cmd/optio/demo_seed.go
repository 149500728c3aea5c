package main

import (
	"context"

	"github.com/optio-edu/optio/app"
)

// seedDemo adds what the demo shows beyond Spark's own data: the plan's
// three cross-course badges.
func seedDemo(ctx context.Context, a *app.App) error {
	return a.Store.SeedPlanBadges(ctx)
}
