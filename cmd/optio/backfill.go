package main

import (
	"fmt"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/optio-edu/optio/app"
)

// backfillCmd (`optio spark backfill`) polls Spark once by hand: every submission the webhooks
// missed is stored and queued for sync, with a progress bar.
func backfillCmd(getenv func(string) string) *cobra.Command {
	return &cobra.Command{
		Use:   "backfill",
		Short: "Poll Spark's API once and queue every submission Optio has not seen",
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(getenv)
			if err != nil {
				return err
			}
			if cfg.SparkAPIURL == "" {
				return fmt.Errorf("SPARK_API_URL: must be set to backfill from Spark")
			}
			cfg.Workers = 0 // queue only; running workers do the syncs
			a, err := app.New(cmd.Context(), cfg, app.Options{Logger: newLogger(cfg)})
			if err != nil {
				return err
			}
			defer a.Close()
			var bar *progressbar.ProgressBar
			res, err := a.Jobs.Poll.Poll(cmd.Context(), func(course, assignment string, done, total int) {
				if bar == nil {
					bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(cmd.ErrOrStderr()),
						progressbar.OptionSetDescription("assignments"), progressbar.OptionShowCount())
				}
				_ = bar.Set(done)
			})
			if bar != nil {
				_ = bar.Finish()
				fmt.Fprintln(cmd.ErrOrStderr())
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "backfill: %d courses, %d assignments, %d submissions seen, %d queued, %d rejected\n",
				res.Courses, res.Assignments, res.Seen, res.Queued, res.Rejected)
			return nil
		},
	}
}
