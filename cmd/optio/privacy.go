package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/app"
)

// privacyApp opens Optio without listening or working jobs, for the admin
// commands that export or delete a student on a school's instruction.
func privacyApp(cmd *cobra.Command, getenv func(string) string) (*app.App, error) {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return nil, err
	}
	cfg.Workers = 0
	cfg.MetricsAddr = "off"
	return app.New(cmd.Context(), cfg, app.Options{Logger: newLogger(cfg, logText)})
}

// findStudent resolves --user: a user id or a sign-in email.
func findStudent(ctx context.Context, st optio.Store, ref string) (*optio.User, error) {
	ref = strings.TrimSpace(ref)
	var u *optio.User
	var err error
	if strings.Contains(ref, "@") {
		u, _, err = st.UserCredentials(ctx, ref)
	} else {
		u, err = st.UserByID(ctx, ref)
	}
	if err != nil {
		return nil, fmt.Errorf("--user %s: no such user", ref)
	}
	if u.Role != optio.RoleStudent {
		return nil, fmt.Errorf("--user %s: is a %s, not a student", ref, u.Role)
	}
	return u, nil
}

func adminExportCmd(getenv func(string) string) *cobra.Command {
	var user, out string
	cmd := &cobra.Command{
		Use:   "export --user ID|EMAIL [--out FILE]",
		Short: "Write the ZIP of everything Optio holds about a student (docs/privacy.md)",
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := privacyApp(cmd, getenv)
			if err != nil {
				return err
			}
			defer a.Close()
			u, err := findStudent(cmd.Context(), a.Store, user)
			if err != nil {
				return err
			}
			if out == "" {
				out = "optio-export-" + u.ID + ".zip"
			}
			tmp, err := os.CreateTemp(filepath.Dir(out), ".optio-export-*")
			if err != nil {
				return err
			}
			defer os.Remove(tmp.Name())
			sum, err := a.Jobs.Privacy.WriteExport(cmd.Context(), tmp, u.ID)
			if err != nil {
				tmp.Close()
				return err
			}
			if err := tmp.Close(); err != nil {
				return err
			}
			if err := os.Rename(tmp.Name(), out); err != nil {
				return err
			}
			_ = a.Store.Audit(cmd.Context(), "", "admin.export_cli", u.ID, nil)
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %d files, %d badges, %d completions\n", out, sum.Files, sum.Badges, sum.Completions)
			return nil
		},
	}
	cmd.Flags().StringVar(&user, "user", "", "the student's id or email (required)")
	cmd.Flags().StringVar(&out, "out", "", "the ZIP to write (default optio-export-<id>.zip)")
	_ = cmd.MarkFlagRequired("user")
	return cmd
}

func adminDeleteUserCmd(getenv func(string) string) *cobra.Command {
	var user string
	var confirm bool
	cmd := &cobra.Command{
		Use:   "delete-user --user ID|EMAIL --confirm",
		Short: "Delete a student and everything about them now, on a school's instruction (no cooling-off)",
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := privacyApp(cmd, getenv)
			if err != nil {
				return err
			}
			defer a.Close()
			u, err := findStudent(cmd.Context(), a.Store, user)
			if err != nil {
				return err
			}
			if !confirm {
				return fmt.Errorf("this deletes %s (%s) and all their work for good; run again with --confirm", u.DisplayName(), u.ID)
			}
			del, err := a.Jobs.Privacy.DeleteStudent(cmd.Context(), u.ID, "")
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted student %s and %d stored files\n", u.ID, len(del.BlobKeys))
			return nil
		},
	}
	cmd.Flags().StringVar(&user, "user", "", "the student's id or email (required)")
	cmd.Flags().BoolVar(&confirm, "confirm", false, "really delete (without it nothing is deleted)")
	_ = cmd.MarkFlagRequired("user")
	return cmd
}
