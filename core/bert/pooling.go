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

// l2Normalize scales v to unit length; like torch.nn.functional.normalize it divides
// by max(‖v‖, 1e-12), so a zero vector stays zero.
func l2Normalize(v []float32) {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	inv := 1 / max(math.Sqrt(ss), 1e-12)
	for i, x := range v {
		v[i] = float32(float64(x) * inv)
	}
}
