package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/app"
	"github.com/optio-edu/optio/jobs"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/web"
)

func newRootCmd(getenv func(string) string) *cobra.Command {
	root := &cobra.Command{
		Use:           "optio",
		Short:         "Optio turns schoolwork into a living portfolio.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serveCmd(getenv), migrateCmd(getenv), adminCmd(getenv), versionCmd())
	root.AddCommand(sandboxCmd(getenv))
	root.AddCommand(sparkCmd(getenv))
	root.AddCommand(demoCmd(getenv))
	root.AddCommand(workerCmd(getenv))
	root.AddCommand(badgesCmd(getenv))
	root.AddCommand(ltiCmd(getenv))
	for _, c := range taggedCommands {
		root.AddCommand(c(getenv))
	}
	return root
}

// taggedCommands are built in only with their build tag (`optio loadtest`:
// go build -tags loadtest), so the production binary does not link what
// they alone need (vegeta and its charts).
var taggedCommands []func(getenv func(string) string) *cobra.Command

// loadConfig reads the environment; a bad value stops the command.
func loadConfig(getenv func(string) string) (*optio.Config, error) {
	cfg, err := optio.LoadConfig(getenv)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	return cfg, nil
}

// loadConfigWorkers is loadConfig with the --workers flag, when given,
// taking precedence over OPTIO_WORKERS (serve and worker share it).
func loadConfigWorkers(cmd *cobra.Command, getenv func(string) string, workers int) (*optio.Config, error) {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return nil, err
	}
	if cmd.Flags().Changed("workers") {
		cfg.Workers = workers
	}
	return cfg, nil
}

// newLogger writes to stderr at OPTIO_LOG_LEVEL in OPTIO_LOG_FORMAT, or in
// format when that is not set: servers default to JSON for log collectors,
// the demo to text for the person watching its terminal.
func newLogger(cfg *optio.Config, format string) *slog.Logger {
	return newLoggerTo(os.Stderr, cfg, format)
}

func newLoggerTo(w io.Writer, cfg *optio.Config, format string) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.LogLevel))
	if cfg.LogFormat != "" {
		format = cfg.LogFormat
	}
	if format == logText {
		return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lvl, ReplaceAttr: shortTime}))
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl}))
}

// The log formats OPTIO_LOG_FORMAT names.
const (
	logJSON = "json"
	logText = "text"
)

// shortTime writes a text line's time as the wall-clock time alone
// ("time=12:40:05"): the terminal reader knows the day.
func shortTime(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey && len(groups) == 0 {
		return slog.String(slog.TimeKey, a.Value.Time().Format(time.TimeOnly))
	}
	return a
}

func serveCmd(getenv func(string) string) *cobra.Command {
	var workers int
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Optio web server and background workers",
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfigWorkers(cmd, getenv, workers)
			if err != nil {
				return err
			}
			logger := newLogger(cfg, logJSON)
			a, err := app.New(cmd.Context(), cfg, app.Options{Logger: logger})
			if err != nil {
				return err
			}
			if err := a.Start(nil); err != nil {
				a.Close()
				return err
			}
			logger.Info("optio listening", "url", a.URL(), "store", a.Store.Dialect)
			fmt.Fprintf(cmd.OutOrStdout(), "Optio is running at %s\n", cfg.BaseURL)
			if a.URL() != cfg.BaseURL {
				fmt.Fprintf(cmd.OutOrStdout(), "Listening on %s\n", a.URL())
			}
			<-cmd.Context().Done()
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			return a.Shutdown(ctx)
		},
	}
	cmd.Flags().IntVar(&workers, "workers", 16, "background job workers in this process (0: none); overrides OPTIO_WORKERS")
	return cmd
}

func migrateCmd(getenv func(string) string) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply database migrations (Optio's and the job queue's) to the configured store",
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(getenv)
			if err != nil {
				return err
			}
			db, err := openStore(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer db.Close()
			if err := db.Migrate(cmd.Context()); err != nil {
				return err
			}
			if err := jobs.Migrate(cmd.Context(), db); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "migrated %s store\n", db.Dialect)
			return nil
		},
	}
}

// withStore opens and migrates the configured store for one command.
func withStore(ctx context.Context, getenv func(string) string, fn func(cfg *optio.Config, db *store.DB) error) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	return fn(cfg, db)
}

func openStore(ctx context.Context, cfg *optio.Config) (*store.DB, error) {
	u := cfg.DatabaseURL
	if !cfg.IsPostgres() {
		u = cfg.SQLitePath()
	}
	return store.Open(ctx, u, nil)
}

func adminCmd(getenv func(string) string) *cobra.Command {
	admin := &cobra.Command{Use: "admin", Short: "Administer users"}
	var email, password, given, family string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an admin in the configured database",
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(cmd.Context(), getenv, func(_ *optio.Config, db *store.DB) error {
				u, err := createAdmin(cmd.Context(), db, email, password, given, family)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "created admin %s (%s)\n", u.Email, u.ID)
				return nil
			})
		},
	}
	create.Flags().StringVar(&email, "email", "", "admin email (required)")
	create.Flags().StringVar(&password, "password", "", "admin password, 8 to 72 characters (required)")
	create.Flags().StringVar(&given, "given-name", "Admin", "first name")
	create.Flags().StringVar(&family, "family-name", "", "last name")
	_ = create.MarkFlagRequired("email")
	_ = create.MarkFlagRequired("password")
	admin.AddCommand(create, adminExportCmd(getenv), adminDeleteUserCmd(getenv))
	return admin
}

// createAdmin makes an admin account; it is the code path `optio admin create` runs.
func createAdmin(ctx context.Context, st optio.Store, email, password, given, family string) (*optio.User, error) {
	hash, err := web.HashPassword(password)
	if err != nil {
		return nil, err
	}
	// An administrator's email is taken as proven (the operator typed it):
	// only such an account is ever linked to a Spark identity by email.
	return st.CreateUser(ctx, optio.NewUser{Email: email, PasswordHash: hash, GivenName: given, FamilyName: family, Role: optio.RoleAdmin,
		EmailVerified: true})
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Run: func(cmd *cobra.Command, args []string) {
			v := "devel"
			if bi, ok := debug.ReadBuildInfo(); ok {
				v = bi.Main.Version
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" && len(s.Value) >= 12 {
						v += " " + s.Value[:12]
					}
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "optio %s\n", v)
		},
	}
}
