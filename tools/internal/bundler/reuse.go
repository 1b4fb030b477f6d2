package bundler

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sbmoe/sbmoe/core/bundle"
	"github.com/sbmoe/sbmoe/core/index"
)

// encodingsHeader starts EncodingsFile; the fingerprint follows on the next line, then one
// hex SHA-256 per line, in index order.
const encodingsHeader = "sbmoe-encodings 1"

func encodingsFile(fingerprint string, sums [][sha256.Size]byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\n%s\n", encodingsHeader, fingerprint)
	for _, s := range sums {
		b.WriteString(hex.EncodeToString(s[:]))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// prior is the bundle a Write replaces, as far as it can be reused. A missing or damaged
// previous bundle is simply not reused: nil is a valid *prior that offers nothing.
type prior struct {
	dir         string
	manifest    []byte
	fingerprint string
	files       map[string]bundle.File
	ix          *index.Index              // nil unless made by the same model, float32
	bySum       map[[sha256.Size]byte]int // encoded text → position in ix
}

// previous reads the manifest of the bundle in dir, if there is one.
func previous(dir string) *prior {
	raw, err := os.ReadFile(filepath.Join(dir, bundle.ManifestFile))
	if err != nil {
		return nil
	}
	m, err := bundle.ParseManifest(raw)
	if err != nil {
		return nil
	}
	p := &prior{dir: dir, manifest: raw, fingerprint: m.Fingerprint, files: map[string]bundle.File{}}
	for _, f := range m.Files {
		p.files[f.Path] = f
	}
	return p
}

// sameModel returns the previous bundle's fingerprint when its model/ files are exactly
// those of files: the fingerprint is a function of them.
func (p *prior) sameModel(files map[string][]byte) (string, bool) {
	if p == nil {
		return "", false
	}
	n := 0
	for path, data := range files {
		if !strings.HasPrefix(path, bundle.ModelDir+"/") {
			continue
		}
		n++
		if f, ok := p.files[path]; !ok || f.Size != int64(len(data)) || f.SHA256 != bundle.FileOf(path, data).SHA256 {
			return "", false
		}
	}
	for path := range p.files {
		if strings.HasPrefix(path, bundle.ModelDir+"/") {
			n--
		}
	}
	return p.fingerprint, n == 0
}

// loadVectors reads the previous bundle's vectors and the SHA-256 of the texts they
// encode, when a model of this fingerprint made them into a float32 index.
func (p *prior) loadVectors(fingerprint string) {
	if p == nil || p.fingerprint != fingerprint {
		return
	}
	sums, ok := readEncodings(filepath.Join(p.dir, EncodingsFile), fingerprint)
	if !ok {
		return
	}
	ix, err := index.ReadFile(filepath.Join(p.dir, bundle.IndexFile))
	if err != nil || ix.Kind() != index.Float32 || ix.Len() != len(sums) || ix.Origin().Fingerprint != fingerprint {
		return
	}
	p.ix, p.bySum = ix, make(map[[sha256.Size]byte]int, len(sums))
	for i, s := range sums {
		p.bySum[s] = i
	}
}

func readEncodings(file, fingerprint string) ([][sha256.Size]byte, bool) {
	f, err := os.Open(file)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() || sc.Text() != encodingsHeader || !sc.Scan() || sc.Text() != fingerprint {
		return nil, false
	}
	var sums [][sha256.Size]byte
	for sc.Scan() {
		var s [sha256.Size]byte
		if n, err := hex.Decode(s[:], sc.Bytes()); err != nil || n != sha256.Size {
			return nil, false
		}
		sums = append(sums, s)
	}
	return sums, sc.Err() == nil
}

// vector is the previous bundle's vector of a document whose encoded text has this
// SHA-256, or nil.
func (p *prior) vector(sum [sha256.Size]byte) []float32 {
	if p == nil || p.ix == nil {
		return nil
	}
	if i, ok := p.bySum[sum]; ok {
		return p.ix.Vector(i)
	}
	return nil
}

// compressed returns the previous bundle's .br and .gz copies of file p when its data is
// the same.
func (p *prior) compressed(path string, data []byte) (br, gz []byte, ok bool) {
	if p == nil {
		return nil, nil, false
	}
	f, listed := p.files[path]
	if !listed || f.Size != int64(len(data)) || f.SHA256 != bundle.FileOf(path, data).SHA256 {
		return nil, nil, false
	}
	br, err1 := os.ReadFile(filepath.Join(p.dir, filepath.FromSlash(path)+".br"))
	gz, err2 := os.ReadFile(filepath.Join(p.dir, filepath.FromSlash(path)+".gz"))
	return br, gz, err1 == nil && err2 == nil && len(br) > 0 && len(gz) > 0
}

// complete reports whether every file the previous manifest lists is there at its size,
// with its .br and .gz copies when compress asks for them, and the encodings file.
func (p *prior) complete(compress bool) bool {
	if p == nil || p.ix == nil {
		return false
	}
	for _, f := range p.files {
		file := filepath.Join(p.dir, filepath.FromSlash(f.Path))
		st, err := os.Stat(file)
		if err != nil || st.Size() != f.Size {
			return false
		}
		for _, ext := range []string{".br", ".gz"} {
			_, err := os.Stat(file + ext)
			if want := compress && f.Size >= 1024; want != (err == nil) {
				return false
			}
		}
	}
	return true
}

// brotli sums the sizes a page downloads of the previous bundle's files, as .br where
// there is one: all of them, and those of the first results.
func (p *prior) brotli(m bundle.Manifest) (all, firstOnly int64) {
	for _, f := range m.Files {
		size := f.Size
		if st, err := os.Stat(filepath.Join(p.dir, filepath.FromSlash(f.Path)+".br")); err == nil && !strings.HasSuffix(f.Path, ".br") {
			size = st.Size()
		}
		if downloaded(f.Path) {
			all += size
		}
		if first(f.Path) {
			firstOnly += size
		}
	}
	return all, firstOnly
}
