package tutor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/optio-edu/optio"
)

// Messages the student sees when the tutor cannot answer normally.
const (
	// RestingMessage is shown when the AI provider fails or times out.
	RestingMessage = "The tutor is resting right now — please try again in a few minutes."
	// NotConfiguredMessage is shown when the server has no AI provider.
	NotConfiguredMessage = "The AI tutor is not set up on this server yet."
	// EmptyAnswerMessage replaces an answer the model finished without text.
	EmptyAnswerMessage = "I'm not sure how to answer that. Could you ask it a different way?"
)

// Limits on what Ask accepts and sends.
const (
	// MaxMessageRunes caps one student message.
	MaxMessageRunes = 2000
	// DefaultMaxHistory is how many earlier turns are sent when
	// Service.MaxHistory is 0.
	DefaultMaxHistory = 20
)

// Service answers a student's question: it checks the question, asks the
// provider with a system prompt built from the student's context, checks the
// answer and streams it. Every field may be left zero; a nil Provider means
// the tutor is not configured.
type Service struct {
	// Provider produces answers; nil makes Ask fail with ENOTCONFIG.
	Provider Provider
	// Clock dates the system prompt; nil means optio.SystemClock.
	Clock optio.Clock
	// Logger records outcomes, never message text; nil discards.
	Logger *slog.Logger
	// Metrics counts outcomes; nil counts nothing. See NewMetrics.
	Metrics *Metrics
	// MaxOutputTokens caps an answer; 0 leaves it to the provider.
	MaxOutputTokens int
	// MaxHistory is how many earlier turns are sent; 0 means DefaultMaxHistory.
	MaxHistory int
}

// AskInput is one question with what the tutor needs to answer it. The
// caller loads Context and History from the store.
type AskInput struct {
	Context StudentContext
	// History is the conversation so far, oldest first, as the student saw it
	// (withheld answers as their replacement text).
	History []Message
	// Text is the student's new message.
	Text string
}

// AskResult is the outcome of Ask, for the caller to store and to finish the
// response with.
type AskResult struct {
	// Text is the answer as the student should finally see it: the model's
	// answer, a refusal, or WithheldMessage.
	Text string
	// Refused means the question failed the input check; the provider was
	// not called and Text is the refusal, already emitted.
	Refused bool
	// Withheld means the answer failed the output check (or the model's own
	// filter). Text is WithheldMessage and was not emitted: the caller must
	// show it in place of anything already streamed.
	Withheld bool
	// Flagged means parents should see this exchange.
	Flagged bool
	// Category and Reason say what a safety check found, "" when nothing.
	Category string
	Reason   string
	// Mode is the conversation mode used.
	Mode Mode
}

// Ask answers one question, calling emit with each piece of text the student
// should see, in order. Streaming depends on the age band: for under-13s the
// whole answer is buffered, checked and stripped of links, then emitted once;
// for older students chunks are emitted as they arrive, the answer so far is
// checked before each chunk, and an answer that fails stops at once and comes
// back Withheld, so the caller replaces what was shown.
//
// Errors: an *optio.Error with ENOTCONFIG (no provider), EINVALID (empty or
// overlong text, unknown mode) or EUNAVAILABLE (provider failure, message
// RestingMessage); ctx's error if the caller went away; emit's error,
// wrapped, if emit failed. A refusal or a withheld answer is not an error.
func (s *Service) Ask(ctx context.Context, in AskInput, emit func(chunk string) error) (AskResult, error) {
	log := s.logger()
	if s.Provider == nil {
		s.Metrics.outcome(OutcomeNotConfigured)
		return AskResult{}, optio.Errorf(optio.ENOTCONFIG, NotConfiguredMessage)
	}
	sc := in.Context
	sc.AgeBand = sc.AgeBand.Normalize()
	mode, err := ParseMode(string(sc.Mode))
	if err != nil {
		s.Metrics.outcome(OutcomeInvalid)
		return AskResult{}, err
	}
	sc.Mode = mode
	text, err := CheckText(in.Text)
	if err != nil {
		s.Metrics.outcome(OutcomeInvalid)
		return AskResult{}, err
	}
	band := sc.AgeBand
	res := AskResult{Mode: mode}
	attrs := []any{slog.String("band", string(band)), slog.String("mode", string(mode))}

	// The question.
	if v := CheckInput(text, band); !v.Allowed {
		res.Refused, res.Flagged, res.Category, res.Reason, res.Text = true, v.Flag, v.Category, v.Reason, v.Message
		s.Metrics.refusal(v.Category, "input")
		s.Metrics.outcome(OutcomeRefused)
		log.Info("tutor refused a question", append(attrs, slog.String("category", v.Category), slog.Bool("flagged", v.Flag))...)
		if err := emit(v.Message); err != nil {
			return res, fmt.Errorf("tutor: send refusal: %w", err)
		}
		return res, nil
	} else if v.Flag {
		res.Flagged, res.Category, res.Reason = true, v.Category, v.Reason
	}

	// The answer.
	req := Request{
		System:          BuildSystemPrompt(sc, s.now()),
		History:         trimHistory(in.History, s.maxHistory()),
		Prompt:          text,
		MaxOutputTokens: s.MaxOutputTokens,
	}
	buffer := band == AgeUnder13
	var answer strings.Builder
	var unsafe *Verdict
	var perr error
	start := time.Now()
	for chunk, err := range s.Provider.Stream(ctx, req) {
		if err != nil {
			perr = err
			break
		}
		// What cannot be stored as text (a NUL, invalid UTF-8) is never
		// shown either.
		chunk = strings.ReplaceAll(strings.ToValidUTF8(chunk, "\uFFFD"), "\x00", "")
		answer.WriteString(chunk)
		if v := CheckOutput(answer.String(), band); !v.Allowed {
			unsafe = &v
			break
		}
		if !buffer {
			if err := emit(chunk); err != nil {
				res.Text = answer.String()
				return res, fmt.Errorf("tutor: send answer: %w", err)
			}
		}
	}
	s.Metrics.observe(time.Since(start))

	final := answer.String()
	if buffer && unsafe == nil && perr == nil {
		// Removing links can join words into what the check refuses ("ways
		// to kill <link> yourself"), so the text to be shown is checked again.
		final = StripLinks(final)
		if v := CheckOutput(final, band); !v.Allowed {
			unsafe = &v
		}
	}
	if unsafe == nil && errors.Is(perr, ErrBlocked) {
		unsafe = &Verdict{Category: CategoryModelBlocked, Reason: "the model's safety filter stopped the answer"}
	}
	switch {
	case unsafe != nil:
		res.Withheld, res.Flagged, res.Category, res.Reason, res.Text = true, true, unsafe.Category, unsafe.Reason, WithheldMessage
		s.Metrics.refusal(unsafe.Category, "output")
		s.Metrics.outcome(OutcomeWithheld)
		log.Info("tutor withheld an answer", append(attrs, slog.String("category", unsafe.Category))...)
		return res, nil
	case perr != nil && ctx.Err() != nil:
		s.Metrics.outcome(OutcomeCanceled)
		res.Text = answer.String()
		return res, fmt.Errorf("tutor: %w", ctx.Err())
	case perr != nil:
		s.Metrics.providerError()
		s.Metrics.outcome(OutcomeUnavailable)
		log.Warn("tutor provider failed", append(attrs, slog.Any("err", perr), slog.Bool("partial", answer.Len() > 0))...)
		res.Text = answer.String()
		return res, fmt.Errorf("%w: %w", optio.Errorf(optio.EUNAVAILABLE, RestingMessage), perr)
	}

	if strings.TrimSpace(final) == "" {
		final, buffer = EmptyAnswerMessage, true
	}
	res.Text = final
	s.Metrics.outcome(OutcomeAnswered)
	if buffer {
		if err := emit(final); err != nil {
			return res, fmt.Errorf("tutor: send answer: %w", err)
		}
	}
	return res, nil
}

// CheckText validates a student's message and returns it trimmed: 1 to
// MaxMessageRunes characters of UTF-8 without NUL, else an EINVALID
// *optio.Error naming the field "text".
func CheckText(text string) (string, error) {
	text = strings.TrimSpace(text)
	problem := ""
	switch {
	case text == "" || utf8.RuneCountInString(text) > MaxMessageRunes:
		problem = fmt.Sprintf("must be 1 to %d characters", MaxMessageRunes)
	case !optio.ValidText(text):
		problem = optio.InvalidTextProblem
	default:
		return text, nil
	}
	return "", &optio.Error{Code: optio.EINVALID, Message: "Please write a message for the tutor.", Fields: map[string]string{"text": problem}}
}

// trimHistory keeps the last n usable turns, starting with a student turn as
// Gemini expects.
func trimHistory(h []Message, n int) []Message {
	out := make([]Message, 0, min(len(h), n))
	for _, m := range h {
		if (m.Role == RoleUser || m.Role == RoleModel) && strings.TrimSpace(m.Text) != "" {
			out = append(out, m)
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	for len(out) > 0 && out[0].Role != RoleUser {
		out = out[1:]
	}
	return out
}

func (s *Service) now() time.Time {
	if s.Clock == nil {
		return optio.SystemClock{}.Now()
	}
	return s.Clock.Now()
}

func (s *Service) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func (s *Service) maxHistory() int {
	if s.MaxHistory <= 0 {
		return DefaultMaxHistory
	}
	return s.MaxHistory
}
