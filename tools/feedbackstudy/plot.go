package main

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/sbmoe/sbmoe/tools/internal/research"
)

// armColors tell the heads apart in the plot.
var armColors = map[string]color.Color{
	armProduct.Name: color.RGBA{R: 0x1a, G: 0x8a, B: 0x3c, A: 0xff},
	armBoth.Name:    color.RGBA{R: 0x7b, G: 0x3f, B: 0xa0, A: 0xff},
	armPaper.Name:   color.RGBA{R: 0xd6, G: 0x60, B: 0x1e, A: 0xff},
	armLearned.Name: color.RGBA{R: 0x1f, G: 0x6f, B: 0xb4, A: 0xff},
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
			var pts research.ErrorPoints
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
		research.AddLevel(p, "zero-shot", z.NDCG)
		p.X.Min, p.X.Max = float64(clicksOf(s, r.Clicks[0]))*0.8, float64(clicksOf(s, r.Clicks[len(r.Clicks)-1]))*1.25
		// Room below the curves for the legend (bottom right).
		p.Y.Min -= 0.45 * (p.Y.Max - p.Y.Min)
		panels = append(panels, p)
	}
	if len(panels) == 0 {
		return nil
	}
	return research.WritePanels(path, panels, vg.Length(len(panels))*13*vg.Centimeter, 11*vg.Centimeter)
}

// addSeries draws points with error bars in one colour, joined by a line.
func addSeries(p *plot.Plot, name string, pts research.ErrorPoints, c color.Color) error {
	line, points, bars, err := research.Series(pts, c)
	if err != nil {
		return err
	}
	p.Add(line, points, bars)
	p.Legend.Add(name, line, points)
	return nil
}
