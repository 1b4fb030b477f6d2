package tokenizer

import (
	"unicode/utf8"
)

// Pruning keeps the tokens a corpus needs, so that a bundle ships a smaller embedding table.
// A corpus's own texts tokenize exactly as before (WordPiece's longest match is always a
// token the corpus used), so document vectors do not change; a query word made of tokens
// the corpus never used tokenizes differently.
type Pruning uint8

const (
	// PruneNone keeps the whole vocabulary.
	PruneNone Pruning = iota
	// PruneCorpus keeps the corpus's tokens and the special tokens; a query word the kept
	// tokens cannot spell becomes [UNK].
	PruneCorpus
	// PruneReachable also keeps every single-character token and its "##" continuation, so
	// every word a query can contain is still spelled, piece by piece, rather than [UNK].
	PruneReachable
)

// Prune returns a tokenizer over the tokens keep selects plus those p requires, renumbered
// in their old order, and old[i], the old id of new id i. keep is indexed by old id.
func (t *Tokenizer) Prune(keep []bool, p Pruning) (*Tokenizer, []int, error) {
	if p == PruneNone {
		old := make([]int, len(t.tokens))
		for i := range old {
			old[i] = i
		}
		return t, old, nil
	}
	kept := make([]bool, len(t.tokens))
	copy(kept, keep)
	for _, tok := range append([]string{t.opts.UnkToken, t.opts.ClsToken, t.opts.SepToken, t.opts.PadToken}, t.special...) {
		kept[t.vocab[tok]] = true
	}
	if p == PruneReachable {
		prefix := t.opts.ContinuingSubwordPrefix
		for id, tok := range t.tokens {
			rest := tok
			if len(tok) > len(prefix) && tok[:len(prefix)] == prefix {
				rest = tok[len(prefix):]
			}
			if utf8.RuneCountInString(rest) == 1 {
				kept[id] = true
			}
		}
	}
	var vocab []string
	var old []int
	for id, tok := range t.tokens {
		if kept[id] {
			vocab = append(vocab, tok)
			old = append(old, id)
		}
	}
	opts := t.opts
	opts.SpecialTokens = t.special
	pruned, err := New(vocab, opts)
	if err != nil {
		return nil, nil, err
	}
	return pruned, old, nil
}

// Used marks, by id, the tokens that texts tokenize into (without truncation).
func (t *Tokenizer) Used(texts []string) []bool {
	used := make([]bool, len(t.tokens))
	var ids []int32
	for _, s := range texts {
		ids = t.appendIDs(ids[:0], s)
		for _, id := range ids {
			used[id] = true
		}
	}
	return used
}
