package tutor

import (
	"context"
	"errors"
	"iter"
)

// Role says who wrote a message in a conversation; the values are the ones
// Gemini uses, so history passes through unchanged.
type Role string

// The two roles a conversation has.
const (
	RoleUser  Role = "user"
	RoleModel Role = "model"
)

// Message is one earlier turn of a conversation, given to the model as history.
type Message struct {
	Role Role
	Text string
}

// Request is everything a provider needs for one answer. It is provider-neutral
// so the Service can be tested with a fake and Gemini can be swapped out.
type Request struct {
	// System is the system prompt (see BuildSystemPrompt).
	System string
	// History is the earlier turns, oldest first.
	History []Message
	// Prompt is the student's new message.
	Prompt string
	// MaxOutputTokens caps the answer; 0 means the provider's default.
	MaxOutputTokens int
}

// Provider produces a model's answer as a stream of text chunks. The sequence
// yields each chunk as it arrives and ends after the last one; an error ends
// it. Breaking out of the loop cancels the underlying request. A provider
// yields an error wrapping ErrBlocked when the model's own safety filter
// stopped the answer.
type Provider interface {
	Stream(ctx context.Context, req Request) iter.Seq2[string, error]
}

// ProviderFunc turns a function into a Provider, for tests and adapters.
type ProviderFunc func(ctx context.Context, req Request) iter.Seq2[string, error]

// Stream calls f.
func (f ProviderFunc) Stream(ctx context.Context, req Request) iter.Seq2[string, error] {
	return f(ctx, req)
}

// ErrBlocked is wrapped by provider errors that mean the model refused or was
// stopped by its own safety filter (a blocked prompt or a SAFETY finish). The
// Service withholds the answer instead of reporting an outage.
var ErrBlocked = errors.New("tutor: answer blocked by the model's safety filter")
