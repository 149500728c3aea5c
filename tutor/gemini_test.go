package tutor_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/tutor"
	"github.com/optio-edu/optio/tutor/geminitest"
)

// newGemini starts a fake Gemini and a provider pointed at it, with fast
// retries.
func newGemini(t *testing.T, mod ...func(*tutor.GeminiConfig)) (*tutor.Gemini, *geminitest.Server) {
	t.Helper()
	srv := geminitest.NewServer(t)
	cfg := tutor.GeminiConfig{
		APIKey:         geminitest.APIKey,
		Model:          geminitest.Model,
		BaseURL:        srv.URL,
		Timeout:        5 * time.Second,
		RetryBaseDelay: time.Millisecond,
		RetryMaxDelay:  5 * time.Millisecond,
	}
	for _, m := range mod {
		m(&cfg)
	}
	g, err := tutor.NewGemini(t.Context(), cfg)
	require.NoError(t, err)
	return g, srv
}

// collect reads a whole stream.
func collect(ctx context.Context, p tutor.Provider, req tutor.Request) ([]string, error) {
	var chunks []string
	for chunk, err := range p.Stream(ctx, req) {
		if err != nil {
			return chunks, err
		}
		chunks = append(chunks, chunk)
	}
	return chunks, nil
}

func TestGeminiStreamsChunksInOrder(t *testing.T) {
	t.Parallel()
	g, srv := newGemini(t)
	srv.Reply(geminitest.Text("Plants ", "make food ", "from sunlight."))

	chunks, err := collect(t.Context(), g, tutor.Request{
		System:          "You are a tutor.",
		History:         []tutor.Message{{Role: tutor.RoleUser, Text: "hi"}, {Role: tutor.RoleModel, Text: "Hello!"}},
		Prompt:          "What is photosynthesis?",
		MaxOutputTokens: 256,
	})
	require.NoError(t, err)
	require.Equal(t, []string{"Plants ", "make food ", "from sunlight."}, chunks)

	reqs := srv.Requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	require.Equal(t, "/v1beta/models/"+geminitest.Model+":streamGenerateContent", r.Path)
	require.Equal(t, "sse", r.Query.Get("alt"))
	require.Equal(t, geminitest.APIKey, r.APIKey)
	require.Equal(t, "You are a tutor.", r.System())
	require.Equal(t, "What is photosynthesis?", r.Prompt())
	require.Equal(t, []geminitest.Content{
		{Role: "user", Parts: []geminitest.Part{{Text: "hi"}}},
		{Role: "model", Parts: []geminitest.Part{{Text: "Hello!"}}},
		{Role: "user", Parts: []geminitest.Part{{Text: "What is photosynthesis?"}}},
	}, r.Body.Contents)
	require.Equal(t, 256, r.Body.GenerationConfig.MaxOutputTokens)
	require.ElementsMatch(t, []geminitest.SafetySetting{
		{Category: "HARM_CATEGORY_HARASSMENT", Threshold: "BLOCK_MEDIUM_AND_ABOVE"},
		{Category: "HARM_CATEGORY_HATE_SPEECH", Threshold: "BLOCK_MEDIUM_AND_ABOVE"},
		{Category: "HARM_CATEGORY_SEXUALLY_EXPLICIT", Threshold: "BLOCK_MEDIUM_AND_ABOVE"},
		{Category: "HARM_CATEGORY_DANGEROUS_CONTENT", Threshold: "BLOCK_MEDIUM_AND_ABOVE"},
	}, r.Body.SafetySettings)
}

func TestGeminiDefaultMaxOutputTokens(t *testing.T) {
	t.Parallel()
	g, srv := newGemini(t, func(c *tutor.GeminiConfig) { c.MaxOutputTokens = 300 })
	srv.Reply(geminitest.Text("ok"))
	_, err := collect(t.Context(), g, tutor.Request{Prompt: "hi"})
	require.NoError(t, err)
	require.Equal(t, 300, srv.Requests()[0].Body.GenerationConfig.MaxOutputTokens)
	require.Nil(t, srv.Requests()[0].Body.SystemInstruction)
}

func TestGeminiRetriesRateLimitThenSucceeds(t *testing.T) {
	t.Parallel()
	g, srv := newGemini(t)
	srv.Reply(geminitest.Status(http.StatusTooManyRequests), geminitest.Status(http.StatusServiceUnavailable), geminitest.Text("Hello"))
	chunks, err := collect(t.Context(), g, tutor.Request{Prompt: "hi"})
	require.NoError(t, err)
	require.Equal(t, []string{"Hello"}, chunks)
	require.Len(t, srv.Requests(), 3)
}

func TestGeminiGivesUpAfterMaxRetries(t *testing.T) {
	t.Parallel()
	g, srv := newGemini(t, func(c *tutor.GeminiConfig) { c.MaxRetries = 1 })
	srv.Reply(geminitest.Status(500), geminitest.Status(500), geminitest.Text("never"))
	_, err := collect(t.Context(), g, tutor.Request{Prompt: "hi"})
	require.Error(t, err)
	require.Len(t, srv.Requests(), 2)
}

func TestGeminiDoesNotRetryClientErrors(t *testing.T) {
	t.Parallel()
	g, srv := newGemini(t)
	srv.Reply(geminitest.Status(http.StatusBadRequest), geminitest.Text("never"))
	_, err := collect(t.Context(), g, tutor.Request{Prompt: "hi"})
	require.Error(t, err)
	require.Len(t, srv.Requests(), 1)
}

func TestGeminiDoesNotRetryAfterTextWasSent(t *testing.T) {
	t.Parallel()
	g, srv := newGemini(t)
	srv.Reply(geminitest.Reply{Events: []string{
		`{"candidates":[{"content":{"role":"model","parts":[{"text":"Half an"}]},"index":0}]}`,
		`{"error":{"code":503,"message":"overloaded","status":"UNAVAILABLE"}}`,
	}}, geminitest.Text("never"))
	chunks, err := collect(t.Context(), g, tutor.Request{Prompt: "hi"})
	require.Error(t, err)
	require.Equal(t, []string{"Half an"}, chunks)
	require.Len(t, srv.Requests(), 1, "a retry would repeat text the student already saw")
}

func TestGeminiSafetyFinishIsBlocked(t *testing.T) {
	t.Parallel()
	g, srv := newGemini(t)
	srv.Reply(geminitest.Safety("Some text"), geminitest.Reply{BlockReason: "SAFETY"})

	chunks, err := collect(t.Context(), g, tutor.Request{Prompt: "hi"})
	require.ErrorIs(t, err, tutor.ErrBlocked)
	require.Equal(t, []string{"Some text"}, chunks)

	_, err = collect(t.Context(), g, tutor.Request{Prompt: "hi"})
	require.ErrorIs(t, err, tutor.ErrBlocked)
	require.Len(t, srv.Requests(), 2, "a block is not retried")
}

func TestGeminiTimeout(t *testing.T) {
	t.Parallel()
	g, srv := newGemini(t, func(c *tutor.GeminiConfig) { c.Timeout = 100 * time.Millisecond })
	srv.Reply(geminitest.Reply{Chunks: []string{"slow"}, Delay: 5 * time.Second})
	start := time.Now()
	_, err := collect(t.Context(), g, tutor.Request{Prompt: "hi"})
	require.Error(t, err)
	require.True(t, errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "deadline"), "got %v", err)
	require.Less(t, time.Since(start), 3*time.Second)
}

func TestGeminiStopReadingEarly(t *testing.T) {
	t.Parallel()
	g, srv := newGemini(t)
	srv.Reply(geminitest.Text("one", "two", "three"))
	var got []string
	for chunk, err := range g.Stream(t.Context(), tutor.Request{Prompt: "hi"}) {
		require.NoError(t, err)
		got = append(got, chunk)
		break
	}
	require.Equal(t, []string{"one"}, got)
}

func TestNewGeminiNeedsKey(t *testing.T) {
	t.Parallel()
	_, err := tutor.NewGemini(t.Context(), tutor.GeminiConfig{})
	require.Equal(t, optio.ENOTCONFIG, optio.ErrorCode(err))
}
