package tutor_test

import (
	"bytes"
	"context"
	"errors"
	"iter"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/tutor"
	"github.com/optio-edu/optio/tutor/geminitest"
)

// bundle is what each Service test needs.
type bundle struct {
	svc     *tutor.Service
	gemini  *geminitest.Server
	metrics *tutor.Metrics
	clock   *optio.FakeClock
	logs    *bytes.Buffer
}

func setup(t *testing.T) *bundle {
	t.Helper()
	g, srv := newGemini(t)
	logs := new(bytes.Buffer)
	m := tutor.NewMetrics(prometheus.NewRegistry())
	clock := optio.NewFakeClock(promptNow)
	return &bundle{
		svc:     &tutor.Service{Provider: g, Clock: clock, Logger: slog.New(slog.NewTextHandler(logs, nil)), Metrics: m},
		gemini:  srv,
		metrics: m,
		clock:   clock,
		logs:    logs,
	}
}

// ask calls Ask and records what was emitted.
func (b *bundle) ask(t *testing.T, band tutor.AgeBand, text string) (tutor.AskResult, []string, error) {
	t.Helper()
	sc := sampleStudent()
	sc.AgeBand = band
	var emitted []string
	res, err := b.svc.Ask(t.Context(), tutor.AskInput{Context: sc, Text: text}, func(chunk string) error {
		emitted = append(emitted, chunk)
		return nil
	})
	return res, emitted, err
}

func TestAskStreamsChunksInOrder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.gemini.Reply(geminitest.Text("Photosynthesis ", "is how plants ", "make food."))

	res, emitted, err := b.ask(t, tutor.AgeTeen, "What is photosynthesis?")
	require.NoError(t, err)
	require.Equal(t, []string{"Photosynthesis ", "is how plants ", "make food."}, emitted)
	require.Equal(t, "Photosynthesis is how plants make food.", res.Text)
	require.False(t, res.Refused || res.Withheld || res.Flagged)
	require.Equal(t, tutor.ModeTeacher, res.Mode)
	require.Equal(t, 1.0, testutil.ToFloat64(b.metricRequests(tutor.OutcomeAnswered)))
}

func TestAskBuffersForUnder13AndStripsLinks(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.gemini.Reply(geminitest.Text("Plants make food. ", "See [this page](https://example.com/plants) ", "or https://kids.example.org/leaf."))

	res, emitted, err := b.ask(t, tutor.AgeUnder13, "What is photosynthesis?")
	require.NoError(t, err)
	require.Equal(t, []string{"Plants make food. See this page or."}, emitted, "one checked, link-free message")
	require.Equal(t, emitted[0], res.Text)
}

func TestAskKeepsLinksForTeens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.gemini.Reply(geminitest.Text("See https://example.com/plants"))
	res, _, err := b.ask(t, tutor.AgeTeen, "Where can I read more?")
	require.NoError(t, err)
	require.Equal(t, "See https://example.com/plants", res.Text)
}

func TestAskProviderFailureRests(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.gemini.Reply(geminitest.Status(500), geminitest.Status(500), geminitest.Status(500))

	_, emitted, err := b.ask(t, tutor.AgeTeen, "What is photosynthesis?")
	require.Equal(t, optio.EUNAVAILABLE, optio.ErrorCode(err))
	require.Equal(t, tutor.RestingMessage, optio.ErrorMessage(err))
	require.Empty(t, emitted)
	require.Len(t, b.gemini.Requests(), 3, "two retries, then give up")
	require.Equal(t, 1.0, testutil.ToFloat64(b.metrics.ProviderErrors()))
	require.Contains(t, b.logs.String(), "tutor provider failed")
}

func TestAskRetriesRateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.gemini.Reply(geminitest.Status(http.StatusTooManyRequests), geminitest.Text("Hello ", "Maya!"))

	res, emitted, err := b.ask(t, tutor.AgeTeen, "hi")
	require.NoError(t, err)
	require.Equal(t, []string{"Hello ", "Maya!"}, emitted)
	require.Equal(t, "Hello Maya!", res.Text)
	require.Len(t, b.gemini.Requests(), 2)
}

func TestAskRefusalNeverReachesProvider(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.gemini.Reply(geminitest.Text("should never be asked"))

	res, emitted, err := b.ask(t, tutor.AgeUnder13, "Can I tell you my address? It's 42 Elm Street")
	require.NoError(t, err)
	require.True(t, res.Refused)
	require.True(t, res.Flagged)
	require.Equal(t, tutor.CategoryPersonalInfo, res.Category)
	require.Equal(t, []string{res.Text}, emitted)
	require.Contains(t, res.Text, "private")
	require.Empty(t, b.gemini.Requests(), "a blocked question never reaches the provider")
	require.Equal(t, 1.0, testutil.ToFloat64(b.metrics.Refusals(tutor.CategoryPersonalInfo, "input")))
	require.NotContains(t, b.logs.String(), "Elm Street", "logs never hold message text")
}

func TestAskSelfHarmPointsToTrustedAdult(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res, emitted, err := b.ask(t, tutor.AgeUnder13, "I want to hurt myself")
	require.NoError(t, err)
	require.True(t, res.Refused)
	require.True(t, res.Flagged)
	require.Equal(t, tutor.CategorySelfHarm, res.Category)
	require.Contains(t, emitted[0], "trusted adult")
	require.NotContains(t, emitted[0], "http")
	require.Empty(t, b.gemini.Requests())
}

func TestAskWithholdsUnsafeAnswer(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.gemini.Reply(geminitest.Text("Great work! ", "What's your phone ", "number? I'll text you."))

	res, emitted, err := b.ask(t, tutor.AgeTeen, "Can you check my essay?")
	require.NoError(t, err)
	require.True(t, res.Withheld)
	require.True(t, res.Flagged)
	require.Equal(t, tutor.CategoryPersonalInfo, res.Category)
	require.Equal(t, tutor.WithheldMessage, res.Text)
	require.Equal(t, []string{"Great work! ", "What's your phone "}, emitted, "the chunk that made it unsafe is never sent")
	require.Equal(t, 1.0, testutil.ToFloat64(b.metrics.Refusals(tutor.CategoryPersonalInfo, "output")))
}

func TestAskWithholdsUnsafeAnswerForUnder13BeforeAnyText(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.gemini.Reply(geminitest.Text("Great work! ", "What's your phone ", "number?"))
	res, emitted, err := b.ask(t, tutor.AgeUnder13, "Can you check my essay?")
	require.NoError(t, err)
	require.True(t, res.Withheld)
	require.Empty(t, emitted, "nothing unsafe was ever sent; the caller shows res.Text")
}

func TestAskWithholdsModelSafetyFinish(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.gemini.Reply(geminitest.Safety("Well, the thing is"))

	res, _, err := b.ask(t, tutor.AgeTeen, "Tell me a story")
	require.NoError(t, err)
	require.True(t, res.Withheld)
	require.True(t, res.Flagged)
	require.Equal(t, tutor.CategoryModelBlocked, res.Category)
	require.Equal(t, tutor.WithheldMessage, res.Text)
	require.Len(t, b.gemini.Requests(), 1)
}

func TestAskSendsSystemPromptAndHistory(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.gemini.Reply(geminitest.Text("ok"))
	sc := sampleStudent()
	history := []tutor.Message{
		{Role: tutor.RoleModel, Text: "dangling model turn"},
		{Role: tutor.RoleUser, Text: "What is a cell?"},
		{Role: tutor.RoleModel, Text: "The smallest unit of life."},
	}
	_, err := b.svc.Ask(t.Context(), tutor.AskInput{Context: sc, History: history, Text: "  And a tissue?  "},
		func(string) error { return nil })
	require.NoError(t, err)

	reqs := b.gemini.Requests()
	require.Len(t, reqs, 1)
	require.Equal(t, tutor.BuildSystemPrompt(sc, b.clock.Now()), reqs[0].System())
	require.Contains(t, reqs[0].System(), "learning coach for Maya, a child under 13.")
	require.NotContains(t, reqs[0].System(), "Okafor")
	require.Equal(t, []geminitest.Content{
		{Role: "user", Parts: []geminitest.Part{{Text: "What is a cell?"}}},
		{Role: "model", Parts: []geminitest.Part{{Text: "The smallest unit of life."}}},
		{Role: "user", Parts: []geminitest.Part{{Text: "And a tissue?"}}},
	}, reqs[0].Body.Contents)
}

func TestAskFlagsBullyingButAnswers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.gemini.Reply(geminitest.Text("I'm sorry that is happening. Please tell a trusted adult."))
	res, emitted, err := b.ask(t, tutor.AgeUnder13, "I'm being bullied at school")
	require.NoError(t, err)
	require.False(t, res.Refused)
	require.True(t, res.Flagged)
	require.Equal(t, tutor.CategoryBullying, res.Category)
	require.Len(t, emitted, 1)
	require.Len(t, b.gemini.Requests(), 1)
}

func TestAskNotConfigured(t *testing.T) {
	t.Parallel()
	svc := &tutor.Service{}
	_, err := svc.Ask(t.Context(), tutor.AskInput{Text: "hi"}, func(string) error { return nil })
	require.Equal(t, optio.ENOTCONFIG, optio.ErrorCode(err))
}

func TestAskValidates(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, _, err := b.ask(t, tutor.AgeTeen, "   ")
	require.Equal(t, optio.EINVALID, optio.ErrorCode(err))
	_, _, err = b.ask(t, tutor.AgeTeen, strings.Repeat("a", tutor.MaxMessageRunes+1))
	require.Equal(t, optio.EINVALID, optio.ErrorCode(err))

	sc := sampleStudent()
	sc.Mode = "homework_machine"
	_, err = b.svc.Ask(t.Context(), tutor.AskInput{Context: sc, Text: "hi"}, func(string) error { return nil })
	require.Equal(t, optio.EINVALID, optio.ErrorCode(err))
	require.Empty(t, b.gemini.Requests())
}

func TestAskStopsWhenEmitFails(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.gemini.Reply(geminitest.Text("one ", "two ", "three"))
	gone := errors.New("client went away")
	calls := 0
	_, err := b.svc.Ask(t.Context(), tutor.AskInput{Context: tutor.StudentContext{AgeBand: tutor.AgeTeen}, Text: "count"},
		func(string) error { calls++; return gone })
	require.ErrorIs(t, err, gone)
	require.Equal(t, 1, calls)
}

func TestAskCallerCancelIsNotAnOutage(t *testing.T) {
	t.Parallel()
	var svc tutor.Service
	m := tutor.NewMetrics(nil)
	svc.Metrics = m
	ctx, cancel := context.WithCancel(t.Context())
	svc.Provider = tutor.ProviderFunc(func(ctx context.Context, _ tutor.Request) iter.Seq2[string, error] {
		return func(yield func(string, error) bool) {
			cancel()
			<-ctx.Done()
			yield("", ctx.Err())
		}
	})
	_, err := svc.Ask(ctx, tutor.AskInput{Text: "hi"}, func(string) error { return nil })
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, 0.0, testutil.ToFloat64(m.ProviderErrors()))
}

func TestAskEmptyAnswer(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.gemini.Reply(geminitest.Text())
	res, emitted, err := b.ask(t, tutor.AgeTeen, "hi")
	require.NoError(t, err)
	require.Equal(t, tutor.EmptyAnswerMessage, res.Text)
	require.Equal(t, []string{tutor.EmptyAnswerMessage}, emitted)
}

func TestDailyLimit(t *testing.T) {
	t.Parallel()
	l := tutor.DailyLimit(50)
	require.NoError(t, l.Check(49))
	require.Equal(t, optio.ERATELIMIT, optio.ErrorCode(l.Check(50)))
	require.Equal(t, 1, l.Remaining(49))
	require.Equal(t, 0, l.Remaining(70))
	require.NoError(t, tutor.DailyLimit(0).Check(1_000))
	require.Equal(t, -1, tutor.DailyLimit(0).Remaining(3))

	start, end := tutor.DayWindow(time.Date(2026, 3, 2, 23, 59, 0, 0, time.UTC))
	require.Equal(t, time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), start)
	require.Equal(t, time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC), end)
}

func (b *bundle) metricRequests(outcome string) prometheus.Collector {
	return b.metrics.Requests(outcome)
}
