// Package lexical is the keyword side of search: a BM25 index over documents, small enough to
// travel in a bundle, so that a page answers its first keystroke before the model has
// downloaded, and whose ranking fuses with the dense one (Fuse).
//
// Text analysis, as Analyze does it: lower-case; words are runs of two or more letters,
// digits or underscores (scikit-learn's and bm25s's token pattern, \b\w\w+\b); Lucene's
// English stop words are dropped; the rest are stemmed with Snowball's English stemmer
// (Porter2, Stem). Scoring is Lucene's BM25 (k1 = 1.2, b = 0.75):
//
//	score(q, d) = Σ_{t ∈ q} idf(t) · tf(t,d) / (tf(t,d) + k1·(1 − b + b·|d|/avgdl))
//	idf(t)      = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5))
//
// with a query term counted as often as it occurs in the query. tools/reference/bm25_golden.py
// checks these scores against bm25s (method "lucene") on a real collection.
package lexical

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Parameters of BM25, Lucene's defaults.
const (
	K1 = 1.2
	B  = 0.75
)

// stopWords is Lucene's English stop word set (EnglishAnalyzer.ENGLISH_STOP_WORDS_SET).
var stopWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields("a an and are as at be but by for if in into is it no not of on or such " +
		"that the their then there these they this to was will with") {
		stopWords[w] = true
	}
}

// isWord reports whether r belongs to a word: a letter, a number or an underscore, as
// Python's \w (Unicode) has it.
func isWord(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) }

// Analyze returns the terms of text, in order, as the index and queries use them. The text
// is lower-cased before it is split, as bm25s does it (with Python's İ → i + U+0307, which
// then splits, as Go's strings.ToLower alone would not).
func Analyze(text string) []string {
	text = strings.ToLower(strings.ReplaceAll(text, "İ", "i\u0307"))
	var terms []string
	start := -1
	flush := func(end int) {
		w := text[start:end]
		start = -1
		if utf8.RuneCountInString(w) < 2 {
			return
		}
		if stopWords[w] {
			return
		}
		terms = append(terms, Stem(w))
	}
	for i, r := range text {
		switch {
		case isWord(r) && start < 0:
			start = i
		case !isWord(r) && start >= 0:
			flush(i)
		}
	}
	if start >= 0 {
		flush(len(text))
	}
	return terms
}
