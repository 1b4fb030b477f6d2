package main

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/sbmoe/sbmoe/tools/internal/finetune"
	"github.com/sbmoe/sbmoe/tools/internal/research"
)

// routerColors tell the routers apart in the plot.
var routerColors = map[string]color.Color{
	finetune.RouterPaper:   color.RGBA{R: 0xd6, G: 0x60, B: 0x1e, A: 0xff},
	finetune.RouterLearned: color.RGBA{R: 0x1f, G: 0x6f, B: 0xb4, A: 0xff},
}

// plotExperts draws two panels (head only, TOP-1 inference): SciFact's NDCG@10 against
// the number of experts, with the zero-shot level, and every collection's difference
// to zero-shot at 6 experts.
func plotExperts(path string, r *expReport) error {
	left := plot.New()
	left.Title.Text = "SciFact, head only: number of experts"
	left.X.Label.Text = "experts"
	left.Y.Label.Text = "NDCG@10 (mean ± std over seeds)"
	right := plot.New()
	right.Title.Text = fmt.Sprintf("Head only, %d experts: change against zero-shot", mainExperts)
	right.Y.Label.Text = "NDCG@10 − zero-shot (± std over seeds)"
	var names []string
	for _, s := range r.Sets {
		names = append(names, s.Name)
	}
	right.NominalX(names...)
	for _, p := range []*plot.Plot{left, right} {
		p.Legend.Top, p.Legend.Left = false, true // below the points, which sit near zero-shot
		p.Add(plotter.NewGrid())
	}
	for k, router := range []string{finetune.RouterPaper, finetune.RouterLearned} {
		var sweep, sets research.ErrorPoints
		for _, e := range r.Experts {
			if c := r.find("scifact", "all", "head", router, e, "top1"); c != nil {
				sweep.XYs = append(sweep.XYs, plotter.XY{X: float64(e), Y: c.NDCG})
				sweep.YErrors = append(sweep.YErrors, struct{ Low, High float64 }{c.NDCGStd, c.NDCGStd})
			}
		}
		for i, s := range r.Sets {
			if c := r.find(s.Name, "all", "head", router, mainExperts, "top1"); c != nil && c.Test != nil {
				// The routers sit side by side around each collection's tick.
				sets.XYs = append(sets.XYs, plotter.XY{X: float64(i) + 0.12*float64(2*k-1), Y: c.Test.DeltaNDCG})
				sets.YErrors = append(sets.YErrors, struct{ Low, High float64 }{c.NDCGStd, c.NDCGStd})
			}
		}
		if len(sweep.XYs) > 0 {
			if err := addSeries(left, router+" router", sweep, routerColors[router], true); err != nil {
				return err
			}
		}
		if len(sets.XYs) > 0 {
			if err := addSeries(right, router+" router", sets, routerColors[router], false); err != nil {
				return err
			}
		}
	}
	if z := r.find("scifact", "all", "zero-shot", finetune.RouterNone, 0, finetune.RouterNone); z != nil {
		research.AddLevel(left, "zero-shot", z.NDCG)
		left.Y.Min, left.Y.Max = min(left.Y.Min, z.NDCG-0.005), max(left.Y.Max, z.NDCG+0.005)
	}
	var ticks []plot.Tick
	for _, e := range r.Experts {
		ticks = append(ticks, plot.Tick{Value: float64(e), Label: fmt.Sprint(e)})
	}
	left.X.Tick.Marker = plot.ConstantTicks(ticks)
	research.AddLevel(right, "zero-shot", 0)
	right.X.Min, right.X.Max = -0.5, float64(len(names))-0.5
	right.Y.Max = max(right.Y.Max, 0.01) // keep the zero line in view
	left.X.Min, left.X.Max = left.X.Min-1, left.X.Max+1

	return research.WritePanels(path, []*plot.Plot{left, right}, 26*vg.Centimeter, 10*vg.Centimeter)
}

// addSeries draws points with error bars in one colour, joined by a line when joined.
func addSeries(p *plot.Plot, name string, pts research.ErrorPoints, c color.Color, joined bool) error {
	line, points, bars, err := research.Series(pts, c)
	if err != nil {
		return err
	}
	if joined {
		p.Add(line)
	}
	p.Add(points, bars)
	p.Legend.Add(name, points)
	return nil
}
