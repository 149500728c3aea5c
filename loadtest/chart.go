package loadtest

import (
	"bytes"
	"cmp"
	"fmt"
	"html"
	"math"
	"slices"
)

// Chart geometry, in SVG user units.
const (
	chartW, chartH = 900, 420
	padL, padR     = 70, 20
	padT, padB     = 40, 50
	maxDots        = 4000
)

// chartSVG draws a scenario's latency over time: one dot per request
// (sampled down to maxDots; failures in red, drawn at the top when they
// have no latency) and the p50 and p99 of each time slice as lines.
func chartSVG(res *Result) []byte {
	// Time runs from the earliest point (sync rows arrive in completion order).
	pts := slices.Clone(res.points)
	if len(pts) > 0 {
		t0 := slices.MinFunc(pts, func(a, b point) int { return cmp.Compare(a.t, b.t) }).t
		for i := range pts {
			pts[i].t -= t0
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		chartW, chartH, chartW, chartH)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	title := res.Name + " — latency over time"
	if res.Sync != nil {
		title = res.Name + " — webhook accepted → evidence stored, by submission time"
	}
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", padL, html.EscapeString(title))
	maxT, maxMS := 1.0, 1.0
	for _, p := range pts {
		maxT = math.Max(maxT, p.t)
		maxMS = math.Max(maxMS, p.ms)
	}
	maxMS = niceCeil(maxMS)
	plotW, plotH := float64(chartW-padL-padR), float64(chartH-padT-padB)
	x := func(t float64) float64 { return padL + t/maxT*plotW }
	y := func(v float64) float64 { return padT + plotH - v/maxMS*plotH }
	// Axes, grid and labels.
	for i := 0; i <= 5; i++ {
		v := maxMS * float64(i) / 5
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n",
			padL, y(v), chartW-padR, y(v), padL-6, y(v)+4, trimFloat(v))
		t := maxT * float64(i) / 5
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x(t), chartH-padB+18, trimFloat(t))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">seconds</text>`+"\n", padL+int(plotW)/2, chartH-12)
	fmt.Fprintf(&b, `<text x="16" y="%d" transform="rotate(-90 16 %d)" text-anchor="middle">latency (ms)</text>`+"\n", padT+int(plotH)/2, padT+int(plotH)/2)
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.0f" height="%.0f" fill="none" stroke="#888"/>`+"\n", padL, padT, plotW, plotH)
	// Dots.
	step := max(1, len(pts)/maxDots)
	b.WriteString(`<g fill-opacity="0.45">` + "\n")
	for i := 0; i < len(pts); i += step {
		p := pts[i]
		color, v := "#3572b0", p.ms
		if p.bad {
			color = "#d0342c"
			if v == 0 {
				v = maxMS
			}
		}
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="1.6" fill="%s"/>`+"\n", x(p.t), y(v), color)
	}
	b.WriteString("</g>\n")
	// Percentile lines per slice.
	for _, q := range []struct {
		q     float64
		color string
	}{{0.5, "#2a9d3f"}, {0.99, "#e08a00"}} {
		line := sliceQuantiles(pts, maxT, q.q)
		if len(line) == 0 {
			continue
		}
		b.WriteString(`<polyline fill="none" stroke-width="2" stroke="` + q.color + `" points="`)
		for _, p := range line {
			fmt.Fprintf(&b, "%.1f,%.1f ", x(p.t), y(p.ms))
		}
		b.WriteString(`"/>` + "\n")
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#2a9d3f">— p50</text><text x="%d" y="%d" fill="#e08a00">— p99</text><text x="%d" y="%d" fill="#d0342c">● error</text>`+"\n",
		chartW-padR-200, padT-8, chartW-padR-140, padT-8, chartW-padR-80, padT-8)
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// sliceQuantiles cuts [0, maxT] into up to 50 slices and returns quantile q
// of the successful requests' latencies in each non-empty slice.
func sliceQuantiles(pts []point, maxT, q float64) []point {
	const slices_ = 50
	buckets := make([][]float64, slices_)
	for _, p := range pts {
		if p.bad {
			continue
		}
		i := max(0, min(slices_-1, int(p.t/maxT*slices_)))
		buckets[i] = append(buckets[i], p.ms)
	}
	var out []point
	for i, v := range buckets {
		if len(v) == 0 {
			continue
		}
		slices.Sort(v)
		out = append(out, point{t: (float64(i) + 0.5) / slices_ * maxT, ms: v[min(len(v)-1, int(q*float64(len(v))))]})
	}
	return out
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func trimFloat(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}
