package web

import (
	"container/list"
	"sync"

	"github.com/optio-edu/optio"
)

// portfolioKey names one rendering of a portfolio. Everything a rendering
// depends on besides the store's data is in it: which form (page, embed,
// json), how much the viewer may see, whether strangers may see it now (a
// minor's birthday opens a portfolio without any write), and the page number.
// The viewer's identity is not: the parts of a page that name the viewer
// (the layout's navigation) are rendered on every request.
type portfolioKey struct {
	studentID string
	form      string
	access    portfolioAccess
	public    bool
	page      int
}

// portfolioRender is a rendering and the store version it was rendered at.
// For the page, head and body are the fragments the layout places; for the
// embed and json, body is the whole answer.
type portfolioRender struct {
	version optio.PortfolioVersion
	head    string
	body    string
}

// portfolioEntrySize is the bookkeeping counted beside an entry's text.
const portfolioEntrySize = 256

func (r *portfolioRender) size() int64 {
	return int64(len(r.head) + len(r.body) + portfolioEntrySize)
}

// portfolioCache keeps recent portfolio renderings, least recently used
// dropped first, within a byte budget. An entry is used only while the
// store's version of the portfolio equals the one it was rendered at, so a
// change made by any process sharing the database is seen on the next
// request. It keeps the cards of the pages too (portfolio_cards.go): those
// are named by everything they show, so they need no version. A nil cache
// keeps nothing.
type portfolioCache struct {
	mu    sync.Mutex
	max   int64
	size  int64
	order *list.List            // of *portfolioEntry, most recently used first
	items map[any]*list.Element // by portfolioKey (a rendering) or cardKey (one card)
}

type portfolioEntry struct {
	key any
	r   *portfolioRender
}

// newPortfolioCache returns a cache of at most maxBytes, or nil when maxBytes
// is not positive.
func newPortfolioCache(maxBytes int64) *portfolioCache {
	if maxBytes <= 0 {
		return nil
	}
	return &portfolioCache{max: maxBytes, order: list.New(), items: map[any]*list.Element{}}
}

// get returns the rendering for k made at version v.
func (c *portfolioCache) get(k any, v optio.PortfolioVersion) (*portfolioRender, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return nil, false
	}
	e := el.Value.(*portfolioEntry)
	if e.r.version != v {
		return nil, false
	}
	c.order.MoveToFront(el)
	return e.r, true
}

// put keeps r for k, unless an entry rendered at a version at least as new
// is there already (a slower request finishing late must not replace a newer
// rendering). Entries larger than a quarter of the budget are not kept.
func (c *portfolioCache) put(k any, r *portfolioRender) {
	if c == nil || r.size() > c.max/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		e := el.Value.(*portfolioEntry)
		if e.r.version.Student >= r.version.Student && e.r.version.Global >= r.version.Global {
			c.order.MoveToFront(el)
			return
		}
		c.size += r.size() - e.r.size()
		e.r = r
		c.order.MoveToFront(el)
	} else {
		c.items[k] = c.order.PushFront(&portfolioEntry{key: k, r: r})
		c.size += r.size()
	}
	for c.size > c.max {
		el := c.order.Back()
		e := el.Value.(*portfolioEntry)
		c.order.Remove(el)
		delete(c.items, e.key)
		c.size -= e.r.size()
	}
}

// stats reports the renderings and cards held, and their bytes (tests).
func (c *portfolioCache) stats() (renderings, cards int, bytes int64) {
	if c == nil {
		return 0, 0, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.items {
		if _, ok := k.(cardKey); ok {
			cards++
		}
	}
	return len(c.items) - cards, cards, c.size
}
