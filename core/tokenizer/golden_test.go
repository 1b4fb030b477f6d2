package tokenizer

import (
	"bufio"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"unicode"
)

// repoRoot walks up from the package directory to the directory holding go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the package directory")
		}
		dir = parent
	}
}

// modelDir returns the default model directory, skipping the test when it was not fetched.
func modelDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "models", "all-MiniLM-L6-v2")
	if _, err := os.Stat(filepath.Join(dir, "tokenizer.json")); err != nil {
		t.Skipf("default model not fetched (%v); run tools/scripts/fetch-default-model.sh", err)
	}
	return dir
}

func loadDefault(t testing.TB) *Tokenizer {
	t.Helper()
	tok, err := Load(modelDir(t))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type goldenRecord struct {
	Source string  `json:"source"`
	Config string  `json:"config"`
	Text   string  `json:"text"`
	RawHex string  `json:"raw_hex"`
	IDs    []int32 `json:"ids"`
	IDs512 []int32 `json:"ids512"`
}

// input is the string to encode: the raw bytes for the invalid UTF-8 cases, whose text field
// holds what Python's errors="replace" decoding made of them.
func (r goldenRecord) input(t testing.TB) string {
	if r.RawHex == "" {
		return r.Text
	}
	raw, err := hex.DecodeString(r.RawHex)
	if err != nil {
		t.Fatalf("raw_hex %q: %v", r.RawHex, err)
	}
	return string(raw)
}

// readGolden reads a gzipped JSON-lines golden file: a header object, then one record a line.
func readGolden(t testing.TB, name string) (header map[string]any, recs []goldenRecord) {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(t), "testdata", "tokenizer", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		if header == nil {
			if err := json.Unmarshal(sc.Bytes(), &header); err != nil {
				t.Fatalf("%s: header: %v", name, err)
			}
			continue
		}
		var r goldenRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: record %d: %v", name, len(recs), err)
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return header, recs
}

// checkGolden encodes every record untruncated and at 512 and reports each mismatch.
func checkGolden(t *testing.T, tok *Tokenizer, recs []goldenRecord) (matched int) {
	t.Helper()
	for i, r := range recs {
		in := r.input(t)
		got, got512 := tok.Encode(in, 0), tok.Encode(in, 512)
		if !slices.Equal(got, r.IDs) || !slices.Equal(got512, r.IDs512) {
			t.Errorf("record %d (%s %s) %q:\n got %v\nwant %v\n got512 len %d, want %d", i, r.Source, r.Config, r.Text, got, r.IDs, len(got512), len(r.IDs512))
			continue
		}
		if pieces := tok.Tokenize(in); len(pieces) != len(r.IDs)-2 {
			t.Errorf("record %d: Tokenize gave %d pieces, want %d", i, len(pieces), len(r.IDs)-2)
			continue
		}
		matched++
	}
	return matched
}

func TestGolden(t *testing.T) {
	tok := loadDefault(t)
	header, recs := readGolden(t, "golden.jsonl.gz")
	if len(recs) < 2000 {
		t.Fatalf("golden.jsonl.gz has %d records, want >= 2000", len(recs))
	}
	matched := checkGolden(t, tok, recs)
	t.Logf("%d/%d golden strings identical to tokenizers %v", matched, len(recs), header["tokenizers"])
}

// TestGoldenOptions covers the Options paths with configs that the generator set on HF's
// BertNormalizer programmatically, over the same vocabulary.
func TestGoldenOptions(t *testing.T) {
	base := loadDefault(t)
	_, recs := readGolden(t, "golden_options.jsonl.gz")
	configs := map[string]Options{
		"cased":              {CleanText: true, HandleChineseChars: true, StripAccents: StripAccentsOff},
		"lower_keep_accents": {CleanText: true, HandleChineseChars: true, Lowercase: true, StripAccents: StripAccentsOff},
		"strip_no_lower":     {CleanText: true, HandleChineseChars: true, StripAccents: StripAccentsOn},
		"raw":                {Lowercase: true},
	}
	byConfig := map[string][]goldenRecord{}
	for _, r := range recs {
		byConfig[r.Config] = append(byConfig[r.Config], r)
	}
	for name, opts := range configs {
		t.Run(name, func(t *testing.T) {
			if len(byConfig[name]) == 0 {
				t.Fatalf("no golden records for config %q", name)
			}
			tok, err := New(base.tokens, opts)
			if err != nil {
				t.Fatal(err)
			}
			matched := checkGolden(t, tok, byConfig[name])
			t.Logf("%d/%d strings identical", matched, len(byConfig[name]))
		})
	}
	if len(byConfig) != len(configs) {
		t.Errorf("golden has %d configs, test knows %d", len(byConfig), len(configs))
	}
}

// TestVocabTxtMatchesTokenizerJSON loads the same model from vocab.txt + tokenizer_config.json.
func TestVocabTxtMatchesTokenizerJSON(t *testing.T) {
	src := modelDir(t)
	dir := t.TempDir()
	for _, name := range []string{"vocab.txt", "tokenizer_config.json"} {
		data, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Skipf("model has no %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fromTxt, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	fromJSON := loadDefault(t)
	if fromTxt.VocabSize() != fromJSON.VocabSize() {
		t.Fatalf("VocabSize: vocab.txt %d, tokenizer.json %d", fromTxt.VocabSize(), fromJSON.VocabSize())
	}
	_, recs := readGolden(t, "golden.jsonl.gz")
	for i, r := range recs {
		in := r.input(t)
		if a, b := fromTxt.Encode(in, 512), fromJSON.Encode(in, 512); !slices.Equal(a, b) {
			t.Errorf("record %d %q: vocab.txt %v, tokenizer.json %v", i, r.Text, a, b)
		}
	}
}

// TestCodepoints checks every code point on its own against HF's normalizer and
// pre-tokenizer: classes, NFD + mark stripping, and lowercasing.
func TestCodepoints(t *testing.T) {
	f, err := os.Open(filepath.Join(repoRoot(t), "testdata", "tokenizer", "codepoints.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var cp struct {
		Removed, Chinese, Punct [][2]rune
		Space                   []rune
		SplitSpace              []rune `json:"split_space"`
		Strip, Lower            map[string]string
	}
	if err := json.NewDecoder(zr).Decode(&cp); err != nil {
		t.Fatal(err)
	}
	in := func(r rune, ranges [][2]rune) bool {
		_, found := slices.BinarySearchFunc(ranges, r, func(rg [2]rune, r rune) int {
			switch {
			case rg[1] < r:
				return -1
			case rg[0] > r:
				return 1
			}
			return 0
		})
		return found
	}
	mapping := func(m map[string]string) map[rune]string {
		out := make(map[rune]string, len(m))
		for k, v := range m {
			n, err := strconv.Atoi(k)
			if err != nil {
				t.Fatal(err)
			}
			out[rune(n)] = v
		}
		return out
	}
	strip, lower := mapping(cp.Strip), mapping(cp.Lower)
	stripper := &Tokenizer{opts: Options{}, stripAccents: true}
	lowerer := &Tokenizer{opts: Options{Lowercase: true}}
	var sc scratch
	errs := 0
	check := func(what string, r rune, got, want any) {
		if got != want && errs < 20 {
			errs++
			t.Errorf("U+%04X %s: got %q, want %q", r, what, got, want)
		}
	}
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue
		}
		s := string(r)
		check("removed", r, unicode.Is(hfRemoved, r), in(r, cp.Removed))
		check("space", r, !unicode.Is(hfRemoved, r) && r != ' ' && unicode.IsSpace(r), slices.Contains(cp.Space, r))
		check("chinese", r, isChineseChar(r), in(r, cp.Chinese))
		check("punct", r, unicode.Is(hfPunct, r), in(r, cp.Punct))
		check("split_space", r, unicode.IsSpace(r), slices.Contains(cp.SplitSpace, r))
		want, ok := strip[r]
		if !ok {
			want = s
		}
		check("strip", r, string(stripper.normalize(nil, s, &sc)), want)
		if want, ok = lower[r]; !ok {
			want = s
		}
		check("lower", r, string(lowerer.normalize(nil, s, &sc)), want)
	}
}
