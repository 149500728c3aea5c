package filestore

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"io"
	"runtime/debug"
	"sync"
	"time"

	"github.com/klippa-app/go-pdfium"
	"github.com/klippa-app/go-pdfium/requests"
	"github.com/klippa-app/go-pdfium/webassembly"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// Bounds on the work one PDF thumbnail may take. Only the first page is
// ever rendered (PDFium parses pages lazily, so a 900-page file costs what
// its first page costs), into at most ThumbSide pixels a side.
const (
	// maxPDFThumbBytes: larger PDFs keep their card; the file is copied
	// into the renderer's memory whole.
	maxPDFThumbBytes = 32 << 20
	// pdfMemoryPages caps PDFium's WebAssembly memory (64 KiB pages: 512 MB),
	// so a decompression bomb fails instead of taking the host's memory.
	pdfMemoryPages = 8192
	// pdfRenderTimeout stops a page that takes longer (a crafted file); the
	// renderer is discarded and made again for the next PDF.
	pdfRenderTimeout = 20 * time.Second
	// pdfIdleClose is how long the renderer stays loaded after its last
	// page; then it is closed and its memory handed back to the system.
	pdfIdleClose = time.Minute
)

// pdfRenderer renders PDF pages with PDFium compiled to WebAssembly and run
// by wazero's interpreter (pure Go, no cgo, no files: PDFium sees no file
// system). Loading it takes about two seconds and ~180 MB, so it is loaded on
// the first PDF a process needs a thumbnail of, renders one page at a time,
// and is closed again after pdfIdleClose: an idle server holds none of it.
// The interpreter, not wazero's compiler: compiling PDFium takes ~11 s and
// ~320 MB, for pages the interpreter renders in about half a second.
type pdfRenderer struct {
	mu     sync.Mutex // one page at a time; guards the fields below
	pool   pdfium.Pool
	cancel context.CancelFunc // aborts whatever the pool is running
	idle   *time.Timer
}

var pdfPages pdfRenderer

// firstPage renders page 1 of the PDF in data to fit side×side pixels, on
// a white background.
func (p *pdfRenderer) firstPage(ctx context.Context, data []byte, side int) (image.Image, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.idle != nil {
		p.idle.Stop()
	}
	if p.pool == nil {
		if err := p.load(); err != nil {
			return nil, err
		}
	}
	// A page over its time, or a caller that gave up, aborts the renderer
	// mid-call (wazero closes the module when its context ends).
	timer := time.AfterFunc(pdfRenderTimeout, p.cancel)
	stop := context.AfterFunc(ctx, p.cancel)
	img, err := p.render(data, side)
	timedOut := !timer.Stop()
	cancelled := !stop()
	if timedOut || cancelled {
		p.unload()
		if timedOut {
			return nil, fmt.Errorf("rendering took longer than %s", pdfRenderTimeout)
		}
		return nil, context.Cause(ctx)
	}
	if err != nil {
		// PDFium keeps no state between documents worth saving after a
		// failure; start clean.
		p.unload()
		return nil, err
	}
	p.idle = time.AfterFunc(pdfIdleClose, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.unload()
	})
	return img, nil
}

// load starts PDFium. Callers hold p.mu.
func (p *pdfRenderer) load() error {
	ctx, cancel := context.WithCancel(context.Background())
	pool, err := webassembly.Init(webassembly.Config{
		Context: ctx, MinIdle: 0, MaxIdle: 1, MaxTotal: 1, ReuseWorkers: true,
		FSConfig: wazero.NewFSConfig(), Stdout: io.Discard, Stderr: io.Discard,
		RuntimeConfig: wazero.NewRuntimeConfigInterpreter().
			WithCoreFeatures(api.CoreFeaturesV2 | experimental.CoreFeaturesExceptionHandling).
			WithMemoryLimitPages(pdfMemoryPages).
			WithCloseOnContextDone(true),
	})
	if err != nil {
		cancel()
		return fmt.Errorf("load PDFium: %w", err)
	}
	p.pool, p.cancel = pool, cancel
	return nil
}

// unload closes PDFium and returns its memory to the system. Callers hold
// p.mu.
func (p *pdfRenderer) unload() {
	if p.pool == nil {
		return
	}
	p.cancel()
	_ = p.pool.Close()
	p.pool, p.cancel = nil, nil
	debug.FreeOSMemory()
}

// render opens data and draws its first page. Callers hold p.mu.
func (p *pdfRenderer) render(data []byte, side int) (image.Image, error) {
	inst, err := p.pool.GetInstance(pdfRenderTimeout)
	if err != nil {
		return nil, err
	}
	defer inst.Close()
	doc, err := inst.OpenDocument(&requests.OpenDocument{File: &data})
	if err != nil {
		return nil, err
	}
	defer inst.FPDF_CloseDocument(&requests.FPDF_CloseDocument{Document: doc.Document})
	r, err := inst.RenderPageInPixels(&requests.RenderPageInPixels{
		Page:  requests.Page{ByIndex: &requests.PageByIndex{Document: doc.Document, Index: 0}},
		Width: side, Height: side,
	})
	if err != nil {
		return nil, err
	}
	defer r.Cleanup()
	src := r.Result.RenderedImage
	if src == nil || src.Bounds().Empty() {
		return nil, errors.New("the first page is empty")
	}
	// The pixels live in PDFium's memory until Cleanup: copy them out,
	// onto white (a transparent page would turn black in a JPEG).
	out := image.NewRGBA(src.Bounds())
	draw.Draw(out, out.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(out, out.Bounds(), src, src.Bounds().Min, draw.Over)
	return out, nil
}
