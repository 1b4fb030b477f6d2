package main

import (
	"fmt"
	"image/color"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/sbmoe/sbmoe/tools/internal/atomicfile"
)

// armColors tell the heads apart in the plot.
var armColors = map[string]color.Color{
	armProduct.Name: color.RGBA{R: 0x1a, G: 0x8a, B: 0x3c, A: 0xff},
	armBoth.Name:    color.RGBA{R: 0x7b, G: 0x3f, B: 0xa0, A: 0xff},
	armPaper.Name:   color.RGBA{R: 0xd6, G: 0x60, B: 0x1e, A: 0xff},
	armLearned.Name: color.RGBA{R: 0x1f, G: 0x6f, B: 0xb4, A: 0xff},
}

// errorPoints are points with vertical error bars.
type errorPoints struct {
	plotter.XYs
	plotter.YErrors
}

// plotCurves draws SciFact's learning curves, NDCG@10 against clicks (log scale), on all
// test claims and on the unseen ones, with the zero-shot level.
func plotCurves(path string, r *report, s *setResult) error {
	var panels []*plot.Plot
	for _, subset := range []string{"all", "unseen"} {
		z := s.find(subset, "zero-shot", "", 0)
		if z == nil {
			continue
		}
		p := plot.New()
		p.Title.Text = fmt.Sprintf("SciFact, all %d test claims", s.Queries)
		if subset == "unseen" {
			p.Title.Text = fmt.Sprintf("SciFact, the %d unseen test claims", s.Unseen)
		}
		p.X.Label.Text = "clicks (training claims)"
		p.Y.Label.Text = "NDCG@10 (mean ± std over seeds)"
		p.X.Scale = plot.LogScale{}
		var ticks []plot.Tick
		for _, n := range r.Clicks {
			ticks = append(ticks, plot.Tick{Value: float64(clicksOf(s, n)), Label: fmt.Sprint(clicksOf(s, n))})
		}
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
		p.Legend.Top, p.Legend.Left = false, false
		p.Add(plotter.NewGrid())
		for _, a := range curveArms {
			var pts errorPoints
			for _, n := range r.Clicks {
				if c := s.find(subset, a.Name, pairsClicks, clicksOf(s, n)); c != nil {
					pts.XYs = append(pts.XYs, plotter.XY{X: float64(c.Clicks), Y: c.NDCG})
					pts.YErrors = append(pts.YErrors, struct{ Low, High float64 }{c.NDCGStd, c.NDCGStd})
				}
			}
			if len(pts.XYs) == 0 {
				continue
			}
			if err := addSeries(p, a.Label, pts, armColors[a.Name]); err != nil {
				return err
			}
		}
		addLevel(p, "zero-shot", z.NDCG)
		p.X.Min, p.X.Max = float64(clicksOf(s, r.Clicks[0]))*0.8, float64(clicksOf(s, r.Clicks[len(r.Clicks)-1]))*1.25
		// Room below the curves for the legend (bottom right).
		p.Y.Min -= 0.45 * (p.Y.Max - p.Y.Min)
		panels = append(panels, p)
	}
	if len(panels) == 0 {
		return nil
	}
	width, height := vg.Length(len(panels))*13*vg.Centimeter, 11*vg.Centimeter
	img := vgimg.New(width, height)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: len(panels), PadX: vg.Centimeter, PadTop: vg.Millimeter * 3, PadBottom: vg.Millimeter * 3,
		PadLeft: vg.Millimeter * 3, PadRight: vg.Millimeter * 3}
	canvases := plot.Align([][]*plot.Plot{panels}, tiles, dc)
	for i, p := range panels {
		p.Draw(canvases[0][i])
	}
	if err := atomicfile.Write(path, func(w io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
		return err
	}); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// addSeries draws points with error bars in one colour, joined by a line.
func addSeries(p *plot.Plot, name string, pts errorPoints, c color.Color) error {
	line, points, err := plotter.NewLinePoints(pts)
	if err != nil {
		return err
	}
	bars, err := plotter.NewYErrorBars(pts)
	if err != nil {
		return err
	}
	line.Color, points.Color, bars.Color = c, c, c
	points.Shape = draw.CircleGlyph{}
	p.Add(line, points, bars)
	p.Legend.Add(name, line, points)
	return nil
}

// addLevel draws a dashed horizontal line.
func addLevel(p *plot.Plot, name string, y float64) {
	f := plotter.NewFunction(func(float64) float64 { return y })
	f.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	f.Color = color.Gray{Y: 0x60}
	p.Add(f)
	p.Legend.Add(name, f)
}
