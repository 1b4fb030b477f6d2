package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"strings"
)

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("serve", "[flags] DIR",
		"Serves a folder (a bundle, or a site with one) over HTTP on this machine, the way a static\n"+
			"host would: index.html for folders, application/wasm for the module, and the .br or .gz copy\n"+
			"of a file, as it is, to a browser that accepts it. Stop it with Ctrl-C.",
		"sbmoe serve out/godoc-bundle\n"+
			"sbmoe serve --addr 127.0.0.1:8080 --coi out/godoc-bundle", stderr)
	addr := fs.String("addr", "127.0.0.1:8000", "address to listen on (host:port; port 0 picks a free one)")
	coi := fs.Bool("coi", false, "send COOP/COEP headers, so the page is cross-origin isolated")
	if code, ok := fs.ParseArgs(args, stdout); !ok {
		return code
	}
	if fs.NArg() != 1 {
		return usageError(stderr, "serve")("give one folder to serve")
	}
	dir := fs.Arg(0)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fail(stderr, "serve", fmt.Errorf("%s is not a folder", dir))
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fail(stderr, "serve", err)
	}
	fmt.Fprintf(stdout, "serving %s on http://%s/ (Ctrl-C stops)\n", dir, ln.Addr())
	srv := &http.Server{Handler: staticHandler(dir, *coi)}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() { <-ctx.Done(); srv.Close() }()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fail(stderr, "serve", err)
	}
	return 0
}

// staticHandler serves dir, sending X.br or X.gz as they are (with Content-Encoding) to a
// client that accepts them.
func staticHandler(dir string, coi bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if coi {
			w.Header().Set("Cross-Origin-Opener-Policy", "same-origin")
			w.Header().Set("Cross-Origin-Embedder-Policy", "require-corp")
			w.Header().Set("Cross-Origin-Resource-Policy", "same-origin")
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := path.Clean("/" + r.URL.Path)
		if strings.HasSuffix(r.URL.Path, "/") {
			name = path.Join(name, "index.html")
		}
		file := filepath.Join(dir, filepath.FromSlash(name))
		if st, err := os.Stat(file); err == nil && st.IsDir() {
			http.Redirect(w, r, r.URL.Path+"/", http.StatusMovedPermanently)
			return
		}
		ctype := mime.TypeByExtension(path.Ext(name))
		if path.Ext(name) == ".wasm" {
			ctype = "application/wasm"
		}
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Vary", "Accept-Encoding")
		accept := r.Header.Get("Accept-Encoding")
		for _, enc := range []struct{ name, ext string }{{"br", ".br"}, {"gzip", ".gz"}} {
			if strings.Contains(accept, enc.name) {
				if _, err := os.Stat(file + enc.ext); err == nil {
					w.Header().Set("Content-Encoding", enc.name)
					http.ServeFile(w, r, file+enc.ext)
					return
				}
			}
		}
		http.ServeFile(w, r, file)
	})
}
