// Package edge holds the files of the edge worker that are not Go: its entry module
// (worker.mjs, which starts the Go module once per isolate and hands it the bundle's
// files), the templates of its wrangler.toml and workerd configuration, and the installer
// of local workerd (install.sh with the pinned package.json and package-lock.json).
// tools/internal/edge writes them into a worker folder.
package edge

import "embed"

// Files holds worker.mjs, wrangler.toml.tmpl and workerd.capnp.tmpl.
//
//go:embed worker.mjs wrangler.toml.tmpl workerd.capnp.tmpl
var Files embed.FS
