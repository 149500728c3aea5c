package tutor

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"net"
	"net/http"
	"time"

	"google.golang.org/genai"

	"github.com/optio-edu/optio"
)

// GeminiConfig configures the Gemini provider. Zero fields take the defaults
// named in their comments.
type GeminiConfig struct {
	// APIKey is the Gemini API key (GEMINI_API_KEY). Required.
	APIKey string
	// Model is the model name (GEMINI_MODEL), default gemini-2.5-flash.
	Model string
	// BaseURL overrides the API endpoint (GEMINI_BASE_URL), for tests and
	// proxies; default the SDK's.
	BaseURL string
	// Timeout bounds one whole answer, retries included; default 60s.
	Timeout time.Duration
	// MaxRetries is how many times a 429, 5xx or network failure is retried
	// before any text reached the caller; default 2. Negative means none.
	MaxRetries int
	// MaxOutputTokens caps an answer when the Request does not; default 1024.
	MaxOutputTokens int
	// RetryBaseDelay is the first backoff, doubled per retry with jitter;
	// default 500ms.
	RetryBaseDelay time.Duration
	// RetryMaxDelay caps one backoff; default 8s.
	RetryMaxDelay time.Duration
	// HTTPClient sends the requests; default a new client with no timeout of
	// its own (Timeout applies through the context).
	HTTPClient *http.Client
}

// GeminiConfigFrom takes the tutor's settings from Optio's configuration.
func GeminiConfigFrom(c *optio.Config) GeminiConfig {
	return GeminiConfig{APIKey: c.GeminiAPIKey, Model: c.GeminiModel, BaseURL: c.GeminiBaseURL}
}

// Gemini is the Provider backed by Google's Gemini API through the official
// SDK. It is safe for concurrent use.
type Gemini struct {
	client *genai.Client
	cfg    GeminiConfig
}

var _ Provider = (*Gemini)(nil)

// NewGemini builds the provider. It does not call the API. A missing API key
// is an *optio.Error with code ENOTCONFIG.
func NewGemini(ctx context.Context, cfg GeminiConfig) (*Gemini, error) {
	if cfg.APIKey == "" {
		return nil, optio.Errorf(optio.ENOTCONFIG, "The AI tutor needs GEMINI_API_KEY.")
	}
	if cfg.Model == "" {
		cfg.Model = "gemini-2.5-flash"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 2
	}
	if cfg.MaxOutputTokens <= 0 {
		cfg.MaxOutputTokens = 1024
	}
	if cfg.RetryBaseDelay <= 0 {
		cfg.RetryBaseDelay = 500 * time.Millisecond
	}
	if cfg.RetryMaxDelay <= 0 {
		cfg.RetryMaxDelay = 8 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	client, err := genai.NewClient(ctx, &genai.ClientConfig{
		APIKey:      cfg.APIKey,
		Backend:     genai.BackendGeminiAPI,
		HTTPClient:  cfg.HTTPClient,
		HTTPOptions: genai.HTTPOptions{BaseURL: cfg.BaseURL},
	})
	if err != nil {
		return nil, fmt.Errorf("gemini client: %w", err)
	}
	return &Gemini{client: client, cfg: cfg}, nil
}

// safetySettings block medium-and-above harm in every category Gemini rates.
var safetySettings = []*genai.SafetySetting{
	{Category: genai.HarmCategoryHarassment, Threshold: genai.HarmBlockThresholdBlockMediumAndAbove},
	{Category: genai.HarmCategoryHateSpeech, Threshold: genai.HarmBlockThresholdBlockMediumAndAbove},
	{Category: genai.HarmCategorySexuallyExplicit, Threshold: genai.HarmBlockThresholdBlockMediumAndAbove},
	{Category: genai.HarmCategoryDangerousContent, Threshold: genai.HarmBlockThresholdBlockMediumAndAbove},
}

// blockedFinish are the finish reasons that mean the answer was stopped for
// its content rather than finished or cut short by length.
var blockedFinish = map[genai.FinishReason]bool{
	genai.FinishReasonSafety:            true,
	genai.FinishReasonRecitation:        true,
	genai.FinishReasonBlocklist:         true,
	genai.FinishReasonProhibitedContent: true,
	genai.FinishReasonSPII:              true,
	genai.FinishReasonImageSafety:       true,
}

// Stream asks Gemini for an answer and yields its text as it arrives. A 429,
// 5xx or network failure is retried with exponential backoff and jitter, but
// only while no text has been yielded, so the caller never sees an answer
// start twice. A blocked prompt or a safety finish yields an error wrapping
// ErrBlocked.
func (g *Gemini) Stream(ctx context.Context, req Request) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		ctx, cancel := context.WithTimeout(ctx, g.cfg.Timeout)
		defer cancel()
		contents, config := g.request(req)
		for attempt := 0; ; attempt++ {
			sent, err := g.attempt(ctx, contents, config, yield)
			if err == nil {
				return
			}
			if errors.Is(err, errStopped) {
				return
			}
			if sent || attempt >= g.cfg.MaxRetries || !retryable(ctx, err) {
				yield("", err)
				return
			}
			if werr := sleep(ctx, backoff(attempt, g.cfg.RetryBaseDelay, g.cfg.RetryMaxDelay)); werr != nil {
				yield("", fmt.Errorf("gemini: %w (after %w)", werr, err))
				return
			}
		}
	}
}

// errStopped reports that the caller stopped reading.
var errStopped = errors.New("stopped by caller")

// attempt runs one streaming request, yielding text. It reports whether any
// text was yielded.
func (g *Gemini) attempt(ctx context.Context, contents []*genai.Content, config *genai.GenerateContentConfig,
	yield func(string, error) bool) (sent bool, err error) {
	for resp, err := range g.client.Models.GenerateContentStream(ctx, g.cfg.Model, contents, config) {
		if err != nil {
			return sent, fmt.Errorf("gemini: %w", err)
		}
		if pf := resp.PromptFeedback; pf != nil && pf.BlockReason != "" {
			return sent, fmt.Errorf("%w: prompt blocked (%s)", ErrBlocked, pf.BlockReason)
		}
		if len(resp.Candidates) == 0 || resp.Candidates[0] == nil {
			continue
		}
		cand := resp.Candidates[0]
		if cand.Content != nil {
			for _, p := range cand.Content.Parts {
				if p == nil || p.Thought || p.Text == "" {
					continue
				}
				sent = true
				if !yield(p.Text, nil) {
					return sent, errStopped
				}
			}
		}
		if blockedFinish[cand.FinishReason] {
			return sent, fmt.Errorf("%w: finish reason %s", ErrBlocked, cand.FinishReason)
		}
	}
	return sent, nil
}

func (g *Gemini) request(req Request) ([]*genai.Content, *genai.GenerateContentConfig) {
	contents := make([]*genai.Content, 0, len(req.History)+1)
	for _, m := range req.History {
		role := genai.RoleUser
		if m.Role == RoleModel {
			role = genai.RoleModel
		}
		contents = append(contents, genai.NewContentFromText(m.Text, genai.Role(role)))
	}
	contents = append(contents, genai.NewContentFromText(req.Prompt, genai.RoleUser))

	maxTokens := req.MaxOutputTokens
	if maxTokens <= 0 {
		maxTokens = g.cfg.MaxOutputTokens
	}
	noContinuation := false
	config := &genai.GenerateContentConfig{
		MaxOutputTokens: int32(min(maxTokens, 1<<30)),
		SafetySettings:  safetySettings,
		// Retries are this provider's job, and only before text was sent;
		// the SDK's automatic continuation would resend silently.
		AutomaticContinuation: &noContinuation,
	}
	if req.System != "" {
		config.SystemInstruction = &genai.Content{Parts: []*genai.Part{{Text: req.System}}}
	}
	return contents, config
}

// retryable reports whether err is worth another try: rate limits, server
// errors and network failures, but not a cancelled or expired request.
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, ErrBlocked) {
		return false
	}
	var apiErr genai.APIError
	if errors.As(err, &apiErr) {
		return apiErr.Code == http.StatusTooManyRequests || apiErr.Code >= 500
	}
	var netErr net.Error
	return errors.As(err, &netErr)
}

// backoff is the wait before retry attempt+1: base·2^attempt capped at max,
// with "equal jitter" (half fixed, half random) so clients spread out.
func backoff(attempt int, base, maxDelay time.Duration) time.Duration {
	d := base << min(attempt, 20)
	if d <= 0 || d > maxDelay {
		d = maxDelay
	}
	half := d / 2
	return half + rand.N(half+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
