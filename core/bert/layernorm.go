package bert

import "github.com/sbmoe/sbmoe/core/internal/kernel"

// layerNorm normalises each row to zero mean and unit variance (biased), then scales
// by g and shifts by b.
type layerNorm struct {
	g, b []float32 // (h)
	eps  float64
}

// forward: x and y are (m,h); y may be x (normalised in place). Row statistics are
// summed in float64 (kernel.LayerNorm). When stats is not nil, (m,2), it receives each
// row's mean and reciprocal standard deviation for backward.
func (ln *layerNorm) forward(y, x, stats []float32, m, threads int) {
	h := len(ln.g)
	parallelFor(m, threads, 1, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			mean, inv := kernel.LayerNorm(y[r*h:(r+1)*h], x[r*h:(r+1)*h], ln.g, ln.b, ln.eps)
			if stats != nil {
				stats[2*r], stats[2*r+1] = mean, inv
			}
		}
	})
}

// backward: x is forward's input (m,h), stats its saved (m,2) mean and rstd, dy the
// gradient of its output. With x̂ = (x−mean)·rstd and t = dy⊙g, it adds
// rstd·(t − mean(t) − x̂·mean(t⊙x̂)) into dx, Σ dy⊙x̂ into dg and Σ dy into db.
// dx is split by rows and dg, db by columns, so each sum runs in one fixed order.
func (ln *layerNorm) backward(dx, dg, db, dy, x, stats []float32, m, threads int) {
	h := len(ln.g)
	parallelFor(m, threads, 1, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			mean, rstd := stats[2*r], stats[2*r+1]
			xr, dyr := x[r*h:(r+1)*h], dy[r*h:(r+1)*h]
			var st, stx float64
			for i, v := range xr {
				t := float64(dyr[i] * ln.g[i])
				st += t
				stx += t * float64((v-mean)*rstd)
			}
			meanT, meanTX := float32(st/float64(h)), float32(stx/float64(h))
			dxr := dx[r*h : (r+1)*h]
			for i, v := range xr {
				xhat := (v - mean) * rstd
				dxr[i] += rstd * (dyr[i]*ln.g[i] - meanT - xhat*meanTX)
			}
		}
	})
	parallelFor(h, threads, 16, func(lo, hi int) {
		sg, sb := make([]float64, hi-lo), make([]float64, hi-lo)
		for r := range m {
			mean, rstd := stats[2*r], stats[2*r+1]
			xr, dyr := x[r*h+lo:r*h+hi], dy[r*h+lo:r*h+hi]
			for i, v := range xr {
				sg[i] += float64(dyr[i] * (v - mean) * rstd)
				sb[i] += float64(dyr[i])
			}
		}
		for i := range sg {
			dg[lo+i] += float32(sg[i])
			db[lo+i] += float32(sb[i])
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
