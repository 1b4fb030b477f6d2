package bundle

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sbmoe/sbmoe/core/lexical"
)

// TextDir holds the documents' whole texts, for snippets: TextFile(i) is a JSON array of
// the texts of documents i·Manifest.TextShard to (i+1)·Manifest.TextShard − 1, so that a
// page fetches the few files its results need (a few kilobytes each) and not every text
// before its first result.
const TextDir = "text"

// TextFile is the path of the i-th file of texts.
func TextFile(i int) string { return fmt.Sprintf("%s/%05d.json", TextDir, i) }

// textFiles is how many files hold the texts of n documents, shard to a file.
func textFiles(n, shard int) int { return (n + shard - 1) / shard }

// TextFiles lists the files of texts that hits need and that are not loaded yet.
func (b *Bundle) TextFiles(hits []Hit) []string {
	s := b.Manifest.TextShard
	if s == 0 {
		return nil
	}
	var out []string
	for _, h := range hits {
		i := b.DocIndex(h.ID)
		if i < 0 || b.texts[i] != nil {
			continue
		}
		if p := TextFile(i / s); !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// LoadTexts reads files of texts (TextFiles) from fsys, checked against the manifest when
// opt.Verify is set.
func (b *Bundle) LoadTexts(fsys fs.FS, opt Options, files []string) error {
	s := b.Manifest.TextShard
	for _, p := range files {
		var i int
		if _, err := fmt.Sscanf(path.Base(p), "%05d.json", &i); err != nil || s == 0 || p != TextFile(i) || i >= textFiles(len(b.Docs), s) {
			return fmt.Errorf("load texts: %s is not a file of texts of this bundle", p)
		}
		if err := b.verify(fsys, opt, func(q string) bool { return q == p }); err != nil {
			return err
		}
		raw, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("load texts: %w", err)
		}
		var texts []string
		if err := json.Unmarshal(raw, &texts); err != nil {
			return fmt.Errorf("load texts: %s: %w", p, err)
		}
		lo := i * s
		if want := min(s, len(b.Docs)-lo); len(texts) != want {
			return fmt.Errorf("load texts: %s holds %d texts, want %d", p, len(texts), want)
		}
		for j, t := range texts {
			b.texts[lo+j] = &t
		}
	}
	return nil
}

// Text returns the whole text of document i, and whether it is loaded.
func (b *Bundle) Text(i int) (string, bool) {
	if b.texts == nil || b.texts[i] == nil {
		return "", false
	}
	return *b.texts[i], true
}

// Segment is a run of a snippet's text. Mark is set on the sentence that best matches the
// query.
type Segment struct {
	Text string `json:"text"`
	Mark bool   `json:"mark,omitempty"`
}

// SnippetRunes is about how long a snippet is.
const SnippetRunes = 220

// Highlight returns, for every hit whose text is loaded, about SnippetRunes of its text
// around the sentence that best matches the query (Snippet, weighing terms by the BM25
// index's idf), and nil for the others.
func (b *Bundle) Highlight(query string, hits []Hit) [][]Segment {
	weight := func(term string) float64 { return 1 }
	if b.Lexical != nil {
		weight = b.Lexical.IDF
	}
	terms := lexical.Analyze(query)
	out := make([][]Segment, len(hits))
	for i, h := range hits {
		if d := b.DocIndex(h.ID); d >= 0 {
			if text, ok := b.Text(d); ok {
				out[i] = Snippet(text, terms, weight, SnippetRunes)
			}
		}
	}
	return out
}

// Snippet cuts about n runes out of text around its sentence that best matches the
// query's terms (lexical.Analyze of the query): the one whose distinct terms weigh most
// (weight, an idf), the first of equals. That sentence is marked, and the sentences
// after it, then before it, fill the snippet up to n; a sentence longer than n is cut
// around its first matching term. With no term matching, the snippet is the text's start,
// unmarked. Cuts are at spaces and shown with "…".
func Snippet(text string, terms []string, weight func(string) float64, n int) []Segment {
	sentences := splitSentences(text)
	if len(sentences) == 0 {
		return nil
	}
	want := map[string]bool{}
	for _, t := range terms {
		want[t] = true
	}
	best, bestScore, bestAt := 0, 0.0, -1
	for i, s := range sentences {
		seen := map[string]bool{}
		score, at := 0.0, -1
		for _, w := range words(s) {
			term := lexical.Analyze(w.text)
			if len(term) == 1 && want[term[0]] && !seen[term[0]] {
				seen[term[0]] = true
				score += weight(term[0])
				if at < 0 {
					at = w.start
				}
			}
		}
		if score > bestScore {
			best, bestScore, bestAt = i, score, at
		}
	}
	if bestScore == 0 {
		return []Segment{{Text: cut(strings.Join(sentences, " "), 0, n)}}
	}
	mark := sentences[best]
	if utf8.RuneCountInString(mark) > n {
		start := 0
		if runesBefore := utf8.RuneCountInString(mark[:bestAt]); runesBefore > n/3 {
			start = runesBefore - n/3
		}
		return []Segment{{Text: cut(mark, start, n), Mark: true}}
	}
	room := n - utf8.RuneCountInString(mark)
	var after, before []string
	for i := best + 1; i < len(sentences) && room > 0; i++ {
		s := sentences[i]
		c := utf8.RuneCountInString(s) + 1
		if c > room {
			if room >= minPiece {
				after = append(after, cut(s, 0, room))
			}
			break
		}
		after, room = append(after, s), room-c
	}
	for i := best - 1; i >= 0; i-- {
		c := utf8.RuneCountInString(sentences[i]) + 1
		if c > room {
			break
		}
		before, room = append([]string{sentences[i]}, before...), room-c
	}
	var out []Segment
	lead := strings.Join(before, " ")
	if best > len(before) && !strings.HasPrefix(lead, "…") {
		lead = strings.TrimSpace("… " + lead)
	}
	if lead != "" {
		out = append(out, Segment{Text: lead + " "})
	}
	out = append(out, Segment{Text: mark, Mark: true})
	tail := strings.Join(after, " ")
	if best+len(after) < len(sentences)-1 && !strings.HasSuffix(tail, "…") {
		tail = strings.TrimSpace(tail + " …")
	}
	if tail != "" {
		out = append(out, Segment{Text: " " + tail})
	}
	return out
}

// minPiece is the shortest piece of a sentence worth adding after the marked one.
const minPiece = 20

// splitSentences cuts text at line ends and after ".", "!" or "?" (and any closing quotes
// or brackets) followed by a space and a capital, a digit or an opening quote or bracket.
func splitSentences(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		start := 0
		runes := []rune(line)
		for i := 0; i < len(runes); i++ {
			if runes[i] != '.' && runes[i] != '!' && runes[i] != '?' {
				continue
			}
			end := i + 1
			for end < len(runes) && strings.ContainsRune("\"'”’)]", runes[end]) {
				end++
			}
			if end+1 >= len(runes) || runes[end] != ' ' {
				continue
			}
			if next := runes[end+1]; unicode.IsUpper(next) || unicode.IsDigit(next) || strings.ContainsRune("\"'“‘([", next) {
				if s := strings.TrimSpace(string(runes[start:end])); s != "" {
					out = append(out, s)
				}
				start, i = end+1, end
			}
		}
		if s := strings.TrimSpace(string(runes[start:])); s != "" {
			out = append(out, s)
		}
	}
	return out
}

type word struct {
	text  string
	start int // byte offset
}

// words are the runs of letters, digits and underscores of s, as lexical.Analyze sees them.
func words(s string) []word {
	var out []word
	start := -1
	for i, r := range s {
		in := r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r)
		switch {
		case in && start < 0:
			start = i
		case !in && start >= 0:
			out = append(out, word{s[start:i], start})
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, word{s[start:], start})
	}
	return out
}

// cut returns about n runes of s from rune start, moved to word boundaries, with "…"
// where text was left out.
func cut(s string, start, n int) string {
	r := []rune(s)
	if start > 0 {
		for start < len(r) && !unicode.IsSpace(r[start-1]) {
			start++
		}
	}
	end := len(r)
	if start+n < len(r) {
		end = start + n
		for end > start+n/2 && !unicode.IsSpace(r[end]) {
			end--
		}
	}
	out := strings.TrimSpace(string(r[start:end]))
	if start > 0 {
		out = "… " + out
	}
	if end < len(r) {
		out += " …"
	}
	return out
}
