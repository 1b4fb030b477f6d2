package tokenizer

import (
	"encoding/json"
	"fmt"
	"io"
)

// WriteJSON writes the tokenizer as a Hugging Face tokenizer.json that LoadFS reads back
// into a tokenizer with the same Digest: a BertNormalizer, a BertPreTokenizer, a
// TemplateProcessing of [CLS] A [SEP], the special tokens as added tokens, and the WordPiece
// vocabulary. A bundle carries the tokenizer this way, whatever files it came from.
func (t *Tokenizer) WriteJSON(w io.Writer) error {
	type added struct {
		ID         int    `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		Lstrip     bool   `json:"lstrip"`
		Rstrip     bool   `json:"rstrip"`
		Normalized bool   `json:"normalized"`
		Special    bool   `json:"special"`
	}
	vocab := make(map[string]int, len(t.tokens))
	for id, tok := range t.tokens {
		if _, dup := vocab[tok]; dup {
			return fmt.Errorf("write tokenizer.json: token %q appears twice in the vocabulary", tok)
		}
		vocab[tok] = id
	}
	var addedTokens []added
	for _, tok := range t.special {
		addedTokens = append(addedTokens, added{ID: int(t.vocab[tok]), Content: tok, Special: true})
	}
	var strip *bool
	switch t.opts.StripAccents {
	case StripAccentsOn:
		strip = new(true)
	case StripAccentsOff:
		strip = new(false)
	}
	piece := func(kind, id string) map[string]any {
		return map[string]any{kind: map[string]any{"id": id, "type_id": 0}}
	}
	doc := map[string]any{
		"version":      "1.0",
		"added_tokens": addedTokens,
		"normalizer": map[string]any{"type": "BertNormalizer", "clean_text": t.opts.CleanText,
			"handle_chinese_chars": t.opts.HandleChineseChars, "strip_accents": strip, "lowercase": t.opts.Lowercase},
		"pre_tokenizer": map[string]any{"type": "BertPreTokenizer"},
		"post_processor": map[string]any{"type": "TemplateProcessing",
			"single": []any{piece("SpecialToken", t.opts.ClsToken), piece("Sequence", "A"), piece("SpecialToken", t.opts.SepToken)}},
		"padding": map[string]any{"pad_token": t.opts.PadToken},
		"model": map[string]any{"type": "WordPiece", "unk_token": t.opts.UnkToken,
			"continuing_subword_prefix": t.opts.ContinuingSubwordPrefix,
			"max_input_chars_per_word":  t.opts.MaxInputCharsPerWord, "vocab": vocab},
	}
	if t.opts.MaxLength > 0 {
		doc["truncation"] = map[string]any{"max_length": t.opts.MaxLength}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}
