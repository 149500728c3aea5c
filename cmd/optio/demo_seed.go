package main

import (
	"context"

	"github.com/optio-edu/optio/app"
)

// seedDemo adds what the demo shows beyond Spark's own data.
func seedDemo(ctx context.Context, a *app.App) error {
	return nil
}
