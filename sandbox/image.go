package sandbox

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
)

// buildChartPNG draws a bar chart (a lab-results graph) as a PNG.
func buildChartPNG(values []float64) ([]byte, error) {
	const w, h = 640, 400
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), &image.Uniform{color.RGBA{250, 250, 247, 255}}, image.Point{}, draw.Src)
	axis := color.RGBA{40, 40, 40, 255}
	grid := color.RGBA{220, 220, 215, 255}
	left, bottom, top, right := 60, h-50, 30, w-30
	for y := top; y <= bottom; y += (bottom - top) / 5 {
		fillRect(img, left, y, right, y+1, grid)
	}
	fillRect(img, left, top, left+2, bottom, axis)
	fillRect(img, left, bottom, right, bottom+2, axis)
	maxV := 0.0
	for _, v := range values {
		maxV = math.Max(maxV, v)
	}
	palette := []color.RGBA{{249, 115, 22, 255}, {37, 99, 235, 255}, {22, 163, 74, 255}, {147, 51, 234, 255}}
	slot := (right - left) / max(len(values), 1)
	for i, v := range values {
		bh := int(float64(bottom-top-10) * v / math.Max(maxV, 1))
		x0 := left + i*slot + slot/5
		fillRect(img, x0, bottom-bh, x0+slot*3/5, bottom, palette[i%len(palette)])
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// buildDrawingPNG paints a layered rock cross-section with a sun, the kind
// of illustration a geology or design student hands in.
func buildDrawingPNG() ([]byte, error) {
	const w, h = 480, 360
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	layers := []color.RGBA{{135, 190, 235, 255}, {106, 153, 78, 255}, {188, 140, 92, 255}, {160, 110, 70, 255}, {120, 90, 70, 255}, {90, 80, 80, 255}}
	for x := range w {
		base := 120 + int(18*math.Sin(float64(x)/40))
		for y := range h {
			layer := 0
			if y > base {
				layer = 1 + min((y-base)/45, len(layers)-2)
			}
			img.SetRGBA(x, y, layers[layer])
		}
	}
	sun := color.RGBA{250, 204, 21, 255}
	for y := 20; y < 90; y++ {
		for x := 360; x < 430; x++ {
			if dx, dy := x-395, y-55; dx*dx+dy*dy < 30*30 {
				img.SetRGBA(x, y, sun)
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func fillRect(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	draw.Draw(img, image.Rect(x0, y0, x1, y1), &image.Uniform{c}, image.Point{}, draw.Src)
}
