//go:build !goexperiment.simd || purego || !(amd64 || wasm)

package kernel

func supportedInt8Impls() []*int8Impl { return []*int8Impl{scalarInt8} }
