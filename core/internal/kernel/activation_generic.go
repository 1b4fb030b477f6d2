//go:build !goexperiment.simd || purego || !(amd64 || wasm)

package kernel

func softmaxScaled(x []float32, scale float32) { SoftmaxScaledScalar(x, scale) }

func geluErf(x []float32) { GeluErfScalar(x) }

func geluErfBackward(dx, dy, x []float32) { GeluErfBackwardScalar(dx, dy, x) }
