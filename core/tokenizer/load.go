package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
)

// LoadFS reads a tokenizer from a Hugging Face model folder, the root of fsys:
// tokenizer.json when present, otherwise vocab.txt with the settings of
// tokenizer_config.json (bert-base-uncased defaults when that file is absent, as
// transformers assumes). Errors name the file and, where it applies, the field.
func LoadFS(fsys fs.FS) (*Tokenizer, error) {
	data, err := fs.ReadFile(fsys, "tokenizer.json")
	if err == nil {
		t, err := parseTokenizerJSON(data)
		if err != nil {
			return nil, fmt.Errorf("load tokenizer.json: %w", err)
		}
		return t, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("load tokenizer: %w", err)
	}
	vocabData, err := fs.ReadFile(fsys, "vocab.txt")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errors.New("load tokenizer: neither tokenizer.json nor vocab.txt is there")
	}
	if err != nil {
		return nil, fmt.Errorf("load tokenizer: %w", err)
	}
	configData, err := fs.ReadFile(fsys, "tokenizer_config.json")
	if errors.Is(err, fs.ErrNotExist) {
		configData = nil
	} else if err != nil {
		return nil, fmt.Errorf("load tokenizer: %w", err)
	}
	opts, err := parseTokenizerConfig(configData)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer_config.json: %w", err)
	}
	vocab := parseVocabTxt(vocabData)
	opts.SpecialTokens = longestFirst(inVocab(opts.SpecialTokens, vocab))
	t, err := New(vocab, opts)
	if err != nil {
		return nil, fmt.Errorf("load vocab.txt: %w", err)
	}
	return t, nil
}

// Load is LoadFS(os.DirFS(dir)); errors start with dir.
func Load(dir string) (*Tokenizer, error) {
	t, err := LoadFS(os.DirFS(dir))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return t, nil
}

// parseVocabTxt returns one token per line. Like transformers' load_vocab it strips only the
// "\n", so a token keeps any other whitespace it has.
func parseVocabTxt(data []byte) []string {
	text := strings.TrimSuffix(string(data), "\n")
	if text == "" {
		return nil
	}
	return strings.Split(text, "\n")
}

// inVocab keeps the special tokens that vocab holds: transformers would append the others as
// new ids, which no checkpoint's embedding table has rows for.
func inVocab(special, vocab []string) []string {
	found := make(map[string]bool, len(special))
	for _, tok := range special {
		found[tok] = false
	}
	for _, tok := range vocab {
		if _, ok := found[tok]; ok {
			found[tok] = true
		}
	}
	kept := special[:0]
	for _, tok := range special {
		if found[tok] {
			kept = append(kept, tok)
		}
	}
	return kept
}

// longestFirst drops repeated special tokens and orders the rest longest first, keeping the
// order of tokens of one length: the order New gives them. New sorts by insertion, which
// takes time quadratic in the number of tokens unless they come sorted, and a file may list
// thousands.
func longestFirst(special []string) []string {
	seen := make(map[string]bool, len(special))
	kept := special[:0]
	for _, tok := range special {
		if !seen[tok] {
			seen[tok] = true
			kept = append(kept, tok)
		}
	}
	slices.SortStableFunc(kept, func(a, b string) int { return len(b) - len(a) })
	return kept
}

// tokenizerJSON is the part of HF's tokenizer.json that a BERT WordPiece tokenizer uses.
type tokenizerJSON struct {
	Truncation *struct {
		MaxLength int `json:"max_length"`
	} `json:"truncation"`
	Padding *struct {
		PadToken string `json:"pad_token"`
	} `json:"padding"`
	AddedTokens []struct {
		ID         int    `json:"id"`
		Content    string `json:"content"`
		Normalized bool   `json:"normalized"`
		SingleWord bool   `json:"single_word"`
		Lstrip     bool   `json:"lstrip"`
		Rstrip     bool   `json:"rstrip"`
	} `json:"added_tokens"`
	Normalizer *struct {
		Type               string `json:"type"`
		CleanText          bool   `json:"clean_text"`
		HandleChineseChars bool   `json:"handle_chinese_chars"`
		StripAccents       *bool  `json:"strip_accents"`
		Lowercase          bool   `json:"lowercase"`
	} `json:"normalizer"`
	PreTokenizer *struct {
		Type string `json:"type"`
	} `json:"pre_tokenizer"`
	PostProcessor *struct {
		Type   string             `json:"type"`
		Single []templatePiece    `json:"single"`
		Cls    [2]json.RawMessage `json:"cls"`
		Sep    [2]json.RawMessage `json:"sep"`
	} `json:"post_processor"`
	Model struct {
		Type                    string           `json:"type"`
		UnkToken                string           `json:"unk_token"`
		ContinuingSubwordPrefix string           `json:"continuing_subword_prefix"`
		MaxInputCharsPerWord    int              `json:"max_input_chars_per_word"`
		Vocab                   map[string]int64 `json:"vocab"`
	} `json:"model"`
}

type templatePiece struct {
	SpecialToken *struct {
		ID string `json:"id"`
	} `json:"SpecialToken"`
	Sequence *struct {
		ID string `json:"id"`
	} `json:"Sequence"`
}

func parseTokenizerJSON(data []byte) (*Tokenizer, error) {
	var tj tokenizerJSON
	if err := json.Unmarshal(data, &tj); err != nil {
		return nil, fmt.Errorf("parse json: %w", err)
	}
	if tj.Model.Type != "WordPiece" {
		return nil, fmt.Errorf("field model.type: %q is not supported, want WordPiece", tj.Model.Type)
	}
	if len(tj.Model.Vocab) == 0 {
		return nil, errors.New("field model.vocab: empty")
	}
	tokens := make([]string, len(tj.Model.Vocab))
	seen := make([]bool, len(tj.Model.Vocab))
	for tok, id := range tj.Model.Vocab {
		if id < 0 || id >= int64(len(tokens)) || seen[id] {
			return nil, fmt.Errorf("field model.vocab: token %q: id %d is out of range or repeated", tok, id)
		}
		tokens[id], seen[id] = tok, true
	}

	opts := Options{
		UnkToken:                tj.Model.UnkToken,
		ContinuingSubwordPrefix: tj.Model.ContinuingSubwordPrefix,
		MaxInputCharsPerWord:    tj.Model.MaxInputCharsPerWord,
		SpecialTokens:           []string{},
	}
	if n := tj.Normalizer; n != nil {
		if n.Type != "BertNormalizer" {
			return nil, fmt.Errorf("field normalizer.type: %q is not supported, want BertNormalizer", n.Type)
		}
		opts.CleanText, opts.HandleChineseChars, opts.Lowercase = n.CleanText, n.HandleChineseChars, n.Lowercase
		opts.StripAccents = stripAccents(n.StripAccents)
	}
	if p := tj.PreTokenizer; p == nil || p.Type != "BertPreTokenizer" {
		return nil, errors.New("field pre_tokenizer: only BertPreTokenizer is supported")
	}
	cls, sep, err := parsePostProcessor(&tj)
	if err != nil {
		return nil, err
	}
	opts.ClsToken, opts.SepToken = cls, sep
	if tj.Padding != nil {
		opts.PadToken = tj.Padding.PadToken
	}
	if tj.Truncation != nil {
		opts.MaxLength = tj.Truncation.MaxLength
	}
	for i, a := range tj.AddedTokens {
		if a.Normalized || a.SingleWord || a.Lstrip || a.Rstrip {
			return nil, fmt.Errorf("field added_tokens[%d]: %q: normalized, single_word, lstrip and rstrip are not supported", i, a.Content)
		}
		if id, ok := tj.Model.Vocab[a.Content]; !ok || id != int64(a.ID) {
			return nil, fmt.Errorf("field added_tokens[%d]: %q: id %d is not its id in model.vocab", i, a.Content, a.ID)
		}
		opts.SpecialTokens = append(opts.SpecialTokens, a.Content)
	}
	opts.SpecialTokens = longestFirst(opts.SpecialTokens)
	t, err := New(tokens, opts)
	if err != nil {
		return nil, fmt.Errorf("field model: %w", err)
	}
	return t, nil
}

// parsePostProcessor returns the tokens that frame a single sequence: [CLS] A [SEP].
func parsePostProcessor(tj *tokenizerJSON) (cls, sep string, err error) {
	p := tj.PostProcessor
	if p == nil {
		return "", "", errors.New("field post_processor: missing; [CLS] and [SEP] are required")
	}
	switch p.Type {
	case "TemplateProcessing":
		s := p.Single
		if len(s) != 3 || s[0].SpecialToken == nil || s[1].Sequence == nil || s[2].SpecialToken == nil {
			return "", "", errors.New("field post_processor.single: want [special, sequence, special]")
		}
		return s[0].SpecialToken.ID, s[2].SpecialToken.ID, nil
	case "BertProcessing":
		if err := json.Unmarshal(p.Cls[0], &cls); err != nil {
			return "", "", fmt.Errorf("field post_processor.cls: %w", err)
		}
		if err := json.Unmarshal(p.Sep[0], &sep); err != nil {
			return "", "", fmt.Errorf("field post_processor.sep: %w", err)
		}
		return cls, sep, nil
	}
	return "", "", fmt.Errorf("field post_processor.type: %q is not supported", p.Type)
}

func stripAccents(v *bool) StripAccents {
	switch {
	case v == nil:
		return StripAccentsAuto
	case *v:
		return StripAccentsOn
	}
	return StripAccentsOff
}

// tokenizerConfig is the part of transformers' tokenizer_config.json that BertTokenizer reads.
type tokenizerConfig struct {
	DoLowerCase          *bool           `json:"do_lower_case"`
	TokenizeChineseChars *bool           `json:"tokenize_chinese_chars"`
	StripAccents         *bool           `json:"strip_accents"`
	ModelMaxLength       float64         `json:"model_max_length"`
	UnkToken             json.RawMessage `json:"unk_token"`
	ClsToken             json.RawMessage `json:"cls_token"`
	SepToken             json.RawMessage `json:"sep_token"`
	PadToken             json.RawMessage `json:"pad_token"`
	MaskToken            json.RawMessage `json:"mask_token"`
	AddedTokensDecoder   map[string]struct {
		Content string `json:"content"`
	} `json:"added_tokens_decoder"`
}

// parseTokenizerConfig maps tokenizer_config.json (nil: absent) to the Options that
// BertTokenizerFast would build from it.
func parseTokenizerConfig(data []byte) (Options, error) {
	opts := DefaultOptions()
	if data == nil {
		return opts, nil
	}
	var c tokenizerConfig
	if err := json.Unmarshal(data, &c); err != nil {
		return Options{}, fmt.Errorf("parse json: %w", err)
	}
	if c.DoLowerCase != nil {
		opts.Lowercase = *c.DoLowerCase
	}
	if c.TokenizeChineseChars != nil {
		opts.HandleChineseChars = *c.TokenizeChineseChars
	}
	opts.StripAccents = stripAccents(c.StripAccents)
	// transformers writes a huge sentinel (1e30) when the model sets no limit.
	if c.ModelMaxLength > 0 && c.ModelMaxLength <= 1<<20 {
		opts.MaxLength = int(c.ModelMaxLength)
	}
	mask := "[MASK]"
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		dst  *string
	}{
		{"unk_token", c.UnkToken, &opts.UnkToken},
		{"cls_token", c.ClsToken, &opts.ClsToken},
		{"sep_token", c.SepToken, &opts.SepToken},
		{"pad_token", c.PadToken, &opts.PadToken},
		{"mask_token", c.MaskToken, &mask},
	} {
		tok, err := tokenContent(f.raw)
		if err != nil {
			return Options{}, fmt.Errorf("field %s: %w", f.name, err)
		}
		if tok != "" {
			*f.dst = tok
		}
	}
	if len(c.AddedTokensDecoder) > 0 {
		for _, a := range c.AddedTokensDecoder {
			opts.SpecialTokens = append(opts.SpecialTokens, a.Content)
		}
	} else {
		opts.SpecialTokens = []string{orDefault(opts.PadToken, "[PAD]"), orDefault(opts.UnkToken, "[UNK]"),
			orDefault(opts.ClsToken, "[CLS]"), orDefault(opts.SepToken, "[SEP]"), mask}
	}
	return opts, nil
}

// tokenContent reads a special token written either as a string or as an AddedToken object.
func tokenContent(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if raw[0] == '"' {
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	var obj struct {
		Content string `json:"content"`
	}
	err := json.Unmarshal(raw, &obj)
	return obj.Content, err
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
