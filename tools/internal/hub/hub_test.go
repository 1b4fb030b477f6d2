package hub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sbmoe/sbmoe/core/weights"
)

const (
	testRepo   = "test-org/tiny-model"
	testCommit = "0123456789abcdef0123456789abcdef01234567"
)

// fakeHub serves one repository the way the Hub does: the model-info API, resolve URLs with
// git-sha1 ETags for regular files and, for LFS files, a redirect carrying X-Linked-Etag to a
// CDN path whose own ETag is no checksum.
type fakeHub struct {
	files       map[string][]byte
	lfs         map[string]bool
	token       string          // when set, every Hub request must carry it
	corrupt     map[string]bool // serve these with one byte flipped
	ignoreRange bool
	dropAfter   map[string]int // the next response for a file stops after this many bytes

	mu        sync.Mutex
	ranges    map[string][]string // file -> Range headers received
	revisions []string            // revisions named in resolve URLs
}

func newFakeHub(t *testing.T) *fakeHub {
	t.Helper()
	model, err := os.ReadFile("../../../testdata/weights/tiny.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	return &fakeHub{
		files: map[string][]byte{
			"config.json":           []byte(`{"hidden_size": 8, "num_hidden_layers": 1}`),
			"tokenizer.json":        []byte(`{"model": {"type": "WordPiece"}}`),
			"vocab.txt":             []byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n"),
			"modules.json":          []byte(`[{"idx": 0, "path": "", "type": "sentence_transformers.models.Transformer"}]`),
			"1_Pooling/config.json": []byte(`{"pooling_mode_mean_tokens": true}`),
			"README.md":             []byte("# tiny\n"),
			"model.safetensors":     model,
			"pytorch_model.bin":     []byte("not wanted when safetensors exist"),
		},
		lfs:     map[string]bool{"model.safetensors": true, "pytorch_model.bin": true},
		corrupt: map[string]bool{},
		ranges:  map[string][]string{},
	}
}

func (h *fakeHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	for i, s := range segs {
		segs[i], _ = url.PathUnescape(s)
	}
	if segs[0] == "cdn" { // presigned: no token needed
		h.serveFile(w, r, strings.Join(segs[1:], "/"), `"cdn-not-a-checksum"`)
		return
	}
	if h.token != "" && r.Header.Get("Authorization") != "Bearer "+h.token {
		w.Header().Set("X-Error-Message", "Invalid credentials in Authorization header")
		http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
		return
	}
	switch {
	case len(segs) == 6 && segs[0] == "api" && segs[1] == "models" && segs[4] == "revision":
		if segs[2]+"/"+segs[3] != testRepo || (segs[5] != "main" && segs[5] != "refs/pr/1") {
			w.Header().Set("X-Error-Message", "Repository not found")
			http.NotFound(w, r)
			return
		}
		var info struct {
			SHA      string              `json:"sha"`
			Siblings []map[string]string `json:"siblings"`
		}
		info.SHA = testCommit
		for name := range h.files {
			info.Siblings = append(info.Siblings, map[string]string{"rfilename": name})
		}
		json.NewEncoder(w).Encode(info)
	case len(segs) >= 5 && segs[0]+"/"+segs[1] == testRepo && segs[2] == "resolve":
		file := strings.Join(segs[4:], "/")
		h.mu.Lock()
		h.revisions = append(h.revisions, segs[3])
		h.mu.Unlock()
		content, ok := h.files[file]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if h.lfs[file] {
			sum := sha256.Sum256(content)
			w.Header().Set("X-Linked-Etag", `"`+hex.EncodeToString(sum[:])+`"`)
			w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
			http.Redirect(w, r, "/cdn/"+file, http.StatusFound)
			return
		}
		blob := sha1.New()
		fmt.Fprintf(blob, "blob %d\x00", len(content))
		blob.Write(content)
		h.serveFile(w, r, file, `"`+hex.EncodeToString(blob.Sum(nil))+`"`)
	default:
		http.NotFound(w, r)
	}
}

func (h *fakeHub) serveFile(w http.ResponseWriter, r *http.Request, file, etag string) {
	h.mu.Lock()
	if rng := r.Header.Get("Range"); rng != "" {
		h.ranges[file] = append(h.ranges[file], rng)
	}
	h.mu.Unlock()
	content := h.files[file]
	if h.corrupt[file] {
		content = append([]byte(nil), content...)
		content[len(content)/2] ^= 0xff
	}
	w.Header().Set("ETag", etag)
	if n, ok := h.dropAfter[file]; ok {
		// Promise the whole file, send part of it: the client sees the connection drop.
		delete(h.dropAfter, file)
		w.Header().Set("Content-Length", fmt.Sprint(len(content)))
		w.Write(content[:n])
		return
	}
	if h.ignoreRange {
		w.Write(content)
		return
	}
	http.ServeContent(w, r, file, time.Time{}, strings.NewReader(string(content)))
}

func startHub(t *testing.T, h *fakeHub) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_ENDPOINT", "")
	return srv.URL
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFetch(t *testing.T) {
	h := newFakeHub(t)
	endpoint := startHub(t, h)
	dest := t.TempDir()
	var mu sync.Mutex
	last := map[string][2]int64{}
	opts := Options{Endpoint: endpoint, Progress: func(file string, done, total int64) {
		mu.Lock()
		last[file] = [2]int64{done, total}
		mu.Unlock()
	}}
	if err := Fetch(context.Background(), testRepo, "", dest, opts); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"config.json", "tokenizer.json", "vocab.txt", "modules.json", "1_Pooling/config.json", "model.safetensors"} {
		if got := readFile(t, filepath.Join(dest, f)); string(got) != string(h.files[f]) {
			t.Errorf("%s: content differs", f)
		}
	}
	for _, f := range []string{"README.md", "pytorch_model.bin", "model.safetensors.incomplete"} {
		if _, err := os.Stat(filepath.Join(dest, f)); err == nil {
			t.Errorf("%s was written", f)
		}
	}
	n := int64(len(h.files["model.safetensors"]))
	if got := last["model.safetensors"]; got != [2]int64{n, n} {
		t.Errorf("last progress for model.safetensors = %v, want [%d %d]", got, n, n)
	}
	for _, rev := range h.revisions {
		if rev != testCommit {
			t.Errorf("resolve used revision %q, want the pinned commit", rev)
		}
	}
	if _, _, err := weights.LoadDir(dest); err != nil {
		t.Errorf("downloaded model does not load: %v", err)
	}

	// A second fetch finds everything in place and downloads nothing.
	h.revisions = nil
	if err := Fetch(context.Background(), testRepo, "main", dest, opts); err != nil {
		t.Fatal(err)
	}
	if len(h.revisions) != 0 {
		t.Errorf("second fetch downloaded %d files", len(h.revisions))
	}
}

func TestFetchResume(t *testing.T) {
	model := newFakeHub(t).files["model.safetensors"]
	half := len(model) / 2
	tests := []struct {
		name        string
		partial     []byte
		ignoreRange bool
		wantRanges  []string
	}{
		{"206 appends", model[:half], false, []string{fmt.Sprintf("bytes=%d-", half)}},
		{"200 restarts", append(model[:half:half], "garbage"...), true, []string{fmt.Sprintf("bytes=%d-", half+7)}},
		{"416 restarts", append(append([]byte(nil), model...), "trailing"...), false, []string{fmt.Sprintf("bytes=%d-", len(model)+8)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newFakeHub(t)
			h.ignoreRange = tc.ignoreRange
			endpoint := startHub(t, h)
			dest := t.TempDir()
			if err := os.WriteFile(filepath.Join(dest, "model.safetensors.incomplete"), tc.partial, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := Fetch(context.Background(), testRepo, "main", dest, Options{Endpoint: endpoint}); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, filepath.Join(dest, "model.safetensors")); string(got) != string(model) {
				t.Error("resumed file differs from the original")
			}
			if got := h.ranges["model.safetensors"]; !slices.Equal(got, tc.wantRanges) {
				t.Errorf("Range headers %q, want %q", got, tc.wantRanges)
			}
			if _, err := os.Stat(filepath.Join(dest, "model.safetensors.incomplete")); err == nil {
				t.Error("the .incomplete file is still there")
			}
		})
	}
}

func TestFetchResumesAfterDroppedConnection(t *testing.T) {
	h := newFakeHub(t)
	h.dropAfter = map[string]int{"model.safetensors": 1000}
	endpoint := startHub(t, h)
	dest := t.TempDir()
	err := Fetch(context.Background(), testRepo, "main", dest, Options{Endpoint: endpoint})
	if err == nil || !strings.Contains(err.Error(), "partial download kept") {
		t.Fatalf("got %v, want a dropped-connection error", err)
	}
	if fi, err := os.Stat(filepath.Join(dest, "model.safetensors.incomplete")); err != nil || fi.Size() != 1000 {
		t.Fatalf("partial file: %v, %v", fi, err)
	}
	if err := Fetch(context.Background(), testRepo, "main", dest, Options{Endpoint: endpoint}); err != nil {
		t.Fatal(err)
	}
	if got := h.ranges["model.safetensors"]; !slices.Equal(got, []string{"bytes=1000-"}) {
		t.Errorf("Range headers %q, want [bytes=1000-]", got)
	}
	if got := readFile(t, filepath.Join(dest, "model.safetensors")); string(got) != string(h.files["model.safetensors"]) {
		t.Error("resumed file differs from the original")
	}
}

func TestFetchChecksumMismatch(t *testing.T) {
	for _, file := range []string{"model.safetensors", "config.json"} {
		t.Run(file, func(t *testing.T) {
			h := newFakeHub(t)
			h.corrupt[file] = true
			endpoint := startHub(t, h)
			dest := t.TempDir()
			err := Fetch(context.Background(), testRepo, "main", dest, Options{Endpoint: endpoint})
			if err == nil || !strings.Contains(err.Error(), "download "+file) || !strings.Contains(err.Error(), "checksum mismatch") {
				t.Fatalf("got %v, want a checksum mismatch for %s", err, file)
			}
			for _, f := range []string{file, file + ".incomplete"} {
				if _, err := os.Stat(filepath.Join(dest, f)); err == nil {
					t.Errorf("%s exists after a checksum mismatch", f)
				}
			}
		})
	}
}

func TestFetchErrors(t *testing.T) {
	tests := []struct {
		name     string
		repo     string
		revision string
		setup    func(h *fakeHub)
		wantErr  []string
	}{
		{"unknown repo", "test-org/nope", "main", nil, []string{"404", "Repository not found", "not found"}},
		{"unknown revision", testRepo, "v9", nil, []string{"404", "/revision/v9"}},
		{"gated", testRepo, "main", func(h *fakeHub) { h.token = "secret" }, []string{"401", "set HF_TOKEN"}},
		{"no weights", testRepo, "main", func(h *fakeHub) {
			delete(h.files, "model.safetensors")
			delete(h.files, "pytorch_model.bin")
		}, []string{"no model.safetensors or pytorch_model.bin"}},
		{"no config", testRepo, "main", func(h *fakeHub) { delete(h.files, "config.json") }, []string{"no config.json"}},
		{"bad repo name", "just-a-name", "main", nil, []string{"owner/name"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newFakeHub(t)
			if tc.setup != nil {
				tc.setup(h)
			}
			endpoint := startHub(t, h)
			err := Fetch(context.Background(), tc.repo, tc.revision, t.TempDir(), Options{Endpoint: endpoint})
			for _, want := range tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("got %v, want it to contain %q", err, want)
				}
			}
		})
	}
}

func TestFetchTokenAndEndpointFromEnv(t *testing.T) {
	h := newFakeHub(t)
	h.token = "secret"
	endpoint := startHub(t, h)
	t.Setenv("HF_ENDPOINT", endpoint)
	t.Setenv("HF_TOKEN", "secret")
	dest := t.TempDir()
	// A revision with a slash must travel as one escaped path segment.
	if err := Fetch(context.Background(), testRepo, "refs/pr/1", dest, Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dest, "model.safetensors")); err != nil {
		t.Error(err)
	}
}

func TestFetchFallsBackToPyTorch(t *testing.T) {
	h := newFakeHub(t)
	bin := readFile(t, "../../../testdata/weights/tiny_pytorch_model.bin")
	h.files["pytorch_model.bin"] = bin
	delete(h.files, "model.safetensors")
	endpoint := startHub(t, h)
	dest := t.TempDir()
	if err := Fetch(context.Background(), testRepo, "main", dest, Options{Endpoint: endpoint}); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dest, "pytorch_model.bin")); string(got) != string(bin) {
		t.Error("pytorch_model.bin differs")
	}
	if _, used, err := weights.LoadDir(dest); err != nil || filepath.Base(used) != "pytorch_model.bin" {
		t.Errorf("LoadDir: %s, %v", used, err)
	}
}

func TestFetchShards(t *testing.T) {
	h := newFakeHub(t)
	delete(h.files, "model.safetensors")
	h.files["model.safetensors.index.json"] = []byte(`{"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}`)
	h.files["model-00001-of-00002.safetensors"] = []byte("shard one")
	h.files["model-00002-of-00002.safetensors"] = []byte("shard two")
	h.lfs["model-00001-of-00002.safetensors"] = true
	endpoint := startHub(t, h)
	dest := t.TempDir()
	if err := Fetch(context.Background(), testRepo, "main", dest, Options{Endpoint: endpoint}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"} {
		if got := readFile(t, filepath.Join(dest, f)); string(got) != string(h.files[f]) {
			t.Errorf("%s differs", f)
		}
	}

	h.files["model.safetensors.index.json"] = []byte(`{"weight_map":{"a":"../../etc/passwd"}}`)
	err := Fetch(context.Background(), testRepo, "main", t.TempDir(), Options{Endpoint: endpoint})
	if err == nil || !strings.Contains(err.Error(), "is not a file of the repository") {
		t.Errorf("hostile shard name: got %v", err)
	}
}

func TestFetchNetworkError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	endpoint := srv.URL
	srv.Close()
	err := Fetch(context.Background(), testRepo, "main", t.TempDir(), Options{Endpoint: endpoint})
	if err == nil || !strings.Contains(err.Error(), endpoint+"/api/models/"+testRepo) {
		t.Errorf("got %v, want an error naming the URL", err)
	}
}
