package main

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

func TestStaticHandler(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"index.html": "<p>hi</p>", "m.wasm": "raw", "m.wasm.br": "brotli", "sub/a.js": "js"} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644)
	}
	h := staticHandler(dir, true)
	for _, tc := range []struct {
		method, path, accept   string
		code                   int
		body, ctype, enc, coop string
	}{
		{"GET", "/", "", 200, "<p>hi</p>", "text/html; charset=utf-8", "", "same-origin"},
		{"GET", "/m.wasm", "gzip, br", 200, "brotli", "application/wasm", "br", "same-origin"},
		{"GET", "/m.wasm", "gzip", 200, "raw", "application/wasm", "", "same-origin"},
		{"GET", "/sub/a.js", "", 200, "js", "text/javascript; charset=utf-8", "", "same-origin"},
		{"GET", "/missing", "", 404, "", "", "", "same-origin"},
		{"GET", "/../../etc/passwd", "", 400, "", "", "", "same-origin"},
		{"POST", "/", "", 405, "", "", "", "same-origin"},
	} {
		req := httptest.NewRequest(tc.method, tc.path, nil)
		if tc.accept != "" {
			req.Header.Set("Accept-Encoding", tc.accept)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		res := rec.Result()
		if res.StatusCode != tc.code || (tc.body != "" && rec.Body.String() != tc.body) ||
			(tc.ctype != "" && res.Header.Get("Content-Type") != tc.ctype) || res.Header.Get("Content-Encoding") != tc.enc ||
			res.Header.Get("Cross-Origin-Opener-Policy") != tc.coop {
			t.Errorf("%s %s (accept %q): %d %q %q %q", tc.method, tc.path, tc.accept, res.StatusCode, rec.Body.String(),
				res.Header.Get("Content-Type"), res.Header.Get("Content-Encoding"))
		}
	}
}
