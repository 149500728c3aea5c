package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
)

// ltiCmd manages LMS platforms registered as LTI 1.3 launchers of Optio:
// the same registrations, and the same validation, as /admin/lti.
func ltiCmd(getenv func(string) string) *cobra.Command {
	cmd := &cobra.Command{Use: "lti", Short: "LTI 1.3: register the LMS platforms that launch Optio"}
	platform := &cobra.Command{Use: "platform", Short: "Add, list or remove registered LMS platforms"}
	platform.AddCommand(ltiAddCmd(getenv), ltiListCmd(getenv), ltiRemoveCmd(getenv))
	cmd.AddCommand(platform)
	return cmd
}

func ltiAddCmd(getenv func(string) string) *cobra.Command {
	var p optio.LTIPlatform
	cmd := &cobra.Command{
		Use:   "add --issuer ISS --client-id ID --deployment-id D [--deployment-id D2] --auth-url URL --token-url URL --jwks-url URL [--frame-origin ORIGIN]",
		Short: "Register an LMS platform (its issuer, client id, deployments and endpoints)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(cmd.Context(), getenv, func(cfg *optio.Config, db *store.DB) error {
				if err := p.Normalize(!cfg.SecureCookies()); err != nil {
					return describe(err)
				}
				created, err := db.CreateLTIPlatform(cmd.Context(), p)
				if err != nil {
					return describe(err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "registered %s\n", created.ID)
				printPlatform(cmd, created)
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&p.Issuer, "issuer", "", "the platform's issuer (iss)")
	f.StringVar(&p.ClientID, "client-id", "", "the client id the platform gave Optio")
	f.StringSliceVar(&p.DeploymentIDs, "deployment-id", nil, "a deployment id (repeat, or comma-separate)")
	f.StringVar(&p.AuthURL, "auth-url", "", "the platform's OIDC authorization endpoint")
	f.StringVar(&p.TokenURL, "token-url", "", "the platform's OAuth2 token endpoint")
	f.StringVar(&p.JWKSURL, "jwks-url", "", "the platform's public keyset URL")
	f.StringVar(&p.FrameOrigin, "frame-origin", "", "the origin that frames Optio (default: the authorization endpoint's)")
	return cmd
}

func ltiListCmd(getenv func(string) string) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List registered LMS platforms",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(cmd.Context(), getenv, func(cfg *optio.Config, db *store.DB) error {
				ps, err := db.LTIPlatforms(cmd.Context())
				if err != nil {
					return err
				}
				if len(ps) == 0 {
					fmt.Fprintln(cmd.OutOrStdout(), "no LMS platform registered")
				}
				for i := range ps {
					fmt.Fprintln(cmd.OutOrStdout(), ps[i].ID)
					printPlatform(cmd, &ps[i])
				}
				return nil
			})
		},
	}
}

func ltiRemoveCmd(getenv func(string) string) *cobra.Command {
	return &cobra.Command{
		Use:   "remove ID",
		Short: "Remove a registered LMS platform (its users keep their accounts and work)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(cmd.Context(), getenv, func(cfg *optio.Config, db *store.DB) error {
				if err := db.DeleteLTIPlatform(cmd.Context(), args[0]); err != nil {
					return describe(err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "removed %s\n", args[0])
				return nil
			})
		},
	}
}

func printPlatform(cmd *cobra.Command, p *optio.LTIPlatform) {
	fmt.Fprintf(cmd.OutOrStdout(), "  issuer:       %s\n  client id:    %s\n  deployments:  %s\n  auth url:     %s\n  token url:    %s\n  jwks url:     %s\n  frame origin: %s\n",
		p.Issuer, p.ClientID, strings.Join(p.DeploymentIDs, ", "), p.AuthURL, p.TokenURL, p.JWKSURL, p.FrameOrigin)
}

// describe spells out a validation error's fields for the terminal.
func describe(err error) error {
	e, ok := err.(*optio.Error)
	if !ok || len(e.Fields) == 0 {
		return err
	}
	var b strings.Builder
	b.WriteString(e.Message)
	for _, k := range slices.Sorted(maps.Keys(e.Fields)) {
		fmt.Fprintf(&b, "\n  %s: %s", k, e.Fields[k])
	}
	return fmt.Errorf("%s", b.String())
}
