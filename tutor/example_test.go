package tutor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/tutor"
)

// handleTutorAsk shows how a web handler streams Service.Ask as server-sent
// events. The real one also authenticates, checks the daily limit against
// the store, loads the student's context and history, and stores the
// exchange (with res.Flagged and res.Category for the parent view).
func handleTutorAsk(svc *tutor.Service, load func(*http.Request) tutor.StudentContext) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Text string `json:"text"`
			Mode string `json:"mode"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		sc := load(r)
		sc.Mode = tutor.Mode(body.Mode) // Ask validates it

		started := false
		rc := http.NewResponseController(w)
		send := func(event string, v any) error {
			if !started {
				started = true
				w.Header().Set("Content-Type", "text/event-stream")
				w.Header().Set("Cache-Control", "no-cache")
				w.Header().Set("X-Accel-Buffering", "no")
			}
			b, err := json.Marshal(v)
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b); err != nil {
				return err
			}
			return rc.Flush()
		}

		res, err := svc.Ask(r.Context(), tutor.AskInput{Context: sc, Text: body.Text}, func(chunk string) error {
			return send("chunk", map[string]string{"text": chunk})
		})
		switch {
		case err != nil && !started:
			// Nothing streamed yet: an ordinary error response (the web
			// package's Error maps codes to statuses).
			status := map[string]int{optio.EINVALID: 400, optio.ENOTCONFIG: 503, optio.EUNAVAILABLE: 503}[optio.ErrorCode(err)]
			if status == 0 {
				status = 500
			}
			http.Error(w, optio.ErrorMessage(err), status)
			return
		case err != nil:
			_ = send("error", map[string]string{"code": optio.ErrorCode(err), "message": optio.ErrorMessage(err)})
			return
		case res.Withheld:
			// Replace whatever was shown with the safe message.
			_ = send("withheld", map[string]string{"text": res.Text})
		}
		_ = send("done", map[string]bool{"refused": res.Refused, "withheld": res.Withheld})
	}
}

func Example_sseHandler() {
	answer := []string{"Photosynthesis ", "turns light ", "into food."}
	svc := &tutor.Service{Provider: tutor.ProviderFunc(func(context.Context, tutor.Request) iter.Seq2[string, error] {
		return func(yield func(string, error) bool) {
			for _, c := range answer {
				if !yield(c, nil) {
					return
				}
			}
		}
	})}
	h := handleTutorAsk(svc, func(*http.Request) tutor.StudentContext {
		return tutor.StudentContext{FirstName: "Maya", AgeBand: tutor.AgeTeen}
	})

	rec := httptest.NewRecorder()
	h(rec, httptest.NewRequest(http.MethodPost, "/api/tutor/messages", strings.NewReader(`{"text":"What is photosynthesis?"}`)))
	fmt.Print(rec.Body.String())
	// Output:
	// event: chunk
	// data: {"text":"Photosynthesis "}
	//
	// event: chunk
	// data: {"text":"turns light "}
	//
	// event: chunk
	// data: {"text":"into food."}
	//
	// event: done
	// data: {"refused":false,"withheld":false}
}
