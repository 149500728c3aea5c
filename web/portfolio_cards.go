package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"html/template"
	"reflect"
	"time"

	"github.com/optio-edu/optio"
)

// cardKey names the rendering of one card (a piece of work as a portfolio
// page shows it) by everything the card shows: the SHA-256 of the workItem
// as the viewer may see it. A change to any part of it (a new comment, a
// block made private, a thumbnail made) is a different key, so a kept card
// is never out of date and needs no version; when one piece of work changes,
// the next rendering of its page renders that card again and reuses the
// others. The item is walked by reflection, so a field added to workItem or
// evidenceView later is part of the key without anyone having to remember.
type cardKey [sha256.Size]byte

var timeType = reflect.TypeFor[time.Time]()

func keyOfCard(it *workItem, buf []byte) (cardKey, []byte) {
	buf = appendValue(buf[:0], reflect.ValueOf(it).Elem())
	return sha256.Sum256(buf), buf
}

// appendValue appends an unambiguous encoding of v: lengths before
// contents, a marker before what a pointer holds.
func appendValue(b []byte, v reflect.Value) []byte {
	switch v.Kind() {
	case reflect.String:
		b = binary.AppendUvarint(b, uint64(v.Len()))
		return append(b, v.String()...)
	case reflect.Bool:
		if v.Bool() {
			return append(b, 1)
		}
		return append(b, 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return binary.AppendVarint(b, v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return binary.AppendUvarint(b, v.Uint())
	case reflect.Pointer:
		if v.IsNil() {
			return append(b, 0)
		}
		return appendValue(append(b, 1), v.Elem())
	case reflect.Slice:
		b = binary.AppendUvarint(b, uint64(v.Len()))
		for i := range v.Len() {
			b = appendValue(b, v.Index(i))
		}
		return b
	case reflect.Struct:
		if v.Type() == timeType {
			t, err := v.Interface().(time.Time).MarshalBinary()
			if err != nil { // a zone offset that is not a whole minute
				t = []byte(v.Interface().(time.Time).String())
			}
			b = binary.AppendUvarint(b, uint64(len(t)))
			return append(b, t...)
		}
		for i := range v.NumField() {
			b = appendValue(b, v.Field(i))
		}
		return b
	}
	// A kind the walk does not know (a map, a func): refuse rather than
	// leave it out of the key. TestCardKeyCoversEveryField meets it first.
	panic(fmt.Sprintf("portfolio card key: cannot encode a %s", v.Type()))
}

// renderCards renders the card of every item of v into its Card, with the
// form's templates, reusing the kept rendering of a card when keep is set
// (never for an embed shown through a token: its file grants differ every
// time). It returns the cards' length, for the buffer of the page that holds
// them.
func (s *Server) renderCards(v *portfolioView, t *template.Template, keep bool) (int, error) {
	var buf bytes.Buffer
	var enc []byte
	var err error
	n := 0
	v.eachItem(func(it *workItem) {
		if err != nil {
			return
		}
		var k cardKey
		if keep {
			k, enc = keyOfCard(it, enc)
			if r, ok := s.portfolioCache.get(k, optio.PortfolioVersion{}); ok {
				it.Card = template.HTML(r.body) // html/template's output, kept
				n += len(it.Card)
				return
			}
		}
		buf.Reset()
		if err = t.ExecuteTemplate(&buf, "portfolio-item", it); err != nil {
			return
		}
		it.Card = template.HTML(buf.String()) // html/template's output
		n += len(it.Card)
		if keep {
			s.portfolioCache.put(k, &portfolioRender{body: string(it.Card)})
		}
	})
	return n, err
}
