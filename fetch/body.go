package fetch

import (
	"fmt"
	"io"

	"github.com/optio-edu/optio"
)

// limitedBody passes a response body through until max bytes, then fails
// with ETOOLARGE instead of silently truncating. A body of exactly max bytes
// reads to EOF.
type limitedBody struct {
	rc    io.ReadCloser
	left  int64
	max   int64
	where string
	err   error
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1] // one byte past the limit tells "too large" from "exactly max"
	}
	n, err := b.rc.Read(p)
	if int64(n) > b.left {
		n = int(b.left)
		b.left = 0
		b.err = fmt.Errorf("fetch %s: read body: %w", b.where, tooLarge(b.max))
		return n, b.err
	}
	b.left -= int64(n)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("fetch %s: read body: %w: %w", b.where,
			optio.Errorf(optio.EUNAVAILABLE, "the download was interrupted"), err)
	}
	return n, err
}

func (b *limitedBody) Close() error {
	return b.rc.Close()
}

func tooLarge(max int64) *optio.Error {
	return optio.Errorf(optio.ETOOLARGE, "the file is larger than the %s download limit", optio.FormatBytes(max))
}
