package bert

import "math"

// pool reduces the hidden states (m,h) of each sequence offs[s]..offs[s+1] to one
// vector per sequence, written to out[s] (h floats each).
func pool(out [][]float32, hidden []float32, offs []int, h int, mode Pooling, normalize bool) {
	for s, v := range out {
		lo, hi := offs[s], offs[s+1]
		switch mode {
		case PoolCLS:
			copy(v, hidden[lo*h:(lo+1)*h])
		default:
			acc := make([]float64, h)
			for r := lo; r < hi; r++ {
				for i, x := range hidden[r*h : (r+1)*h] {
					acc[i] += float64(x)
				}
			}
			for i := range v {
				v[i] = float32(acc[i] / float64(hi-lo))
			}
		}
		if normalize {
			l2Normalize(v)
		}
	}
}

// poolBackward adds the gradient of the pooled vectors dout[s] (h floats each, before
// any normalisation) into dhidden (m,h): the mean spreads it evenly over the
// sequence's rows, CLS pooling hands it to the first row.
func poolBackward(dhidden []float32, dout [][]float32, offs []int, h int, mode Pooling) {
	for s, dv := range dout {
		lo, hi := offs[s], offs[s+1]
		switch mode {
		case PoolCLS:
			addRows(dhidden[lo*h:(lo+1)*h], dv)
		default:
			inv := 1 / float32(hi-lo)
			for r := lo; r < hi; r++ {
				row := dhidden[r*h : (r+1)*h]
				for i, g := range dv {
					row[i] += g * inv
				}
			}
		}
	}
}

// l2Normalize scales v to unit length; like torch.nn.functional.normalize it divides
// by max(‖v‖, 1e-12), so a zero vector stays zero.
func l2Normalize(v []float32) {
	inv := 1 / max(norm2(v), 1e-12)
	for i, x := range v {
		v[i] = float32(float64(x) * inv)
	}
}

// l2NormalizeBackward adds into dx the gradient through y = x / max(‖x‖, 1e-12), x
// being the input and dy the output's gradient: (dy − y·(y·dy)) / ‖x‖, or dy / 1e-12
// where the floor holds and the map is a plain scaling.
func l2NormalizeBackward(dx, dy, x []float32) {
	n := norm2(x)
	if n <= 1e-12 {
		for i, g := range dy {
			dx[i] += float32(float64(g) / 1e-12)
		}
		return
	}
	var ydy float64
	for i, v := range x {
		ydy += float64(v) / n * float64(dy[i])
	}
	for i, v := range x {
		dx[i] += float32((float64(dy[i]) - float64(v)/n*ydy) / n)
	}
}

func norm2(v []float32) float64 {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	return math.Sqrt(ss)
}
