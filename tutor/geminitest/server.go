// Package geminitest is a fake Gemini API on loopback for tests. It speaks the
// wire format google.golang.org/genai uses for streaming answers — POST
// /v1beta/models/{model}:streamGenerateContent?alt=sse with an
// x-goog-api-key header, answered by server-sent events "data: {json}" — and
// plays back replies a test scripts, recording every request it receives.
package geminitest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Reply is a scripted answer to one request. The zero Reply streams nothing
// and finishes with STOP.
type Reply struct {
	// Status, when not 0 or 200, answers with that HTTP status and a Google
	// API error body instead of a stream.
	Status int
	// Message is the error message for Status.
	Message string
	// Chunks are the text parts streamed, one event each.
	Chunks []string
	// FinishReason ends the stream in its last event; "" means STOP. Use
	// "SAFETY" for an answer the model's filter stopped.
	FinishReason string
	// BlockReason, when set, answers with promptFeedback.blockReason (a
	// blocked prompt) and no candidates.
	BlockReason string
	// Delay is waited before each event; the wait ends early when the client
	// goes away.
	Delay time.Duration
	// Events, when set, are sent verbatim as the data of each event instead
	// of events built from the fields above.
	Events []string
}

// Text is a reply streaming chunks and finishing normally.
func Text(chunks ...string) Reply { return Reply{Chunks: chunks} }

// Status is a reply failing with an HTTP status code.
func Status(code int) Reply { return Reply{Status: code} }

// Safety is a reply streaming chunks and then stopped by the safety filter.
func Safety(chunks ...string) Reply { return Reply{Chunks: chunks, FinishReason: "SAFETY"} }

// Request is one request the server received, decoded.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	// Model is the model name from the path, without "models/".
	Model string
	// APIKey is the x-goog-api-key header.
	APIKey string
	Body   GenerateContentRequest
}

// GenerateContentRequest is the JSON body of a generateContent request, as
// far as Optio uses it.
type GenerateContentRequest struct {
	Contents          []Content        `json:"contents"`
	SystemInstruction *Content         `json:"systemInstruction,omitempty"`
	GenerationConfig  GenerationConfig `json:"generationConfig"`
	SafetySettings    []SafetySetting  `json:"safetySettings,omitempty"`
}

// Content is one turn: a role and its parts.
type Content struct {
	Role  string `json:"role,omitempty"`
	Parts []Part `json:"parts"`
}

// Part is a piece of a turn; only text is used.
type Part struct {
	Text string `json:"text,omitempty"`
}

// GenerationConfig holds the generation settings Optio sends.
type GenerationConfig struct {
	MaxOutputTokens int      `json:"maxOutputTokens,omitempty"`
	Temperature     *float64 `json:"temperature,omitempty"`
}

// SafetySetting is one harm category's blocking threshold.
type SafetySetting struct {
	Category  string `json:"category"`
	Threshold string `json:"threshold"`
}

// Text joins the text of c's parts.
func (c *Content) Text() string {
	if c == nil {
		return ""
	}
	var b strings.Builder
	for _, p := range c.Parts {
		b.WriteString(p.Text)
	}
	return b.String()
}

// System is the system instruction's text.
func (r Request) System() string { return r.Body.SystemInstruction.Text() }

// Prompt is the text of the last turn, the student's new message.
func (r Request) Prompt() string {
	if n := len(r.Body.Contents); n > 0 {
		return r.Body.Contents[n-1].Text()
	}
	return ""
}

// Server is a running fake. Replies are played in the order they were queued;
// a request with no reply queued gets a 500 so a test notices.
type Server struct {
	// URL is the base URL to give the SDK (genai.HTTPOptions.BaseURL).
	URL string

	mu       sync.Mutex
	replies  []Reply
	requests []Request
}

// Model is the model name tests use unless they choose another.
const Model = "gemini-test"

// APIKey is an API key tests may use; the server accepts any non-empty key.
const APIKey = "test-api-key"

// NewServer starts a fake on loopback, closed when the test ends.
func NewServer(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{}
	ts := httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(ts.Close)
	s.URL = ts.URL
	return s
}

// Reply queues replies for the next requests, in order.
func (s *Server) Reply(replies ...Reply) {
	s.mu.Lock()
	s.replies = append(s.replies, replies...)
	s.mu.Unlock()
}

// Requests returns the requests received so far, including failed ones.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

const streamSuffix = ":streamGenerateContent"

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	model, ok := strings.CutPrefix(r.URL.Path, "/v1beta/models/")
	if !ok || r.Method != http.MethodPost || !strings.HasSuffix(model, streamSuffix) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("geminitest: no route for %s %s", r.Method, r.URL.Path))
		return
	}
	model = strings.TrimSuffix(model, streamSuffix)
	if r.URL.Query().Get("alt") != "sse" {
		writeError(w, http.StatusBadRequest, "geminitest: streamGenerateContent needs ?alt=sse")
		return
	}
	if r.Header.Get("x-goog-api-key") == "" {
		writeError(w, http.StatusUnauthorized, "geminitest: missing x-goog-api-key")
		return
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var body GenerateContentRequest
	if err := json.Unmarshal(raw, &body); err != nil {
		writeError(w, http.StatusBadRequest, "geminitest: body is not a GenerateContentRequest: "+err.Error())
		return
	}

	s.mu.Lock()
	s.requests = append(s.requests, Request{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Model: model,
		APIKey: r.Header.Get("x-goog-api-key"), Body: body,
	})
	var reply Reply
	scripted := len(s.replies) > 0
	if scripted {
		reply, s.replies = s.replies[0], s.replies[1:]
	}
	s.mu.Unlock()

	if !scripted {
		writeError(w, http.StatusInternalServerError, "geminitest: no reply scripted for this request")
		return
	}
	if reply.Status != 0 && reply.Status != http.StatusOK {
		writeError(w, reply.Status, reply.Message)
		return
	}
	s.stream(w, r, model, reply)
}

func (s *Server) stream(w http.ResponseWriter, r *http.Request, model string, reply Reply) {
	events := reply.Events
	if events == nil {
		events = buildEvents(model, reply)
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	for _, ev := range events {
		if reply.Delay > 0 {
			select {
			case <-time.After(reply.Delay):
			case <-r.Context().Done():
				return
			}
		}
		if _, err := fmt.Fprintf(w, "data: %s\r\n\r\n", ev); err != nil {
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
	}
}

// buildEvents writes the events Gemini sends: one per text chunk, the last
// carrying the finish reason and usage.
func buildEvents(model string, reply Reply) []string {
	type (
		safetyRating struct {
			Category    string `json:"category"`
			Probability string `json:"probability"`
			Blocked     bool   `json:"blocked,omitempty"`
		}
		candidate struct {
			Content       *Content       `json:"content,omitempty"`
			FinishReason  string         `json:"finishReason,omitempty"`
			Index         int            `json:"index"`
			SafetyRatings []safetyRating `json:"safetyRatings,omitempty"`
		}
		promptFeedback struct {
			BlockReason   string         `json:"blockReason"`
			SafetyRatings []safetyRating `json:"safetyRatings,omitempty"`
		}
		usage struct {
			PromptTokenCount     int `json:"promptTokenCount"`
			CandidatesTokenCount int `json:"candidatesTokenCount,omitempty"`
			TotalTokenCount      int `json:"totalTokenCount"`
		}
		response struct {
			Candidates     []candidate     `json:"candidates,omitempty"`
			PromptFeedback *promptFeedback `json:"promptFeedback,omitempty"`
			UsageMetadata  usage           `json:"usageMetadata"`
			ModelVersion   string          `json:"modelVersion"`
			ResponseID     string          `json:"responseId"`
		}
	)
	blocked := []safetyRating{{Category: "HARM_CATEGORY_DANGEROUS_CONTENT", Probability: "MEDIUM", Blocked: true}}
	mk := func(v response) string {
		v.ModelVersion, v.ResponseID = model, "geminitest-response"
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		return string(b)
	}
	if reply.BlockReason != "" {
		return []string{mk(response{
			PromptFeedback: &promptFeedback{BlockReason: reply.BlockReason, SafetyRatings: blocked},
			UsageMetadata:  usage{PromptTokenCount: 10, TotalTokenCount: 10},
		})}
	}
	finish := reply.FinishReason
	if finish == "" {
		finish = "STOP"
	}
	var events []string
	for i, text := range reply.Chunks {
		c := candidate{Content: &Content{Role: "model", Parts: []Part{{Text: text}}}}
		if i == len(reply.Chunks)-1 && finish == "STOP" {
			c.FinishReason = finish
		}
		events = append(events, mk(response{Candidates: []candidate{c},
			UsageMetadata: usage{PromptTokenCount: 10, CandidatesTokenCount: i + 1, TotalTokenCount: 11 + i}}))
	}
	if finish != "STOP" || len(reply.Chunks) == 0 {
		c := candidate{FinishReason: finish}
		if finish == "SAFETY" {
			c.SafetyRatings = blocked
		}
		events = append(events, mk(response{Candidates: []candidate{c},
			UsageMetadata: usage{PromptTokenCount: 10, CandidatesTokenCount: len(reply.Chunks), TotalTokenCount: 10 + len(reply.Chunks)}}))
	}
	return events
}

// writeError answers the way Google APIs do: {"error":{"code","message","status"}}.
func writeError(w http.ResponseWriter, code int, message string) {
	if message == "" {
		message = http.StatusText(code)
	}
	status := map[int]string{
		http.StatusBadRequest:          "INVALID_ARGUMENT",
		http.StatusUnauthorized:        "UNAUTHENTICATED",
		http.StatusForbidden:           "PERMISSION_DENIED",
		http.StatusNotFound:            "NOT_FOUND",
		http.StatusTooManyRequests:     "RESOURCE_EXHAUSTED",
		http.StatusInternalServerError: "INTERNAL",
		http.StatusServiceUnavailable:  "UNAVAILABLE",
		http.StatusGatewayTimeout:      "DEADLINE_EXCEEDED",
	}[code]
	if status == "" {
		status = "UNKNOWN"
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": message, "status": status}})
}
