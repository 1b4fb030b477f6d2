package lexical

// Stem is Snowball's English stemmer (Porter2, the algorithm of snowballstem.org as
// libstemmer 3 implements it, which PyStemmer wraps), for a lower-case word:
// "generously" → "generous", "emergencies" → "emergenc", "dying" → "die". Words of fewer
// than three letters are left alone. Written from the algorithm's definition; checked
// against PyStemmer on every word of the shared collections (TestStemMatchesSnowball).
func Stem(word string) string {
	if s, ok := stemExceptions[word]; ok {
		return s
	}
	w := []rune(word)
	if len(w) < 3 {
		return word
	}
	s := &stemmer{w: w}
	s.prelude()
	s.markRegions()
	s.step1a()
	s.step1b()
	s.step1c()
	s.step2()
	s.step3()
	s.step4()
	s.step5()
	if s.yFound {
		for i, r := range s.w {
			if r == 'Y' {
				s.w[i] = 'y'
			}
		}
	}
	return string(s.w)
}

// stemExceptions are the words the algorithm answers from a list (its exception1).
var stemExceptions = map[string]string{
	"skis": "ski", "skies": "sky",
	"idly": "idl", "gently": "gentl", "ugly": "ugli", "early": "earli", "only": "onli", "singly": "singl",
	"sky": "sky", "news": "news", "howe": "howe", "atlas": "atlas", "cosmos": "cosmos", "bias": "bias", "andes": "andes",
}

// r1Prefixes get R1 right after them rather than after the first vowel–consonant pair.
var r1Prefixes = []string{"gener", "commun", "arsen", "past", "univers", "later", "emerg", "organ", "inter"}

type stemmer struct {
	w      []rune
	p1, p2 int // the starts of the regions R1 and R2
	yFound bool
}

func isVowel(r rune) bool {
	switch r {
	case 'a', 'e', 'i', 'o', 'u', 'y':
		return true
	}
	return false
}

// prelude marks the y's that act as consonants as Y.
func (s *stemmer) prelude() {
	if s.w[0] == '\'' {
		s.w = s.w[1:]
	}
	if len(s.w) > 0 && s.w[0] == 'y' {
		s.w[0], s.yFound = 'Y', true
	}
	for i := 1; i < len(s.w); i++ {
		if s.w[i] == 'y' && isVowel(s.w[i-1]) {
			s.w[i], s.yFound = 'Y', true
		}
	}
}

// afterVC is the position after the first non-vowel that follows a vowel, from i on, or
// len(w) when there is none.
func (s *stemmer) afterVC(i int) int {
	for ; i < len(s.w) && !isVowel(s.w[i]); i++ {
	}
	for ; i < len(s.w) && isVowel(s.w[i]); i++ {
	}
	if i < len(s.w) {
		return i + 1
	}
	return len(s.w)
}

func (s *stemmer) markRegions() {
	s.p1 = -1
	for _, p := range r1Prefixes {
		if s.hasPrefix(p) {
			s.p1 = len([]rune(p))
			break
		}
	}
	if s.p1 < 0 {
		s.p1 = s.afterVC(0)
	}
	s.p2 = s.afterVC(s.p1)
}

func (s *stemmer) hasPrefix(p string) bool {
	r := []rune(p)
	if len(r) > len(s.w) {
		return false
	}
	for i, c := range r {
		if s.w[i] != c {
			return false
		}
	}
	return true
}

// endsWith reports whether w[:end] ends with suffix.
func (s *stemmer) endsWith(end int, suffix string) bool {
	r := []rune(suffix)
	if len(r) > end {
		return false
	}
	for i, c := range r {
		if s.w[end-len(r)+i] != c {
			return false
		}
	}
	return true
}

// longest returns the longest of suffixes that w ends with, and the position where it
// starts; ok is false when none does.
func (s *stemmer) longest(suffixes ...string) (suffix string, start int, ok bool) {
	best := -1
	for _, x := range suffixes {
		if n := len([]rune(x)); n > best && s.endsWith(len(s.w), x) {
			suffix, best = x, n
		}
	}
	if best < 0 {
		return "", 0, false
	}
	return suffix, len(s.w) - best, true
}

// replace puts with in place of w[start:].
func (s *stemmer) replace(start int, with string) { s.w = append(s.w[:start], []rune(with)...) }

// shortV reports whether w[:end] ends in a short syllable: non-vowel, vowel, non-vowel
// other than w, x and Y; or vowel, non-vowel at the start of the word; or "past".
func (s *stemmer) shortV(end int) bool {
	w := s.w
	if end >= 3 && !isVowel(w[end-1]) && w[end-1] != 'w' && w[end-1] != 'x' && w[end-1] != 'Y' &&
		isVowel(w[end-2]) && !isVowel(w[end-3]) {
		return true
	}
	if end == 2 && !isVowel(w[1]) && isVowel(w[0]) {
		return true
	}
	return s.endsWith(end, "past")
}

func (s *stemmer) step1a() {
	if _, start, ok := s.longest("'", "'s", "'s'"); ok {
		s.w = s.w[:start]
	}
	suffix, start, ok := s.longest("sses", "ied", "ies", "s", "us", "ss")
	if !ok {
		return
	}
	switch suffix {
	case "sses":
		s.replace(start, "ss")
	case "ied", "ies":
		if start >= 2 {
			s.replace(start, "i")
		} else {
			s.replace(start, "ie")
		}
	case "s":
		// Delete when a vowel comes before the letter just before the s.
		for i := start - 2; i >= 0; i-- {
			if isVowel(s.w[i]) {
				s.w = s.w[:start]
				return
			}
		}
	}
}

func (s *stemmer) step1b() {
	suffix, start, ok := s.longest("eed", "eedly", "ed", "edly", "ing", "ingly")
	if !ok {
		return
	}
	switch suffix {
	case "eed", "eedly":
		if start >= s.p1 {
			stem := string(s.w[:start])
			if stem != "proc" && stem != "exc" && stem != "succ" {
				s.replace(start, "ee")
			}
		}
		return
	case "ing":
		// dying → die; inning, outing and the like stay.
		if start == 2 && s.w[1] == 'y' && !isVowel(s.w[0]) {
			s.replace(1, "ie")
			return
		}
		switch string(s.w[:start]) {
		case "inn", "out", "cann", "herr", "earr", "even":
			return
		}
	}
	vowel := false
	for _, r := range s.w[:start] {
		vowel = vowel || isVowel(r)
	}
	if !vowel {
		return
	}
	s.w = s.w[:start]
	end := len(s.w)
	switch {
	case s.endsWith(end, "at") || s.endsWith(end, "bl") || s.endsWith(end, "iz"):
		s.w = append(s.w, 'e')
	case end >= 2 && s.w[end-1] == s.w[end-2] && isDouble(s.w[end-1]):
		// A double consonant loses one, but for "add", "egg" and the like (a, e or o first).
		if !(end == 3 && (s.w[0] == 'a' || s.w[0] == 'e' || s.w[0] == 'o')) {
			s.w = s.w[:end-1]
		}
	case end == s.p1 && s.shortV(end):
		s.w = append(s.w, 'e')
	}
}

func isDouble(r rune) bool {
	switch r {
	case 'b', 'd', 'f', 'g', 'm', 'n', 'p', 'r', 't':
		return true
	}
	return false
}

func (s *stemmer) step1c() {
	n := len(s.w)
	if n >= 3 && (s.w[n-1] == 'y' || s.w[n-1] == 'Y') && !isVowel(s.w[n-2]) {
		s.w[n-1] = 'i'
	}
}

// step2Suffixes maps Step 2's suffixes to their replacements ("" for the special cases).
var step2Suffixes = map[string]string{
	"tional": "tion", "enci": "ence", "anci": "ance", "abli": "able", "entli": "ent",
	"izer": "ize", "ization": "ize", "ational": "ate", "ation": "ate", "ator": "ate",
	"alism": "al", "aliti": "al", "alli": "al", "fulness": "ful", "ousli": "ous", "ousness": "ous",
	"iveness": "ive", "iviti": "ive", "biliti": "ble", "bli": "ble", "ogist": "og", "ogi": "", "fulli": "ful",
	"lessli": "less", "li": "",
}

var step2List, step3List, step4List = keys(step2Suffixes), keys(step3Suffixes),
	[]string{"al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent", "ism", "ate", "iti",
		"ous", "ive", "ize", "ion"}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func (s *stemmer) step2() {
	suffix, start, ok := s.longest(step2List...)
	if !ok || start < s.p1 {
		return
	}
	switch suffix {
	case "ogi":
		if start > 0 && s.w[start-1] == 'l' {
			s.replace(start, "og")
		}
	case "li":
		if start > 0 && isValidLI(s.w[start-1]) {
			s.w = s.w[:start]
		}
	default:
		s.replace(start, step2Suffixes[suffix])
	}
}

func isValidLI(r rune) bool {
	switch r {
	case 'c', 'd', 'e', 'g', 'h', 'k', 'm', 'n', 'r', 't':
		return true
	}
	return false
}

var step3Suffixes = map[string]string{
	"tional": "tion", "ational": "ate", "alize": "al", "icate": "ic", "iciti": "ic", "ical": "ic",
	"ful": "", "ness": "", "ative": "",
}

func (s *stemmer) step3() {
	suffix, start, ok := s.longest(step3List...)
	if !ok || start < s.p1 {
		return
	}
	if suffix == "ative" {
		if start >= s.p2 {
			s.w = s.w[:start]
		}
		return
	}
	s.replace(start, step3Suffixes[suffix])
}

func (s *stemmer) step4() {
	suffix, start, ok := s.longest(step4List...)
	if !ok || start < s.p2 {
		return
	}
	if suffix == "ion" && !(start > 0 && (s.w[start-1] == 's' || s.w[start-1] == 't')) {
		return
	}
	s.w = s.w[:start]
}

func (s *stemmer) step5() {
	n := len(s.w)
	switch {
	case n > 0 && s.w[n-1] == 'e':
		if n-1 >= s.p2 || (n-1 >= s.p1 && !s.shortV(n-1)) {
			s.w = s.w[:n-1]
		}
	case n > 1 && s.w[n-1] == 'l':
		if n-1 >= s.p2 && s.w[n-2] == 'l' {
			s.w = s.w[:n-1]
		}
	}
}
