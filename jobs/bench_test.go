package jobs_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/jobs"
	"github.com/optio-edu/optio/spark"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// pdfStream writes a PDF-looking body of n bytes without holding it:
// a PDF header, then filler lines that differ per seed (so blobs do not dedupe).
func pdfStream(w io.Writer, n int64, seed string) {
	bw := bufio.NewWriterSize(w, 64<<10)
	defer bw.Flush()
	head := "%PDF-1.4\n% " + seed + "\n"
	_, _ = bw.WriteString(head)
	line := []byte(strings.Repeat("0123456789abcdef", 4) + "\n")
	left := n - int64(len(head))
	for left > 0 {
		k := min(int64(len(line)), left)
		if _, err := bw.Write(line[:k]); err != nil {
			return
		}
		left -= k
	}
}

func streamServer(tb testing.TB, size int64) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		pdfStream(w, size, r.URL.Path)
	}))
	tb.Cleanup(srv.Close)
	return srv
}

// BenchmarkSyncLatency submits at a steady 50 per second, each with a 1 MB
// file, and reports the queue→evidence latency percentiles.
func BenchmarkSyncLatency(b *testing.B) {
	for _, d := range storetest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			db := storetest.Open(b, d, nil)
			bt := setup(b, db)
			files := streamServer(b, 1<<20)
			bt.runner(b, func(o *jobs.Options) { o.Workers = 16 })
			n := max(b.N, 100)
			ids := make([]string, 0, n)
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			b.ResetTimer()
			for i := range n {
				<-tick.C
				ids = append(ids, submit(b, db, fmt.Sprintf("bench-%d", i), time.Now(), "text",
					spark.SubmissionFile{URL: fmt.Sprintf("%s/f%d.pdf", files.URL, i), Type: "pdf", Filename: "f.pdf"}))
			}
			var lat []float64
			for _, id := range ids {
				row := waitStatus(b, db, id, optio.SyncCompleted)
				lat = append(lat, row.CompletedAt.Sub(row.CreatedAt).Seconds())
			}
			b.StopTimer()
			sort.Float64s(lat)
			b.ReportMetric(lat[len(lat)/2]*1000, "p50-ms")
			b.ReportMetric(lat[len(lat)*99/100]*1000, "p99-ms")
		})
	}
}

// BenchmarkSync1GBFile syncs one 1 GB file and reports the peak RSS seen
// while it streams (sampled every 10ms).
func BenchmarkSync1GBFile(b *testing.B) {
	db := storetest.Open(b, store.SQLite, nil)
	bt := setup(b, db)
	bt.cfg.SparkFileMaxBytes = 2 << 30
	files := streamServer(b, 1<<30)
	bt.runner(b, nil)
	base := rss(b)
	var peak atomic.Int64
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
				if v := rss(b); v > peak.Load() {
					peak.Store(v)
				}
			}
		}
	}()
	b.ResetTimer()
	for i := range b.N {
		id := submit(b, db, fmt.Sprintf("big-%d", i), time.Now(), "", spark.SubmissionFile{URL: files.URL + fmt.Sprintf("/big%d.pdf", i), Type: "pdf", Filename: "big.pdf"})
		waitStatusLong(b, db, id)
	}
	b.StopTimer()
	close(stop)
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-rss-MB")
	b.ReportMetric(float64(peak.Load()-base)/(1<<20), "rss-growth-MB")
}

func waitStatusLong(tb testing.TB, db *store.DB, id string) {
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		row, err := db.SyncQueueRowByID(context.Background(), id)
		require.NoError(tb, err)
		if row.Status == optio.SyncCompleted {
			return
		}
		require.NotEqual(tb, optio.SyncFailed, row.Status, row.ErrorMessage)
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatal("1 GB sync did not finish in 5 minutes")
}

// rss is the process's resident set size in bytes (Linux).
func rss(tb testing.TB) int64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Skip("no /proc/self/status")
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
