package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/spark"
)

// sparkCmd groups the tools for Spark's developers.
func sparkCmd(getenv func(string) string) *cobra.Command {
	cmd := &cobra.Command{Use: "spark", Short: "Tools for Spark's developers: sign and check SSO tokens, send webhooks, backfill from Spark's API"}
	cmd.AddCommand(signTokenCmd(getenv), verifyTokenCmd(getenv), sendWebhookCmd(getenv), backfillCmd(getenv))
	return cmd
}

func signTokenCmd(getenv func(string) string) *cobra.Command {
	var c spark.Claims
	var role string
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "sign-token",
		Short: "Print an HS256 SSO token signed with the first SPARK_SSO_SECRET",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(getenv)
			if err != nil {
				return err
			}
			if len(cfg.SparkSSOSecrets) == 0 {
				return errors.New("SPARK_SSO_SECRET is not set")
			}
			switch optio.Role(role) {
			case optio.RoleStudent, optio.RoleParent, optio.RoleAdmin:
			default:
				return fmt.Errorf("--role must be student, parent or admin, not %q", role)
			}
			if ttl <= 0 || ttl > spark.DefaultMaxLifetime {
				return fmt.Errorf("--ttl must be between 1s and %s", spark.DefaultMaxLifetime)
			}
			c.Role = optio.Role(role)
			c.Issuer = cfg.SparkSSOIssuer
			if cfg.SparkSSOAudience != "" {
				c.Audience = []string{cfg.SparkSSOAudience}
			}
			tok, err := spark.SignToken(cfg.SparkSSOSecrets[0], c, ttl, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Subject, "sub", "", "the Spark user id (required)")
	f.StringVar(&c.Email, "email", "", "email address")
	f.StringVar(&role, "role", "student", "student, parent or admin")
	f.StringVar(&c.GivenName, "given-name", "", "first name")
	f.StringVar(&c.FamilyName, "family-name", "", "last name")
	f.StringSliceVar(&c.SparkCourseIDs, "course", nil, "a Spark course id (repeat or comma-separate)")
	f.StringSliceVar(&c.SparkStudentIDs, "student", nil, "a parent's child's Spark id (repeat or comma-separate)")
	f.DurationVar(&ttl, "ttl", 5*time.Minute, "token lifetime")
	_ = cmd.MarkFlagRequired("sub")
	return cmd
}

func verifyTokenCmd(getenv func(string) string) *cobra.Command {
	return &cobra.Command{
		Use:   "verify-token TOKEN",
		Short: "Check an SSO token as Optio would, and show each check",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(getenv)
			if err != nil {
				return err
			}
			v, err := spark.NewSSOVerifier(cmd.Context(), spark.SSOConfig{
				Secrets: cfg.SparkSSOSecrets, JWKSURL: cfg.SparkSSOJWKSURL, Issuer: cfg.SparkSSOIssuer, Audience: cfg.SparkSSOAudience,
			})
			if err != nil {
				return err
			}
			defer v.Close()
			out := cmd.OutOrStdout()
			refused := false
			for _, c := range v.Explain(cmd.Context(), strings.TrimSpace(args[0])) {
				mark := "✓"
				if !c.OK {
					mark, refused = "✗", true
				}
				fmt.Fprintf(out, "%s %s: %s\n", mark, c.Name, c.Detail)
			}
			if refused {
				return errors.New("token refused")
			}
			fmt.Fprintln(out, "token accepted (Optio also refuses a nonce it has seen before)")
			return nil
		},
	}
}

var webhookKinds = map[string]func([]byte) error{
	"submission": func(b []byte) error { _, err := spark.DecodeSubmission(b); return err },
	"roster":     func(b []byte) error { _, err := spark.DecodeRoster(b); return err },
	"course":     func(b []byte) error { _, err := spark.DecodeCourse(b); return err },
}

func sendWebhookCmd(getenv func(string) string) *cobra.Command {
	var file, target, id string
	cmd := &cobra.Command{
		Use:   "send-webhook submission|roster|course --file payload.json",
		Short: "Sign a webhook with the first SPARK_WEBHOOK_SECRET and POST it to Optio",
		Long: `Sign a webhook payload with the first SPARK_WEBHOOK_SECRET (Standard Webhooks v1) and POST it to
<url>/spark/webhook/<kind>, printing Optio's answer. Example payloads: docs/spark/examples/.
A payload that fails Optio's validation is sent anyway (with a warning), to see how Optio answers.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind := args[0]
			check, ok := webhookKinds[kind]
			if !ok {
				return fmt.Errorf("unknown webhook %q: use submission, roster or course", kind)
			}
			cfg, err := loadConfig(getenv)
			if err != nil {
				return err
			}
			if len(cfg.SparkWebhookSecrets) == 0 {
				return errors.New("SPARK_WEBHOOK_SECRET is not set")
			}
			body, err := readPayload(cmd.InOrStdin(), file)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if err := check(body); err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: Optio will likely refuse this payload: %s\n", optio.ErrorMessage(err))
			}
			if target == "" {
				target = cfg.BaseURL
			}
			if id == "" {
				id = "msg_" + randomHex(12)
			}
			h, err := spark.WebhookSigner{Secret: cfg.SparkWebhookSecrets[0]}.Header(id, time.Now(), body)
			if err != nil {
				return err
			}
			endpoint := strings.TrimRight(target, "/") + "/spark/webhook/" + kind
			req, err := http.NewRequestWithContext(cmd.Context(), http.MethodPost, endpoint, bytes.NewReader(body))
			if err != nil {
				return err
			}
			req.Header = h
			req.Header.Set("Content-Type", "application/json")
			res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
			if err != nil {
				return fmt.Errorf("send webhook: %w", err)
			}
			defer res.Body.Close()
			answer, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
			fmt.Fprintf(out, "POST %s\nwebhook-id: %s\n%s\n", endpoint, id, res.Status)
			if len(answer) > 0 {
				fmt.Fprintln(out, strings.TrimSpace(string(answer)))
			}
			if res.StatusCode < 200 || res.StatusCode > 299 {
				return fmt.Errorf("optio answered %s", res.Status)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "file", "", `the JSON payload file, "-" for standard input (required)`)
	cmd.Flags().StringVar(&target, "url", "", "Optio's base URL (default $OPTIO_BASE_URL)")
	cmd.Flags().StringVar(&id, "id", "", "the webhook-id (default: a fresh msg_…); reuse one to test de-duplication")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

func readPayload(stdin io.Reader, file string) ([]byte, error) {
	var b []byte
	var err error
	if file == "-" {
		b, err = io.ReadAll(io.LimitReader(stdin, 32<<20))
	} else {
		b, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, fmt.Errorf("read payload: %w", err)
	}
	return b, nil
}
