package filestore_test

import (
	"context"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio/internal/s3test"
)

// textReader produces n bytes of plain text without ever holding them: the
// memory test must not be the thing that allocates the file.
type textReader struct {
	n    int64
	line []byte
	pos  int
}

func (r *textReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.n {
		p = p[:r.n]
	}
	w := 0
	for w < len(p) {
		c := copy(p[w:], r.line[r.pos:])
		w += c
		r.pos = (r.pos + c) % len(r.line)
	}
	r.n -= int64(w)
	return w, nil
}

func TestPutStreamsWithoutGrowingMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 400 MB to disk")
	}
	// Not parallel: it measures the heap of the whole process. On the file
	// driver only: the S3 server under test (s3test) keeps objects in this
	// same process's memory, so the heap would grow by the file's size
	// whatever Put does.
	s, ctx := setup(t, s3test.NewURL(t, "file")), context.Background()
	const size = 200 << 20

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse

	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})

	obj, err := s.Put(ctx, &textReader{n: size, line: []byte("A line of a very long essay about rivers.\n")}, "long.txt", size)
	close(done)
	wg.Wait()
	require.NoError(t, err)
	require.Equal(t, int64(size), obj.Size)

	growth := int64(peak.Load()) - int64(base)
	t.Logf("heap in use grew by %d KB while storing %d MB", growth>>10, size>>20)
	require.Less(t, growth, int64(32<<20), "Put must stream, not buffer")
}
