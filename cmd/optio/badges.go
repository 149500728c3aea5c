package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/openbadges"
	"github.com/optio-edu/optio/store"
)

func badgesCmd(getenv func(string) string) *cobra.Command {
	cmd := &cobra.Command{Use: "badges", Short: "Open Badges credentials: verify a badge file, rotate the signing key"}
	cmd.AddCommand(badgesVerifyCmd(), badgesRotateKeyCmd(getenv))
	return cmd
}

// badgesVerifyCmd verifies a credential as an outside verifier does: it
// reads the VC-JWT from the file (a baked PNG or SVG, or the JWT itself),
// fetches the key its kid names and the status list it points to, and
// checks them. It needs no database, only the network.
func badgesVerifyCmd() *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "verify FILE",
		Short: "Verify an Open Badges 3.0 credential: a baked PNG or SVG badge, or a VC-JWT file",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			token, err := openbadges.Extract(data)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			r := openbadges.HTTPResolver{Client: &http.Client{Timeout: timeout}}
			res, err := openbadges.Verify(cmd.Context(), token, r, time.Now())
			if err != nil {
				if errors.Is(err, openbadges.ErrNotVerified) {
					fmt.Fprintf(cmd.OutOrStdout(), "NOT VERIFIED: %v\n", err)
				}
				return err
			}
			c := res.Credential
			status := "verified — signed by the issuer, not revoked"
			if res.Revoked {
				status = "REVOKED by the issuer"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n  badge:   %s\n  issuer:  %s (%s)\n  earned:  %s\n  subject: %s\n  key:     %s\n  id:      %s\n",
				status, c.CredentialSubject.Achievement.Name, c.Issuer.Name, c.Issuer.ID, c.ValidFrom, c.CredentialSubject.ID, res.KeyID, c.ID)
			if res.Revoked {
				return errors.New("the credential was revoked")
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "time limit for each fetch of a key or status list")
	return cmd
}

// badgesRotateKeyCmd retires the active credential-signing key and stores a
// new one; credentials signed with retired keys still verify, and running
// processes pick the new key up within a minute.
func badgesRotateKeyCmd(getenv func(string) string) *cobra.Command {
	return &cobra.Command{
		Use:   "rotate-key",
		Short: "Rotate Optio's Open Badges signing key (old keys stay served for verification)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(cmd.Context(), getenv, func(_ *optio.Config, db *store.DB) error {
				k, err := db.RotateSigningKey(cmd.Context(), openbadges.KeyPurpose, openbadges.SigningAlg, openbadges.GenerateKey)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "new signing key %s (%s); earlier keys are retired and still served\n", k.KID, k.Alg)
				return nil
			})
		},
	}
}
