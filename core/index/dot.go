package index

// dotInt8 returns sum q[i]*float32(x[i]) over len(q) elements; the caller
// multiplies by the vector's scale, so an int8 vector is dequantised inside
// the dot product. x must be at least as long as q.
//
// Float32 scoring uses kernel.Dot; core/internal/kernel has no mixed float32×int8
// kernel yet, so this is a plain scalar loop until it gets one.
func dotInt8(q []float32, x []int8) float32 {
	x = x[:len(q)]
	var sum float32
	for i, v := range q {
		sum += v * float32(x[i])
	}
	return sum
}
