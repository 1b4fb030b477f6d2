package tokenizer

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// StripAccents says whether the normalizer removes accents (NFD, then drop non-spacing marks).
type StripAccents int8

const (
	// StripAccentsAuto follows Lowercase, as HF does when strip_accents is null.
	StripAccentsAuto StripAccents = iota
	StripAccentsOn                // always strip (HF strip_accents: true)
	StripAccentsOff               // never strip (HF strip_accents: false)
)

// Options configure New. The zero value normalizes nothing; DefaultOptions is bert-base-uncased.
type Options struct {
	CleanText          bool // drop control characters, U+0000 and U+FFFD; whitespace -> ' '
	HandleChineseChars bool // put spaces around CJK ideographs
	Lowercase          bool
	StripAccents       StripAccents

	// Token names; empty means "[UNK]", "[CLS]", "[SEP]", "[PAD]". Each must be in the vocabulary.
	UnkToken, ClsToken, SepToken, PadToken string
	// SpecialTokens are cut out of the raw text before normalization and kept whole (HF's
	// added tokens with normalized=false). Nil means the four above plus "[MASK]", those of
	// them that the vocabulary holds.
	SpecialTokens []string
	// ContinuingSubwordPrefix marks non-initial word pieces; empty means "##".
	ContinuingSubwordPrefix string
	// MaxInputCharsPerWord: longer words become [UNK]; 0 means 100.
	MaxInputCharsPerWord int
	// MaxLength is the length the model was configured to truncate at (tokenizer.json
	// truncation.max_length or tokenizer_config.json model_max_length); 0 if unknown.
	// Encode does not apply it: callers pass maxLen explicitly.
	MaxLength int
}

// DefaultOptions returns the settings of bert-base-uncased and all-MiniLM-L6-v2.
func DefaultOptions() Options {
	return Options{CleanText: true, HandleChineseChars: true, Lowercase: true}
}

// Tokenizer turns text into BERT input ids. Build one with Load or New.
type Tokenizer struct {
	opts         Options
	stripAccents bool
	vocab        map[string]int32
	tokens       []string // by id
	special      []string // matched in raw text, longest first
	specialStart [256]bool

	maxTokenBytes              int
	unkID, clsID, sepID, padID int32

	pool sync.Pool // *scratch
}

// scratch holds the buffers of one call so that steady-state encoding does not allocate.
type scratch struct {
	norm, tmp, nfd, key []byte
}

// New builds a tokenizer over vocab, where vocab[i] is the token of id i.
func New(vocab []string, opts Options) (*Tokenizer, error) {
	if len(vocab) == 0 {
		return nil, errors.New("tokenizer: empty vocabulary")
	}
	if opts.UnkToken == "" {
		opts.UnkToken = "[UNK]"
	}
	if opts.ClsToken == "" {
		opts.ClsToken = "[CLS]"
	}
	if opts.SepToken == "" {
		opts.SepToken = "[SEP]"
	}
	if opts.PadToken == "" {
		opts.PadToken = "[PAD]"
	}
	if opts.ContinuingSubwordPrefix == "" {
		opts.ContinuingSubwordPrefix = "##"
	}
	if opts.MaxInputCharsPerWord <= 0 {
		opts.MaxInputCharsPerWord = 100
	}
	t := &Tokenizer{
		opts:         opts,
		stripAccents: opts.StripAccents == StripAccentsOn || opts.StripAccents == StripAccentsAuto && opts.Lowercase,
		vocab:        make(map[string]int32, len(vocab)),
		tokens:       slices.Clone(vocab),
	}
	t.pool.New = func() any { return new(scratch) }
	// A token listed twice keeps its last id, as Python's dict built from vocab.txt does.
	for id, tok := range vocab {
		t.vocab[tok] = int32(id)
		t.maxTokenBytes = max(t.maxTokenBytes, len(tok))
	}
	for _, s := range []struct {
		name string
		tok  string
		id   *int32
	}{
		{"unk", opts.UnkToken, &t.unkID},
		{"cls", opts.ClsToken, &t.clsID},
		{"sep", opts.SepToken, &t.sepID},
		{"pad", opts.PadToken, &t.padID},
	} {
		id, ok := t.vocab[s.tok]
		if !ok {
			return nil, fmt.Errorf("tokenizer: %s token %q is not in the vocabulary", s.name, s.tok)
		}
		*s.id = id
	}
	special := opts.SpecialTokens
	if special == nil {
		for _, tok := range []string{opts.PadToken, opts.UnkToken, opts.ClsToken, opts.SepToken, "[MASK]"} {
			if _, ok := t.vocab[tok]; ok {
				special = append(special, tok)
			}
		}
	}
	for _, tok := range special {
		if tok == "" {
			return nil, errors.New("tokenizer: empty special token")
		}
		if _, ok := t.vocab[tok]; !ok {
			return nil, fmt.Errorf("tokenizer: special token %q is not in the vocabulary", tok)
		}
		t.special = append(t.special, tok)
		t.specialStart[tok[0]] = true
	}
	// Longest first, so that the first match at a position is HF's leftmost-longest match.
	for i := 1; i < len(t.special); i++ {
		for j := i; j > 0 && len(t.special[j]) > len(t.special[j-1]); j-- {
			t.special[j], t.special[j-1] = t.special[j-1], t.special[j]
		}
	}
	return t, nil
}

// Tokenize returns the word pieces of text, without [CLS] and [SEP].
func (t *Tokenizer) Tokenize(text string) []string {
	ids := t.appendIDs(nil, text)
	pieces := make([]string, len(ids))
	for i, id := range ids {
		pieces[i] = t.tokens[id]
	}
	return pieces
}

// Encode returns [CLS] ids [SEP]. With maxLen > 0 the word pieces are cut so that the total
// is at most maxLen, as HF's truncation does; a maxLen below 2 keeps only the first maxLen of
// [CLS] [SEP]. maxLen <= 0 means no truncation.
func (t *Tokenizer) Encode(text string, maxLen int) []int32 {
	ids := append(make([]int32, 0, 64), t.clsID)
	ids = t.appendIDs(ids, text)
	if maxLen > 0 && len(ids)+1 > maxLen {
		ids = ids[:max(maxLen-1, 1)]
	}
	ids = append(ids, t.sepID)
	if maxLen > 0 && len(ids) > maxLen {
		ids = ids[:maxLen]
	}
	return ids
}

// appendIDs appends the word-piece ids of text: special tokens are cut out of the raw text,
// and each stretch between them is normalized, split into words and WordPiece-encoded.
func (t *Tokenizer) appendIDs(dst []int32, text string) []int32 {
	sc := t.pool.Get().(*scratch)
	defer t.pool.Put(sc)
	start := 0
	for i := 0; i < len(text); i++ {
		if !t.specialStart[text[i]] {
			continue
		}
		for _, tok := range t.special {
			if strings.HasPrefix(text[i:], tok) {
				dst = t.appendSegment(dst, text[start:i], sc)
				dst = append(dst, t.vocab[tok])
				start = i + len(tok)
				i = start - 1
				break
			}
		}
	}
	return t.appendSegment(dst, text[start:], sc)
}

func (t *Tokenizer) appendSegment(dst []int32, segment string, sc *scratch) []int32 {
	if segment == "" {
		return dst
	}
	sc.norm = t.normalize(sc.norm[:0], segment, sc)
	return t.appendWords(dst, sc.norm, sc)
}

// Batch is a padded batch of encodings, each array row-major [Size][SeqLen].
type Batch struct {
	IDs     []int32 // padded with the pad id
	Mask    []int32 // 1 for real tokens, 0 for padding
	TypeIDs []int32 // all 0: one sequence per row
	Lens    []int   // unpadded length of each row
	SeqLen  int     // length of the longest row
	Size    int     // number of rows
}

// EncodeBatch encodes each text with Encode(text, maxLen) and pads to the longest.
func (t *Tokenizer) EncodeBatch(texts []string, maxLen int) Batch {
	rows := make([][]int32, len(texts))
	b := Batch{Size: len(texts), Lens: make([]int, len(texts))}
	for i, text := range texts {
		rows[i] = t.Encode(text, maxLen)
		b.Lens[i] = len(rows[i])
		b.SeqLen = max(b.SeqLen, len(rows[i]))
	}
	b.IDs = make([]int32, b.Size*b.SeqLen)
	b.Mask = make([]int32, b.Size*b.SeqLen)
	b.TypeIDs = make([]int32, b.Size*b.SeqLen)
	for i, row := range rows {
		ids := b.IDs[i*b.SeqLen : (i+1)*b.SeqLen]
		mask := b.Mask[i*b.SeqLen : (i+1)*b.SeqLen]
		copy(ids, row)
		for j := range ids {
			if j < len(row) {
				mask[j] = 1
			} else {
				ids[j] = t.padID
			}
		}
	}
	return b
}

// VocabSize is the number of ids, the row count of the model's embedding table.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// PadID, CLSID, SEPID and UNKID are the ids of the special tokens Encode and EncodeBatch use.
func (t *Tokenizer) PadID() int32 { return t.padID }
func (t *Tokenizer) CLSID() int32 { return t.clsID }
func (t *Tokenizer) SEPID() int32 { return t.sepID }
func (t *Tokenizer) UNKID() int32 { return t.unkID }

// TokenID returns the id of a vocabulary entry.
func (t *Tokenizer) TokenID(token string) (int32, bool) {
	id, ok := t.vocab[token]
	return id, ok
}

// Options returns the settings in effect, with defaults filled in.
func (t *Tokenizer) Options() Options { return t.opts }

// Digest is a SHA-256 over everything that decides the ids Encode returns: the options
// (with the special tokens as resolved, and without MaxLength, which Encode does not apply)
// and the vocabulary in id order. Two tokenizers with the same digest tokenize alike,
// however they were loaded; the retriever's fingerprint includes it.
func (t *Tokenizer) Digest() string {
	opts := t.opts
	opts.SpecialTokens = slices.Sorted(slices.Values(t.special))
	opts.MaxLength = 0
	h := sha256.New()
	raw, _ := json.Marshal(opts) // a struct of strings, ints and bools: cannot fail
	h.Write(raw)
	var n [4]byte
	for _, tok := range t.tokens {
		binary.LittleEndian.PutUint32(n[:], uint32(len(tok)))
		h.Write(n[:])
		h.Write([]byte(tok))
	}
	return hex.EncodeToString(h.Sum(nil))
}
