package research

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

// ErrorPoints are points with vertical error bars.
type ErrorPoints struct {
	plotter.XYs
	plotter.YErrors
}

// Series returns the line through pts, its points (circles) and their error bars, all
// in colour c, for the caller to add to a plot and its legend.
func Series(pts ErrorPoints, c color.Color) (*plotter.Line, *plotter.Scatter, *plotter.YErrorBars, error) {
	line, points, err := plotter.NewLinePoints(pts)
	if err != nil {
		return nil, nil, nil, err
	}
	bars, err := plotter.NewYErrorBars(pts)
	if err != nil {
		return nil, nil, nil, err
	}
	line.Color, points.Color, bars.Color = c, c, c
	points.Shape = draw.CircleGlyph{}
	return line, points, bars, nil
}

// AddLevel draws a dashed horizontal line.
func AddLevel(p *plot.Plot, name string, y float64) {
	f := plotter.NewFunction(func(float64) float64 { return y })
	f.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	f.Color = color.Gray{Y: 0x60}
	p.Add(f)
	p.Legend.Add(name, f)
}

// WritePanels draws panels side by side on one image of width × height and writes it
// to path as a PNG, atomically.
func WritePanels(path string, panels []*plot.Plot, width, height vg.Length) error {
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
