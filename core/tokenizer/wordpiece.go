package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// asciiPunct is hfPunct restricted to ASCII, the common case, as a lookup table.
var asciiPunct = func() (p [utf8.RuneSelf]bool) {
	for b := range p {
		p[b] = unicode.Is(hfPunct, rune(b))
	}
	return p
}()

// appendWords runs BertPreTokenizer over normalized text and WordPiece over each word,
// appending the ids to dst. Words end at whitespace (dropped) and around punctuation
// (each punctuation rune is a word of its own).
func (t *Tokenizer) appendWords(dst []int32, text []byte, sc *scratch) []int32 {
	start := 0
	for i := 0; i < len(text); {
		r, size := rune(text[i]), 1
		var space, punct bool
		if r < utf8.RuneSelf {
			space = r == ' ' || ('\t' <= r && r <= '\r')
			punct = asciiPunct[r]
		} else {
			r, size = utf8.DecodeRune(text[i:])
			space = unicode.IsSpace(r)
			punct = !space && unicode.Is(hfPunct, r)
		}
		if space || punct {
			dst = t.appendWordPiece(dst, text[start:i], sc)
			if punct {
				dst = t.appendWordPiece(dst, text[i:i+size], sc)
			}
			start = i + size
		}
		i += size
	}
	return t.appendWordPiece(dst, text[start:], sc)
}

// appendWordPiece appends the WordPiece ids of one word: the longest vocabulary entry that
// starts the word, then the longest "##"-prefixed entry that continues it, and so on. A word
// longer than MaxInputCharsPerWord runes, or one with a piece that no entry matches, is [UNK].
func (t *Tokenizer) appendWordPiece(dst []int32, word []byte, sc *scratch) []int32 {
	if len(word) == 0 {
		return dst
	}
	if len(word) > t.opts.MaxInputCharsPerWord && utf8.RuneCount(word) > t.opts.MaxInputCharsPerWord {
		return append(dst, t.unkID)
	}
	mark := len(dst)
	prefix := t.opts.ContinuingSubwordPrefix
	for start := 0; start < len(word); {
		key := sc.key[:0]
		if start > 0 {
			key = append(key, prefix...)
		}
		key = append(key, word[start:]...)
		sc.key = key
		pre := len(key) - (len(word) - start)
		// Entries longer than the longest vocabulary entry cannot match: start below it, on a
		// rune boundary, which is where HF's one-rune-at-a-time shrinking would get to.
		end := len(key)
		if end > t.maxTokenBytes {
			end = t.maxTokenBytes
			for end > pre && !utf8.RuneStart(key[end]) {
				end--
			}
		}
		id, found := int32(0), false
		for end > pre {
			if id, found = t.vocab[string(key[:end])]; found {
				break
			}
			_, size := utf8.DecodeLastRune(key[pre:end])
			end -= size
		}
		if !found {
			return append(dst[:mark], t.unkID)
		}
		dst = append(dst, id)
		start += end - pre
	}
	return dst
}
