package bert

import "math"

// layerNorm normalises each row to zero mean and unit variance (biased), then scales
// by g and shifts by b.
type layerNorm struct {
	g, b []float32 // (h)
	eps  float64
}

// forward: x is (m,h), normalised in place. Row statistics are summed in float64.
func (ln *layerNorm) forward(x []float32, m, threads int) {
	h := len(ln.g)
	parallelFor(m, threads, 1, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			row := x[r*h : (r+1)*h]
			var sum float64
			for _, v := range row {
				sum += float64(v)
			}
			mean := sum / float64(h)
			var ss float64
			for _, v := range row {
				d := float64(v) - mean
				ss += d * d
			}
			inv := 1 / math.Sqrt(ss/float64(h)+ln.eps)
			for i, v := range row {
				row[i] = float32((float64(v)-mean)*inv)*ln.g[i] + ln.b[i]
			}
		}
	})
}

// addRows adds y into x element by element: the residual connection.
func addRows(x, y []float32) {
	y = y[:len(x)]
	for i := range x {
		x[i] += y[i]
	}
}
