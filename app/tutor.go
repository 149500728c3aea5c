package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/tutor"
)

// newTutor builds the AI tutor. Without GEMINI_API_KEY it has no provider:
// the tutor's pages say it is not set up and its API answers 503.
func newTutor(ctx context.Context, cfg *optio.Config, logger *slog.Logger, clock optio.Clock, reg prometheus.Registerer) (*tutor.Service, error) {
	svc := &tutor.Service{Clock: clock, Logger: logger.With("component", "tutor"), Metrics: tutor.NewMetrics(reg)}
	if cfg.GeminiAPIKey == "" {
		return svc, nil
	}
	g, err := tutor.NewGemini(ctx, tutor.GeminiConfigFrom(cfg))
	if err != nil {
		return nil, fmt.Errorf("GEMINI_API_KEY: %w", err)
	}
	svc.Provider = g
	return svc, nil
}
