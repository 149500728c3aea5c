package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/optio-edu/optio/app"
	"github.com/optio-edu/optio/jobs"
)

// backfillCmd (`optio spark backfill`) polls Spark once by hand: every submission the webhooks
// missed is stored and queued for sync, with a progress bar. By default it is one regular poll
// (from where the last poll stopped); --since and --all re-read older work in full.
func backfillCmd(getenv func(string) string) *cobra.Command {
	var since string
	var all bool
	cmd := &cobra.Command{
		Use:   "backfill [--since RFC3339|DURATION] [--all]",
		Short: "Poll Spark's API once and queue every submission Optio has not seen",
		Long: `Poll Spark's API once and queue every submission Optio has not seen.

Without flags this is one regular poll: each assignment is read from where the last poll left it.
--since 2025-09-01T00:00:00Z (or a duration back from now: 720h, 30d) re-reads every assignment's
submissions submitted since then; --all re-reads everything. A full run ignores the SPARK_POLL_MAX_*
count limits (SPARK_API_MAX_RESPONSE_BYTES still applies) and does not move the regular poll's position.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(getenv)
			if err != nil {
				return err
			}
			if cfg.SparkAPIURL == "" {
				return fmt.Errorf("SPARK_API_URL: must be set to backfill from Spark")
			}
			opts := jobs.PollOptions{Full: all}
			if since != "" {
				if all {
					return fmt.Errorf("--since and --all: choose one")
				}
				t, err := parseSince(since, time.Now().UTC())
				if err != nil {
					return err
				}
				opts.Full, opts.Since = true, t
			}
			cfg.Workers = 0 // queue only; running workers do the syncs
			a, err := app.New(cmd.Context(), cfg, app.Options{Logger: newLogger(cfg, logJSON)})
			if err != nil {
				return err
			}
			defer a.Close()
			var bar *progressbar.ProgressBar
			opts.Progress = func(course, assignment string, done, total int) {
				if bar == nil {
					bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(cmd.ErrOrStderr()),
						progressbar.OptionSetDescription("assignments"), progressbar.OptionShowCount())
				}
				_ = bar.Set(done)
			}
			res, err := a.Jobs.Poll.PollWith(cmd.Context(), opts)
			if bar != nil {
				_ = bar.Finish()
				fmt.Fprintln(cmd.ErrOrStderr())
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "backfill: %d courses, %d assignments, %d submissions seen, %d queued, %d rejected\n",
				res.Courses, res.Assignments, res.Seen, res.Queued, res.Rejected)
			if res.Requeued > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "backfill: %d failed syncs queued again\n", res.Requeued)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "re-read submissions since an RFC 3339 time or a duration back from now (720h, 30d)")
	cmd.Flags().BoolVar(&all, "all", false, "re-read every submission Spark lists")
	return cmd
}

// parseSince reads --since: an RFC 3339 time, or a duration back from now
// (Go syntax, or whole days as "30d").
func parseSince(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	d, err := time.ParseDuration(v)
	if days, ok := strings.CutSuffix(v, "d"); ok && err != nil {
		if n, aerr := strconv.Atoi(days); aerr == nil {
			d, err = time.Duration(n)*24*time.Hour, nil
		}
	}
	if err != nil || d <= 0 {
		return time.Time{}, fmt.Errorf("--since: %q is neither an RFC 3339 time nor a positive duration (720h, 30d)", v)
	}
	return now.Add(-d), nil
}
