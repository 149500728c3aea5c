package web_test

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/optio-edu/optio/store/storetest"
)

// BenchmarkSubmissionWebhook measures accepted submission webhooks per second
// and their p99 latency over HTTP, with concurrent senders, on each store.
// Each delivery is a new id for one of 500 students over 20 assignments (so
// both first submissions and resubmissions occur). Run with
//
//	go test ./web -run '^$' -bench SubmissionWebhook -benchtime 2000x
func BenchmarkSubmissionWebhook(b *testing.B) {
	for _, d := range storetest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			h := setupHooks(b, d, map[string]string{"SPARK_WEBHOOK_RATE": "1000000", "SPARK_WEBHOOK_BURST": "1000000"})
			http.DefaultTransport.(*http.Transport).MaxIdleConnsPerHost = 64
			bodies := make([][]byte, 500*20)
			for i := range bodies {
				bodies[i] = encode(submission(fmt.Sprintf("stu-%d", i%500), fmt.Sprintf("asg-%d", i/500), "crs-1", "Benchmark essay"))
			}
			var (
				mu        sync.Mutex
				latencies []time.Duration
				next      atomic.Int64
				failed    atomic.Int64
			)
			b.SetParallelism(4)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				for pb.Next() {
					i := next.Add(1)
					t0 := time.Now()
					a := h.sendAs("submission", fmt.Sprintf("bench-%d", i), time.Now(), h.signer, bodies[int(i)%len(bodies)])
					mine = append(mine, time.Since(t0))
					if a.Status != http.StatusAccepted {
						failed.Add(1)
					}
				}
				mu.Lock()
				latencies = append(latencies, mine...)
				mu.Unlock()
			})
			elapsed := time.Since(start)
			b.StopTimer()
			if n := failed.Load(); n > 0 {
				b.Fatalf("%d deliveries were not accepted", n)
			}
			slices.Sort(latencies)
			p99 := latencies[min(len(latencies)-1, len(latencies)*99/100)]
			b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "webhooks/s")
			b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
		})
	}
}
