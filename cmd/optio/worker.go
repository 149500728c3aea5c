package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/optio-edu/optio/app"
)

// workerCmd runs background jobs without serving HTTP; any number of them
// may share one PostgreSQL with `optio serve` processes.
func workerCmd(getenv func(string) string) *cobra.Command {
	var workers int
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run background workers only (evidence sync, polling, grade passback)",
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfigWorkers(cmd, getenv, workers)
			if err != nil {
				return err
			}
			if cfg.Workers < 1 {
				return fmt.Errorf("--workers: a worker process needs at least 1")
			}
			logger := newLogger(cfg, logJSON)
			a, err := app.New(cmd.Context(), cfg, app.Options{Logger: logger})
			if err != nil {
				return err
			}
			if err := a.Jobs.Start(context.Background()); err != nil {
				a.Close()
				return err
			}
			logger.Info("optio worker running", "workers", cfg.Workers, "store", a.Store.Dialect)
			fmt.Fprintf(cmd.OutOrStdout(), "Optio worker running with %d workers\n", cfg.Workers)
			<-cmd.Context().Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			return a.Shutdown(ctx)
		},
	}
	cmd.Flags().IntVar(&workers, "workers", 16, "jobs worked at once; overrides OPTIO_WORKERS")
	return cmd
}
