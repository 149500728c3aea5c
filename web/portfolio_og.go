package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/optio-edu/optio"
)

// The Open Graph picture is 1200×630, the size every link preview (Open
// Graph, Twitter's summary_large_image) shows without cropping.
const ogWidth, ogHeight = 1200, 630

// ogImagePath is where a portfolio's Open Graph picture is served.
func ogImagePath(slug string) string { return "/portfolio/" + url.PathEscape(slug) + "/og.png" }

// ogFacts are what the picture shows; a new rendering is made when they
// change (the key is the store's portfolio version).
type ogFacts struct {
	Name, Initials string
	XP             *optio.XPSummary
	Finished       int
	Badges         int
}

// handlePortfolioOGImage draws the link-preview picture of a portfolio
// strangers may see (public or link only, with consent when needed). Any
// other portfolio answers 404 to everyone, its owner included: the picture
// exists to be shared, so it is never made of a private page.
func (s *Server) handlePortfolioOGImage(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("slug")
	if slug == "" || len(slug) > 80 {
		s.Error(w, r, errPortfolioNotFound)
		return
	}
	student, ver, err := s.Store.PortfolioOwner(r.Context(), slug)
	if err != nil {
		if optio.ErrorCode(err) == optio.ENOTFOUND {
			err = errPortfolioNotFound
		}
		s.Error(w, r, err)
		return
	}
	if student.Role != optio.RoleStudent || !publiclyViewable(student, s.now()) {
		s.Error(w, r, errPortfolioNotFound)
		return
	}
	key := fmt.Sprintf("%s/%d/%d", student.ID, ver.Student, ver.Global)
	body, ok := s.ogImages.get(key)
	if !ok {
		f := ogFacts{Name: student.DisplayName(), Initials: studentInitials(student)}
		if f.XP, err = s.Store.XPSummary(r.Context(), student.ID); err != nil {
			s.Error(w, r, err)
			return
		}
		work, err := s.Store.PortfolioWork(r.Context(), student.ID, 1, 0)
		if err != nil {
			s.Error(w, r, err)
			return
		}
		f.Finished = work.Total
		if badges, err := s.badgeProgress(r.Context(), student.ID); err == nil {
			for _, b := range badges {
				if b.Earned {
					f.Badges++
				}
			}
		}
		if body, err = drawOGImage(f); err != nil {
			s.Error(w, r, err)
			return
		}
		s.ogImages.put(key, body)
	}
	if student.Visibility != optio.VisibilityPublic {
		w.Header().Set("X-Robots-Tag", "noindex")
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "public, max-age=3600")
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// pillarRGBA is a pillar's colour (its design token, pillarColors).
func pillarRGBA(p optio.Pillar) color.RGBA {
	var c color.RGBA
	c.A = 0xff
	_, _ = fmt.Sscanf(pillarColors[p], "#%02x%02x%02x", &c.R, &c.G, &c.B)
	return c
}

var ogFonts = sync.OnceValues(func() (*opentype.Font, error) { return opentype.Parse(gobold.TTF) })
var ogRegular = sync.OnceValues(func() (*opentype.Font, error) { return opentype.Parse(goregular.TTF) })

// drawOGImage draws the picture: a band of the pillars' colours in
// proportion to the XP earned in each, the initials in a circle, the name,
// and the three headline numbers.
func drawOGImage(f ogFacts) ([]byte, error) {
	bold, err := ogFonts()
	if err != nil {
		return nil, err
	}
	regular, err := ogRegular()
	if err != nil {
		return nil, err
	}
	img := image.NewRGBA(image.Rect(0, 0, ogWidth, ogHeight))
	ink := color.RGBA{0x0f, 0x17, 0x2a, 0xff}
	muted := color.RGBA{0x47, 0x55, 0x69, 0xff}
	draw.Draw(img, img.Bounds(), image.NewUniform(color.RGBA{0xf8, 0xfa, 0xfc, 0xff}), image.Point{}, draw.Src)

	// The XP band along the bottom; grey when there is no XP yet.
	band := image.Rect(0, ogHeight-36, ogWidth, ogHeight)
	draw.Draw(img, band, image.NewUniform(color.RGBA{0xcb, 0xd5, 0xe1, 0xff}), image.Point{}, draw.Src)
	if f.XP != nil && f.XP.Total > 0 {
		x := 0
		for i, p := range optio.Pillars {
			w := f.XP.ByPillar[p] * ogWidth / f.XP.Total
			if i == len(optio.Pillars)-1 {
				w = ogWidth - x
			}
			draw.Draw(img, image.Rect(x, band.Min.Y, x+w, band.Max.Y), image.NewUniform(pillarRGBA(p)), image.Point{}, draw.Src)
			x += w
		}
	}

	// The avatar.
	cx, cy, rad := 190, 250, 120
	fillCircle(img, cx, cy, rad, pillarRGBA(optio.PillarSTEM))
	face := func(fnt *opentype.Font, size float64) (font.Face, error) {
		return opentype.NewFace(fnt, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
	}
	big, err := face(bold, 96)
	if err != nil {
		return nil, err
	}
	defer big.Close()
	iw := font.MeasureString(big, f.Initials).Round()
	drawText(img, big, color.White, cx-iw/2, cy+34, f.Initials)

	name, err := face(bold, 68)
	if err != nil {
		return nil, err
	}
	defer name.Close()
	left := cx + rad + 60
	drawText(img, name, ink, left, 230, fitText(name, f.Name, ogWidth-left-60))
	sub, err := face(regular, 36)
	if err != nil {
		return nil, err
	}
	defer sub.Close()
	drawText(img, sub, muted, left, 292, "Learning portfolio on Optio")

	// The numbers.
	num, err := face(bold, 56)
	if err != nil {
		return nil, err
	}
	defer num.Close()
	label, err := face(regular, 30)
	if err != nil {
		return nil, err
	}
	defer label.Close()
	xp := 0
	if f.XP != nil {
		xp = f.XP.Total
	}
	x := 80
	for _, st := range []struct{ n, what string }{
		{thousands(xp), "XP earned"}, {thousands(f.Finished), plural(f.Finished, "piece of work", "pieces of work")},
		{thousands(f.Badges), plural(f.Badges, "badge", "badges")},
	} {
		drawText(img, num, ink, x, 490, st.n)
		drawText(img, label, muted, x, 536, st.what)
		x += max(font.MeasureString(num, st.n).Round(), font.MeasureString(label, st.what).Round()) + 80
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func drawText(dst draw.Image, face font.Face, c color.Color, x, y int, s string) {
	d := font.Drawer{Dst: dst, Src: image.NewUniform(c), Face: face, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

// fitText shortens s with an ellipsis until it is at most width pixels wide.
func fitText(face font.Face, s string, width int) string {
	if font.MeasureString(face, s).Round() <= width {
		return s
	}
	r := []rune(s)
	for len(r) > 1 {
		r = r[:len(r)-1]
		if t := string(r) + "…"; font.MeasureString(face, t).Round() <= width {
			return t
		}
	}
	return "…"
}

// fillCircle paints a disc, with a one-pixel soft edge.
func fillCircle(img *image.RGBA, cx, cy, r int, c color.RGBA) {
	for y := cy - r - 1; y <= cy+r+1; y++ {
		for x := cx - r - 1; x <= cx+r+1; x++ {
			dx, dy := float64(x-cx)+0.5, float64(y-cy)+0.5
			d := float64(r) - math.Sqrt(dx*dx+dy*dy)
			switch {
			case d >= 1:
				img.SetRGBA(x, y, c)
			case d > 0:
				bg := img.RGBAAt(x, y)
				mix := func(a, b uint8) uint8 { return uint8(float64(a)*d + float64(b)*(1-d)) }
				img.SetRGBA(x, y, color.RGBA{mix(c.R, bg.R), mix(c.G, bg.G), mix(c.B, bg.B), 0xff})
			}
		}
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// thousands writes n with thousands separators (12,345).
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// ogImageCache keeps recent pictures by portfolio version; the oldest entry
// goes first when it is full.
type ogImageCache struct {
	mu    sync.Mutex
	max   int
	order []string
	m     map[string][]byte
}

func newOGImageCache(n int) *ogImageCache {
	return &ogImageCache{max: n, m: map[string][]byte{}}
}

func (c *ogImageCache) get(k string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.m[k]
	return b, ok
}

func (c *ogImageCache) put(k string, b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; ok {
		return
	}
	c.m[k] = b
	c.order = append(c.order, k)
	for len(c.order) > c.max {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
}
