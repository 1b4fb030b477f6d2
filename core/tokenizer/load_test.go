package tokenizer

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/sbmoe/sbmoe/internal/readbound"
)

// The fuzz targets of the loader check every input against a memory bound and a time limit,
// so that `go test` checks the bounds over the seed corpus and the regression inputs under
// testdata/fuzz, and `make fuzz` over what the fuzzer makes.

// loadBound: a token costs a string and a slot in the token list (twice: New copies it) and a
// slot in New's map, which is sized for every line of vocab.txt. The worst case is a
// vocab.txt of blank lines, about 90 bytes for each 1-byte line (TestLoadWorstCases); a
// tokenizer.json costs about 10 bytes per byte.
var loadBound = readbound.Bound{PerByte: 128, Fixed: 64 << 10}

// tinyTokenizerJSON is a tokenizer.json over tinyVocab.
func tinyTokenizerJSON() string {
	var vocab []string
	for id, tok := range tinyVocab {
		vocab = append(vocab, fmt.Sprintf("%q: %d", tok, id))
	}
	return `{"added_tokens": [{"id": 0, "content": "[PAD]"}, {"id": 4, "content": "[MASK]"}],
	"normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
	"pre_tokenizer": {"type": "BertPreTokenizer"},
	"post_processor": {"type": "BertProcessing", "cls": ["[CLS]", 2], "sep": ["[SEP]", 3]},
	"truncation": {"max_length": 128},
	"model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": {` +
		strings.Join(vocab, ", ") + `}}}`
}

func FuzzLoadTokenizerJSON(f *testing.F) {
	tiny, err := os.ReadFile(filepath.Join(repoRoot(f), "testdata", "embeddings", "tiny", "tokenizer.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tiny)
	f.Add([]byte(tinyTokenizerJSON()))
	f.Add([]byte(`{"model": {"type": "WordPiece", "vocab": {"a": 0, "b": 0}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var tok *Tokenizer
		var err error
		readbound.Check(t, len(data), loadBound, func() {
			tok, err = LoadFS(fstest.MapFS{"tokenizer.json": {Data: data}})
		})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "load tokenizer.json: ") {
				t.Errorf("error %q does not name the file", err)
			}
			return
		}
		tok.Encode("hello, unaffable world! [MASK]", 16)
	})
}

func FuzzLoadVocabTxt(f *testing.F) {
	vocab := []byte(strings.Join(tinyVocab, "\n") + "\n")
	f.Add(vocab, []byte(nil))
	f.Add(vocab, []byte(`{"do_lower_case": false, "model_max_length": 512, "unk_token": {"content": "[UNK]"}, "added_tokens_decoder": {"0": {"content": "[PAD]"}, "4": {"content": "[MASK]"}, "9": {"content": "[X]"}}}`))
	f.Add([]byte("[UNK]\n[CLS]\n[SEP]\n[PAD]"), []byte(`{"model_max_length": 1e30, "cls_token": 7}`))
	f.Fuzz(func(t *testing.T, vocab, config []byte) {
		fsys := fstest.MapFS{"vocab.txt": {Data: vocab}}
		if config != nil {
			fsys["tokenizer_config.json"] = &fstest.MapFile{Data: config}
		}
		var tok *Tokenizer
		var err error
		readbound.Check(t, len(vocab)+len(config), loadBound, func() { tok, err = LoadFS(fsys) })
		if err == nil {
			tok.Encode("hello, unaffable world! [MASK]", 16)
		}
	})
}

// TestLoadWorstCases: loading stays within its bound and time limit for the files that cost
// the most per byte, and for many special tokens, which once took time quadratic in their
// number (a linear search of the vocabulary for each, and New's insertion sort).
func TestLoadWorstCases(t *testing.T) {
	n := 50000 // the quadratic loader took longer than readbound.TimeLimit on these
	if runtime.GOARCH == "wasm" {
		n = 10000 // several times slower: the time limit is not the point there
	}
	var vocab, decoder, jsonVocab, added strings.Builder
	vocab.WriteString("[PAD]\n[UNK]\n[CLS]\n[SEP]\n")
	for i := range n {
		tok := fmt.Sprintf("[t%d%s]", i, strings.Repeat("x", i%7))
		fmt.Fprintf(&vocab, "%s\n", tok)
		fmt.Fprintf(&decoder, `%s"%d": {"content": %q}`, map[bool]string{true: "", false: ", "}[i == 0], i+4, tok)
		fmt.Fprintf(&jsonVocab, ", %q: %d", tok, i+4)
		fmt.Fprintf(&added, `%s{"id": %d, "content": %q}`, map[bool]string{true: "", false: ", "}[i == 0], i+4, tok)
	}
	var bytesVocab strings.Builder
	for i := range 256 {
		bytesVocab.WriteByte(byte(i))
		bytesVocab.WriteByte('\n')
	}
	manySpecial := `{"added_tokens": [` + added.String() + `],
		"pre_tokenizer": {"type": "BertPreTokenizer"}, "post_processor": {"type": "BertProcessing", "cls": ["[CLS]", 2], "sep": ["[SEP]", 3]},
		"model": {"type": "WordPiece", "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3` + jsonVocab.String() + `}}}`
	tests := []struct {
		name  string
		files fstest.MapFS
	}{
		{"many special tokens, tokenizer.json", fstest.MapFS{"tokenizer.json": {Data: []byte(manySpecial)}}},
		{"many special tokens, vocab.txt", fstest.MapFS{
			"vocab.txt":             {Data: []byte(vocab.String())},
			"tokenizer_config.json": {Data: []byte(`{"added_tokens_decoder": {` + decoder.String() + `}}`)},
		}},
		{"one-byte tokens", fstest.MapFS{"vocab.txt": {Data: []byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\n" + strings.Repeat(bytesVocab.String(), 256))}}},
		{"blank lines", fstest.MapFS{"vocab.txt": {Data: []byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\n" + strings.Repeat("\n", 1<<18))}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			size := 0
			for _, f := range tc.files {
				size += len(f.Data)
			}
			var err error
			readbound.Check(t, size, loadBound, func() { _, err = LoadFS(tc.files) })
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
