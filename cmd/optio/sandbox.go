package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/optio-edu/optio/sandbox"
)

// sandboxCmd runs the fake Spark LMS against an Optio instance.
func sandboxCmd(getenv func(string) string) *cobra.Command {
	var addr, optioURL, publicURL string
	var simulate int
	var every time.Duration
	var sendCourses, extras bool
	var webhooks string
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Run the Spark sandbox: a fake Spark LMS that signs users in to Optio and sends it webhooks",
		Long: `Run the Spark sandbox, a fake Spark LMS with seeded courses, students, parents and sample work.
It reads SPARK_SSO_SECRET, SPARK_WEBHOOK_SECRET and SPARK_API_KEY (the first of each list); a missing
one is generated and printed, so give Optio the same values.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if optioURL == "" {
				optioURL = getenv("OPTIO_BASE_URL")
			}
			if optioURL == "" {
				optioURL = "http://127.0.0.1:8080"
			}
			out := cmd.OutOrStdout()
			secret := func(name string, prefix string, n int) string {
				if v := firstOf(getenv(name)); v != "" {
					return v
				}
				v := prefix + randomHex(n)
				fmt.Fprintf(out, "%s was not set; generated %s=%s\n", name, name, v)
				return v
			}
			if webhooks != "on" && webhooks != "off" {
				return fmt.Errorf("--webhooks: %q is not on or off", webhooks)
			}
			cfg := sandbox.Config{
				WebhooksOff:   webhooks == "off",
				OptioURL:      optioURL,
				SSOSecret:     secret("SPARK_SSO_SECRET", "", 32),
				WebhookSecret: secret("SPARK_WEBHOOK_SECRET", "", 32),
				APIKey:        secret("SPARK_API_KEY", "spk_", 24),
				PublicURL:     publicURL,
				OptioExtras:   extras || sendCourses,
				Logger:        slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo})),
			}
			sb, err := sandbox.New(cfg)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				_ = sb.Close()
				return fmt.Errorf("sandbox: listen on %s: %w", addr, err)
			}
			if err := sb.Start(ln); err != nil {
				_ = ln.Close()
				_ = sb.Close()
				return err
			}
			defer sb.Close()
			fmt.Fprintf(out, "Spark sandbox running at %s\n", sb.URL())
			fmt.Fprintf(out, "  sends SSO and webhooks to Optio at %s\n", optioURL)
			fmt.Fprintf(out, "  Spark API for Optio: SPARK_API_URL=%s\n", sb.URL())
			fmt.Fprintf(out, "  LTI 1.3 platform: %s/lti (OpenID configuration %s)\n", sb.URL(), sb.LTIOpenIDConfigurationURL())
			if cfg.WebhooksOff {
				fmt.Fprintln(out, "  webhooks are off: Optio sees this Spark's work only by polling its API")
			}
			if sendCourses {
				if _, err := sb.SendCourses(cmd.Context()); err != nil {
					return err
				}
				fmt.Fprintln(out, "  course webhooks queued for every course")
			}
			if simulate > 0 {
				if err := sb.StartSimulation(sandbox.Simulation{Students: simulate, Every: every}); err != nil {
					return err
				}
				fmt.Fprintf(out, "  simulating %d students, one submission every %s\n", simulate, every)
			}
			<-cmd.Context().Done()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = sb.WaitIdle(ctx)
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8090", "address to listen on")
	cmd.Flags().StringVar(&optioURL, "optio-url", "", "Optio's base URL (default $OPTIO_BASE_URL or http://127.0.0.1:8080)")
	cmd.Flags().StringVar(&publicURL, "public-url", "", "the sandbox's own URL as Optio reaches it, for file links (default http://<addr>)")
	cmd.Flags().IntVar(&simulate, "simulate", 0, "simulate a class of N students submitting work")
	cmd.Flags().DurationVar(&every, "simulate-every", 2*time.Second, "time between simulated submissions")
	cmd.Flags().BoolVar(&extras, "optio-extras", false, "also speak Optio's extras beyond the plan: the course webhook (a UI button) and the roster's occurred_at and names")
	cmd.Flags().BoolVar(&sendCourses, "send-courses", false, "send a course webhook for every course at start-up (implies --optio-extras)")
	cmd.Flags().StringVar(&webhooks, "webhooks", "on", "on, or off to send no webhooks at all (Optio then learns everything by polling)")
	return cmd
}

// firstOf returns the first entry of a comma-separated list.
func firstOf(list string) string {
	for i := range len(list) {
		if list[i] == ',' {
			return list[:i]
		}
	}
	return list
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
