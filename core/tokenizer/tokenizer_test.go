package tokenizer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// tinyVocab is small enough to read every expected id off by eye.
var tinyVocab = []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "##s", ",", "!", "un", "##aff", "##able"}

func newTiny(t testing.TB) *Tokenizer {
	t.Helper()
	tok, err := New(tinyVocab, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestEncodeTiny(t *testing.T) {
	tok := newTiny(t)
	tests := []struct {
		text   string
		maxLen int
		want   []int32
	}{
		{"", 0, []int32{2, 3}},
		{"Hello, worlds!", 0, []int32{2, 5, 8, 6, 7, 9, 3}},
		{"unaffable", 0, []int32{2, 10, 11, 12, 3}},
		{"unaffablex", 0, []int32{2, 1, 3}},
		{"hello [MASK]world", 0, []int32{2, 5, 4, 6, 3}},
		{"Hello, worlds!", 4, []int32{2, 5, 8, 3}},
		{"Hello, worlds!", 2, []int32{2, 3}},
		{"Hello, worlds!", 1, []int32{2}},
		{"Hello, worlds!", 7, []int32{2, 5, 8, 6, 7, 9, 3}},
		{"h\xffello", 0, []int32{2, 5, 3}},
		{strings.Repeat("s", 101), 0, []int32{2, 1, 3}},
	}
	for _, tt := range tests {
		if got := tok.Encode(tt.text, tt.maxLen); !slices.Equal(got, tt.want) {
			t.Errorf("Encode(%q, %d) = %v, want %v", tt.text, tt.maxLen, got, tt.want)
		}
	}
	if got, want := tok.Tokenize("Hello, worlds!"), []string{"hello", ",", "world", "##s", "!"}; !slices.Equal(got, want) {
		t.Errorf("Tokenize = %q, want %q", got, want)
	}
}

func TestEncodeBatch(t *testing.T) {
	tok := newTiny(t)
	b := tok.EncodeBatch([]string{"hello", "", "hello world!"}, 0)
	want := Batch{
		IDs:     []int32{2, 5, 3, 0, 0, 2, 3, 0, 0, 0, 2, 5, 6, 9, 3},
		Mask:    []int32{1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1},
		TypeIDs: make([]int32, 15),
		Lens:    []int{3, 2, 5},
		SeqLen:  5,
		Size:    3,
	}
	if !slices.Equal(b.IDs, want.IDs) || !slices.Equal(b.Mask, want.Mask) || !slices.Equal(b.TypeIDs, want.TypeIDs) ||
		!slices.Equal(b.Lens, want.Lens) || b.SeqLen != want.SeqLen || b.Size != want.Size {
		t.Errorf("EncodeBatch =\n%+v\nwant\n%+v", b, want)
	}
	if b := tok.EncodeBatch([]string{"hello world!"}, 3); b.SeqLen != 3 || !slices.Equal(b.IDs, []int32{2, 5, 3}) {
		t.Errorf("EncodeBatch truncated to 3 = %+v", b)
	}
	if b := tok.EncodeBatch(nil, 0); b.Size != 0 || b.SeqLen != 0 || len(b.IDs) != 0 {
		t.Errorf("EncodeBatch(nil) = %+v, want empty", b)
	}
}

func TestAccessors(t *testing.T) {
	tok := loadDefault(t)
	for _, tt := range []struct {
		name      string
		got, want int32
	}{{"PadID", tok.PadID(), 0}, {"UNKID", tok.UNKID(), 100}, {"CLSID", tok.CLSID(), 101}, {"SEPID", tok.SEPID(), 102}} {
		if tt.got != tt.want {
			t.Errorf("%s = %d, want %d", tt.name, tt.got, tt.want)
		}
	}
	if tok.VocabSize() != 30522 {
		t.Errorf("VocabSize = %d, want 30522", tok.VocabSize())
	}
	if id, ok := tok.TokenID("[MASK]"); !ok || id != 103 {
		t.Errorf("TokenID([MASK]) = %d, %v", id, ok)
	}
	if tok.Options().MaxLength != 128 {
		t.Errorf("MaxLength = %d, want tokenizer.json's 128", tok.Options().MaxLength)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string // substring of the error
	}{
		{"empty dir", nil, "neither tokenizer.json nor vocab.txt"},
		{"corrupt tokenizer.json", map[string]string{"tokenizer.json": "{"}, "tokenizer.json: parse json"},
		{"not wordpiece", map[string]string{"tokenizer.json": `{"model":{"type":"BPE"}}`}, "tokenizer.json: field model.type"},
		{"empty vocab", map[string]string{"tokenizer.json": `{"model":{"type":"WordPiece","vocab":{}}}`}, "field model.vocab: empty"},
		{"id out of range", map[string]string{"tokenizer.json": `{"model":{"type":"WordPiece","vocab":{"a":5}}}`}, `field model.vocab: token "a"`},
		{"other normalizer", map[string]string{"tokenizer.json": `{"normalizer":{"type":"NFC"},"model":{"type":"WordPiece","vocab":{"a":0}}}`}, "field normalizer.type"},
		{"no pre-tokenizer", map[string]string{"tokenizer.json": `{"model":{"type":"WordPiece","vocab":{"a":0}}}`}, "field pre_tokenizer"},
		{"no post-processor", map[string]string{"tokenizer.json": `{"pre_tokenizer":{"type":"BertPreTokenizer"},"model":{"type":"WordPiece","vocab":{"a":0}}}`}, "field post_processor"},
		{"missing unk", map[string]string{"tokenizer.json": `{"pre_tokenizer":{"type":"BertPreTokenizer"},"post_processor":{"type":"BertProcessing","cls":["a",0],"sep":["a",0]},"model":{"type":"WordPiece","unk_token":"[UNK]","vocab":{"a":0}}}`}, `unk token "[UNK]" is not in the vocabulary`},
		{"corrupt config", map[string]string{"vocab.txt": "[UNK]\n", "tokenizer_config.json": "nope"}, "tokenizer_config.json: parse json"},
		{"vocab without specials", map[string]string{"vocab.txt": "a\nb\n"}, `vocab.txt: tokenizer: unk token "[UNK]"`},
		{"empty vocab.txt", map[string]string{"vocab.txt": ""}, "vocab.txt: tokenizer: empty vocabulary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Load(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestLoadVocabTxtDefaults(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte(strings.Join(tinyVocab, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tok.Encode("HELLO [MASK]", 0), []int32{2, 5, 4, 3}; !slices.Equal(got, want) {
		t.Errorf("Encode = %v, want %v", got, want)
	}
}

func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", "Hello, world!", "café 北京 İ ß", "[CLS]x[SEP", "\xff\xfe\x00", strings.Repeat("ab", 80), "a\u0301\u0302 \u200d👍🏽"} {
		f.Add([]byte(s), 8)
	}
	tok := loadDefault(f)
	f.Fuzz(func(t *testing.T, data []byte, maxLen int) {
		maxLen %= 600
		ids := tok.Encode(string(data), maxLen)
		if !slices.Equal(ids, tok.Encode(string(data), maxLen)) {
			t.Fatal("Encode is not deterministic")
		}
		if maxLen > 0 && len(ids) > maxLen {
			t.Fatalf("len %d > maxLen %d", len(ids), maxLen)
		}
		if len(ids) == 0 || ids[0] != tok.CLSID() {
			t.Fatalf("ids %v do not start with [CLS]", ids)
		}
		for _, id := range ids {
			if id < 0 || int(id) >= tok.VocabSize() {
				t.Fatalf("id %d out of range", id)
			}
		}
	})
}

// scifactTexts returns the SciFact documents as the encoder sees them: title + " " + text.
func scifactTexts(b *testing.B) []string {
	path := filepath.Join(repoRoot(b), "..", "shared", "data", "scifact", "corpus.jsonl.gz")
	f, err := os.Open(path)
	if err != nil {
		b.Skipf("scifact corpus not available: %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	var texts []string
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var doc struct{ Title, Text string }
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
			b.Fatal(err)
		}
		texts = append(texts, doc.Title+" "+doc.Text)
	}
	return texts
}

// BenchmarkEncode encodes the whole SciFact corpus (5,183 documents) per iteration.
func BenchmarkEncode(b *testing.B) {
	tok := loadDefault(b)
	texts := scifactTexts(b)
	var bytes int64
	for _, s := range texts {
		bytes += int64(len(s))
	}
	b.SetBytes(bytes)
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range texts {
			tok.Encode(s, 512)
		}
	}
}

// TestWriteJSONRoundTrip writes the default model's and the test vocabularies' tokenizers
// as tokenizer.json and reads them back: same digest, same ids on the golden strings.
func TestWriteJSONRoundTrip(t *testing.T) {
	for _, dir := range []string{"../../models/all-MiniLM-L6-v2", "../../testdata/embeddings/tiny"} {
		tok, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := tok.WriteJSON(&buf); err != nil {
			t.Fatal(err)
		}
		back, err := LoadFS(fstest.MapFS{"tokenizer.json": {Data: buf.Bytes()}})
		if err != nil {
			t.Fatalf("%s: reading the written tokenizer.json: %v", dir, err)
		}
		if back.Digest() != tok.Digest() {
			t.Errorf("%s: digest %s after the round trip, %s before", dir, back.Digest(), tok.Digest())
		}
		for _, s := range []string{"Héllo, WORLD! 骨密度 [MASK] don't", "", "a\u0000b\u00adc"} {
			if a, b := tok.Encode(s, 64), back.Encode(s, 64); !slices.Equal(a, b) {
				t.Errorf("%s: %q → %v after the round trip, %v before", dir, s, b, a)
			}
		}
	}
	// vocab.txt with its tokenizer_config.json gives the same digest as the same model's
	// tokenizer.json.
	files := fstest.MapFS{}
	for _, name := range []string{"vocab.txt", "tokenizer_config.json"} {
		b, err := os.ReadFile(filepath.Join("../../models/all-MiniLM-L6-v2", name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = &fstest.MapFile{Data: b}
	}
	fromVocab, err := LoadFS(files)
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, _ := Load("../../models/all-MiniLM-L6-v2")
	if fromVocab.Digest() != fromJSON.Digest() {
		t.Errorf("vocab.txt + tokenizer_config.json digest %s, tokenizer.json %s", fromVocab.Digest(), fromJSON.Digest())
	}
}

func TestPrune(t *testing.T) {
	tok, err := Load("../../models/all-MiniLM-L6-v2")
	if err != nil {
		t.Fatal(err)
	}
	corpus := []string{"The quick brown fox jumps over the lazy dog.", "Vitamin D deficiency and bone density."}
	used := tok.Used(corpus)
	for _, mode := range []Pruning{PruneCorpus, PruneReachable} {
		pruned, old, err := tok.Prune(used, mode)
		if err != nil {
			t.Fatal(err)
		}
		// The corpus tokenizes to the same tokens, under new ids.
		for _, s := range corpus {
			a, b := tok.Encode(s, 0), pruned.Encode(s, 0)
			if len(a) != len(b) {
				t.Fatalf("mode %d: %q: %d tokens pruned, %d before", mode, s, len(b), len(a))
			}
			for i := range a {
				if int(a[i]) != old[b[i]] {
					t.Errorf("mode %d: %q token %d: new id %d is old %d, want %d", mode, s, i, b[i], old[b[i]], a[i])
				}
			}
		}
		q := pruned.Tokenize("zebras")
		t.Logf("mode %d: %d of %d tokens kept; \"zebras\" → %q", mode, pruned.VocabSize(), tok.VocabSize(), q)
		if mode == PruneCorpus && (len(q) != 1 || q[0] != "[UNK]") {
			t.Errorf("corpus pruning spells an unseen word as %q, want [UNK]", q)
		}
		if mode == PruneReachable && slices.Contains(q, "[UNK]") {
			t.Errorf("reachable pruning spells an unseen word as %q", q)
		}
	}
}
