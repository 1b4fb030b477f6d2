// Package edgetest holds the tests that run the edge endpoint in local workerd, the
// Cloudflare Workers runtime: they build the worker (wasm/edge, GOOS=js) with this test
// process's kernels, write bundles of the default model and of the tiny random one, and
// check the worker's answers against the native bundle reader, every bad request, a
// panic in the handler, damaged assets, and 2,000 requests at 16 concurrent. They need
// what tools/edge/install.sh installs (make edge-deps) and fail with that command when it
// is missing; SBMOE_SKIP_EDGE=1 skips them, loudly.
package edgetest
