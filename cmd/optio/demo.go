package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/app"
	"github.com/optio-edu/optio/lti"
	"github.com/optio-edu/optio/sandbox"
)

// demoEnv overlays the demo's wiring on the real environment: fresh shared
// secrets, the sandbox as Spark's API, its host allowed for file downloads.
func demoEnv(getenv func(string) string, optioURL, sandboxURL, sandboxHost string, secrets demoSecrets) func(string) string {
	over := map[string]string{
		"OPTIO_BASE_URL":           optioURL,
		"SPARK_SSO_SECRET":         secrets.sso,
		"SPARK_WEBHOOK_SECRET":     secrets.webhook,
		"SPARK_API_URL":            sandboxURL,
		"SPARK_API_KEY":            secrets.apiKey,
		"SPARK_FILE_ALLOW_PRIVATE": "true",
		"SPARK_FILE_HOSTS":         sandboxHost,
		"SPARK_ALLOWED_ORIGINS":    sandboxURL,
		"SPARK_SSO_ALLOW_ADMIN":    "true",
		"SPARK_POLL_INTERVAL":      "1m",
	}
	over["SPARK_ALLOW_INSECURE_HTTP"] = "true" // the sandbox speaks plain http (local use only)
	// Metrics on a free loopback port unless the operator chose one, so a
	// demo never collides with another Optio's 9090.
	if getenv("OPTIO_METRICS_ADDR") == "" {
		over["OPTIO_METRICS_ADDR"] = "127.0.0.1:0"
	}
	return func(k string) string {
		if v, ok := over[k]; ok {
			return v
		}
		return getenv(k)
	}
}

type demoSecrets struct{ sso, webhook, apiKey string }

func newDemoSecrets() demoSecrets {
	r := func() string {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	wh := make([]byte, 32)
	_, _ = rand.Read(wh)
	return demoSecrets{sso: r(), webhook: "whsec_" + base64.StdEncoding.EncodeToString(wh), apiKey: r()}
}

// demo is a running Optio and sandbox wired to each other.
type demo struct {
	App     *app.App
	Sandbox *sandbox.Sandbox
	// PublicPortfolio is the seeded consented student's portfolio URL.
	PublicPortfolio string
	// LTICourse is the sandbox's Canvas-like course page that launches
	// Optio over LTI 1.3.
	LTICourse string
}

// startDemo starts Optio on optioLn and the sandbox on sandboxLn, wires
// them and seeds the plan's badges.
func startDemo(ctx context.Context, getenv func(string) string, optioLn, sandboxLn net.Listener, opts app.Options) (*demo, error) {
	return launchDemo(ctx, getenv, optioLn, sandboxLn, opts, true)
}

// launchDemo is startDemo; withWork false leaves out the seeded student's
// handed-in work, for tests that count a course's submissions themselves.
func launchDemo(ctx context.Context, getenv func(string) string, optioLn, sandboxLn net.Listener, opts app.Options, withWork bool) (*demo, error) {
	optioURL := "http://" + optioLn.Addr().String()
	sandboxURL := "http://" + sandboxLn.Addr().String()
	secrets := newDemoSecrets()
	env := demoEnv(getenv, optioURL, sandboxURL, sandboxLn.Addr().String(), secrets)
	cfg, err := optio.LoadConfig(env)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	cfg.Addr = optioLn.Addr().String()
	a, err := app.New(ctx, cfg, opts)
	if err != nil {
		return nil, err
	}
	if err := a.Start(optioLn); err != nil {
		a.Close()
		return nil, err
	}
	sb, err := sandbox.New(sandbox.Config{OptioURL: optioURL, SSOSecret: secrets.sso, WebhookSecret: secrets.webhook,
		APIKey: secrets.apiKey, PublicURL: sandboxURL, Clock: opts.Clock, Logger: opts.Logger})
	if err != nil {
		_ = a.Shutdown(ctx)
		return nil, err
	}
	if err := sb.Start(sandboxLn); err != nil {
		_ = a.Shutdown(ctx)
		return nil, err
	}
	// No course webhooks: the sandbox speaks the plan's contract, and Optio
	// learns each course when a student brings it (SSO, roster, submission),
	// reading its title and assignments from the sandbox's API.
	d := &demo{App: a, Sandbox: sb}
	if d.PublicPortfolio, err = seedDemo(ctx, a, sb, withWork); err != nil {
		d.Close()
		return nil, err
	}
	if d.LTICourse, err = registerDemoLTI(ctx, a, sb, optioURL); err != nil {
		d.Close()
		return nil, fmt.Errorf("LTI: %w", err)
	}
	return d, nil
}

// registerDemoLTI registers Optio as a tool on the sandbox's LTI 1.3
// platform and the platform in Optio, as the two admins would by hand (a
// developer key on one side, `optio lti platform add` on the other), and
// answers the course page that launches it.
func registerDemoLTI(ctx context.Context, a *app.App, sb *sandbox.Sandbox, optioURL string) (string, error) {
	iss := sb.LTIIssuer()
	cfg := sandbox.LTIToolConfig{Name: "Optio", LoginURL: optioURL + lti.LoginPath,
		TargetLinkURI: optioURL + lti.LaunchPath, JWKSURL: optioURL + lti.JWKSPath}
	// A restarted demo on the same data: the sandbox forgot the tool, Optio
	// remembers the platform (and its users and courses); the tool comes
	// back under the ids Optio knows.
	known, err := a.Store.LTIPlatformsByIssuer(ctx, iss)
	if err != nil {
		return "", err
	}
	if len(known) > 0 && len(known[0].DeploymentIDs) > 0 {
		cfg.ClientID, cfg.DeploymentID = known[0].ClientID, known[0].DeploymentIDs[0]
	}
	tool, err := sb.RegisterLTITool(cfg)
	if err != nil {
		return "", err
	}
	if len(known) > 0 {
		return sb.URL() + "/lti/courses/" + sandbox.LTICourseID, nil
	}
	p := optio.LTIPlatform{Issuer: iss, ClientID: tool.ClientID, DeploymentIDs: []string{tool.DeploymentID},
		AuthURL: iss + "/authorize", TokenURL: iss + "/token", JWKSURL: iss + "/jwks", FrameOrigin: sb.URL()}
	if err := p.Normalize(true); err != nil {
		return "", err
	}
	if _, err := a.Store.CreateLTIPlatform(ctx, p); err != nil {
		return "", err
	}
	return sb.URL() + "/lti/courses/" + sandbox.LTICourseID, nil
}

// Close stops the sandbox, then Optio.
func (d *demo) Close() {
	_ = d.Sandbox.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = d.App.Shutdown(ctx)
}

func demoCmd(getenv func(string) string) *cobra.Command {
	var addr, sandboxAddr string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run Optio and a Spark sandbox side by side, wired together",
		RunE: func(cmd *cobra.Command, args []string) error {
			optioLn, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("--addr %s: %w", addr, err)
			}
			sandboxLn, err := net.Listen("tcp", sandboxAddr)
			if err != nil {
				optioLn.Close()
				return fmt.Errorf("--sandbox-addr %s: %w", sandboxAddr, err)
			}
			cfg, err := loadConfig(getenv)
			if err != nil {
				return err
			}
			d, err := startDemo(cmd.Context(), getenv, optioLn, sandboxLn, app.Options{Logger: newLogger(cfg, logText)})
			if err != nil {
				return err
			}
			defer d.Close()
			printDemo(cmd.OutOrStdout(), d)
			<-cmd.Context().Done()
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "where Optio listens")
	cmd.Flags().StringVar(&sandboxAddr, "sandbox-addr", "127.0.0.1:8090", "where the Spark sandbox listens")
	return cmd
}

func printDemo(w io.Writer, d *demo) {
	fmt.Fprintf(w, `
Optio demo is running.

  Optio          %[1]s
  Spark sandbox  %[2]s   (a fake Spark LMS, wired to Optio with fresh secrets)

Open this first: %[4]s
  Noah Okafor's public portfolio, as anyone on the web sees it: his parent consented, and his work (a chart,
  a video, a PDF essay) and the Physics badge it earned arrive from the sandbox within seconds of start.

Try it:
  1. Open %[2]s and pick a student.
  2. Click "View Portfolio in Optio": Spark signs you in to Optio (SSO) and you land on the dashboard.
  3. Back in the sandbox, submit an assignment with a sample file (the PDF essay, a chart, the video).
     Within seconds it is evidence on the student's Optio portfolio, the task is complete and XP is awarded.
  4. Pick the student's parent in the sandbox and click "View Portfolio in Optio" to see the parent dashboard
     (Optio asks before switching from the student's account).
  5. Pick the admin to see sync status and badges in Optio's admin area.
  6. Another LMS, over LTI 1.3: %[5]s is a Canvas-like course. Launch Optio inside it as the
     teacher (the course's roster and progress, "Add Optio to this course" by Deep Linking), a student or a parent.

Webhook deliveries: %[2]s/deliveries     Metrics: %[3]s
Data is kept in OPTIO_DATA_DIR (default ./optio-data). Press Ctrl-C to stop.
`, d.App.URL(), d.Sandbox.URL(), demoMetrics(d.App), d.PublicPortfolio, d.LTICourse)
}

// demoMetrics is where the demo's /metrics is, for the banner.
func demoMetrics(a *app.App) string {
	if u := a.MetricsURL(); u != "" {
		return u + "/metrics"
	}
	return "off (OPTIO_METRICS_ADDR)"
}
