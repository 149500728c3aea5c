package web

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// A card is kept by what it shows: when a piece of work changes (here an
// observer's comment on it, seen by the parent), its page shows the change at
// once, only that card is rendered again, and the others are reused; a
// stranger's view of the same work is a card of its own, without the comment.
func TestPortfolioCardsAreReusedUntilWhatTheyShowChanges(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		e := setupPortfolio(t, openStore(t, d))
		e.setVisibility(optio.VisibilityPublic)
		v := e.viewers()
		gran := storetest.MustCreateUser(t, e.db, optio.RoleObserver, "Gran", "Lee")
		e.linkObserver(gran, false)
		q := e.sparkQuest("c-1", "Biology", "Biology 101", 3)
		var done []*optio.CompletionView
		for i, task := range q.Tasks {
			e.clock.Advance(time.Minute)
			done = append(done, e.complete(task.ID, "spark",
				optio.BlockInput{BlockType: optio.BlockText, Content: optio.BlockContent{Text: fmt.Sprintf("Lab report %d", i)}}))
		}
		path := "/portfolio/" + e.student.PortfolioSlug
		cards := func() int {
			_, n, _ := e.srv.portfolioCache.stats()
			return n
		}
		page := func(c *http.Cookie) string {
			t.Helper()
			res := e.do("GET", path, c, nil)
			require.Equal(t, 200, res.Code)
			return res.Body.String()
		}

		body := page(v.parent)
		require.Equal(t, 3, countOf(body, `<article class="sc-card" id="work-`))
		require.Equal(t, 3, cards())
		page(v.parent)
		require.Equal(t, 3, cards(), "the same view again reuses every card")

		_, err := e.db.AddComment(context.Background(), done[1].Completion.ID, gran.ID, "Great <b>work</b> & more")
		require.NoError(t, err)
		body = page(v.parent)
		require.Contains(t, body, "Great &lt;b&gt;work&lt;/b&gt; &amp; more", "the changed card shows the comment, escaped")
		require.Equal(t, 3, countOf(body, `<article class="sc-card" id="work-`))
		require.Equal(t, 4, cards(), "only the changed card was rendered again")

		body = page(nil)
		require.NotContains(t, body, "Great &lt;b&gt;work", "a stranger never sees the comment")
		require.Equal(t, 4, cards(), "a stranger's cards are the parent's without comments: the ones from before the comment")
		for i := range 3 {
			require.Contains(t, body, fmt.Sprintf("Lab report %d", i))
		}
	})
}

// Every field of a card's item is part of its key: changing any one of them,
// however deep, gives another key. A field of a kind the key cannot encode
// (a map) fails here before a page could show a stale card.
func TestCardKeyCoversEveryField(t *testing.T) {
	t.Parallel()
	var it workItem
	seed := 0
	fill(reflect.ValueOf(&it).Elem(), &seed)
	base, _ := keyOfCard(&it, nil)
	leaves := 0
	eachLeaf(reflect.ValueOf(&it).Elem(), "workItem", func(path string, v reflect.Value) {
		leaves++
		old := reflect.New(v.Type()).Elem()
		old.Set(v)
		switch v.Kind() {
		case reflect.String:
			v.SetString(v.String() + "x")
		case reflect.Bool:
			v.SetBool(!v.Bool())
		case reflect.Int, reflect.Int64:
			v.SetInt(v.Int() + 1)
		case reflect.Struct: // time.Time
			v.Set(reflect.ValueOf(v.Interface().(time.Time).Add(time.Second)))
		default:
			t.Fatalf("%s: a %s the test cannot change", path, v.Type())
		}
		changed, _ := keyOfCard(&it, nil)
		require.NotEqual(t, base, changed, "changing %s leaves the card's key as it was", path)
		v.Set(old)
	})
	require.Greater(t, leaves, 40)
	again, _ := keyOfCard(&it, make([]byte, 0, 16))
	require.Equal(t, base, again)
}

// fill gives every field of v a value of its own.
func fill(v reflect.Value, seed *int) {
	*seed++
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprint("s", *seed))
	case reflect.Bool:
		v.SetBool(*seed%2 == 0)
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(*seed))
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), seed)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fill(v.Index(i), seed)
		}
	case reflect.Struct:
		if v.Type() == timeType {
			v.Set(reflect.ValueOf(time.Unix(int64(*seed)*1000, 0).UTC()))
			return
		}
		for i := range v.NumField() {
			fill(v.Field(i), seed)
		}
	case reflect.Interface: // template.HTML is a string; nothing else is expected
	default:
		panic(fmt.Sprintf("fill: a %s", v.Type()))
	}
}

// eachLeaf calls f with every string, bool, number and time in v.
func eachLeaf(v reflect.Value, path string, f func(string, reflect.Value)) {
	switch v.Kind() {
	case reflect.Pointer:
		eachLeaf(v.Elem(), path, f)
	case reflect.Slice:
		for i := range v.Len() {
			eachLeaf(v.Index(i), fmt.Sprintf("%s[%d]", path, i), f)
		}
	case reflect.Struct:
		if v.Type() == timeType {
			f(path, v)
			return
		}
		for i := range v.NumField() {
			eachLeaf(v.Field(i), path+"."+v.Type().Field(i).Name, f)
		}
	default:
		f(path, v)
	}
}
