package tokenizer

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// normalize appends HF's BertNormalizer output for s to dst. The steps run in HF's order:
// clean_text, handle_chinese_chars, strip_accents, lowercase. Every step but the NFD of
// strip_accents maps one rune at a time, so all of them share one pass when accents are kept;
// with strip_accents the first two steps fill tmp, NFD runs over the whole segment (canonical
// reordering needs neighbours), and the Mn filter and lowercase share a second pass.
func (t *Tokenizer) normalize(dst []byte, s string, sc *scratch) []byte {
	if !t.stripAccents {
		return t.cleanAndSpace(dst, s, t.opts.Lowercase)
	}
	sc.tmp = t.cleanAndSpace(sc.tmp[:0], s, false)
	decomposed := sc.tmp
	if !isASCII(decomposed) {
		sc.nfd = appendHFNFD(sc.nfd[:0], decomposed)
		decomposed = sc.nfd
	}
	for i := 0; i < len(decomposed); {
		b := decomposed[i]
		if b < utf8.RuneSelf {
			dst = append(dst, lowerASCII(b, t.opts.Lowercase))
			i++
			continue
		}
		r, size := utf8.DecodeRune(decomposed[i:])
		i += size
		if unicode.Is(hfNonspacingMark, r) {
			continue
		}
		dst = appendRune(dst, r, t.opts.Lowercase)
	}
	return dst
}

// appendHFNFD appends the NFD of p as HF computes it. HF's tables are older than x/text's:
// characters whose decomposition Unicode added since (Todhri, Tulu-Tigalari, Dives Akuru, ...)
// stay whole there. Such a character is copied as is and NFD runs on the stretches between;
// it is a starter, so canonical reordering never crosses it anyway.
func appendHFNFD(dst, p []byte) []byte {
	start := 0
	for i := 0; i < len(p); {
		if p[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(p[i:])
		if norm.NFD.Properties(p[i:]).Decomposition() != nil && !unicode.Is(hfDecomposable, r) {
			dst = norm.NFD.Append(dst, p[start:i]...)
			dst = append(dst, p[i:i+size]...)
			start = i + size
		}
		i += size
	}
	return norm.NFD.Append(dst, p[start:]...)
}

// cleanAndSpace appends s after clean_text and handle_chinese_chars (each when enabled), and
// lowercase when lower is set.
func (t *Tokenizer) cleanAndSpace(dst []byte, s string, lower bool) []byte {
	clean, chinese := t.opts.CleanText, t.opts.HandleChineseChars
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			i++
			if clean {
				switch {
				case b == '\t' || b == '\n' || b == '\r':
					b = ' '
				case b < 0x20 || b == 0x7f:
					continue
				}
			}
			dst = append(dst, lowerASCII(b, lower))
			continue
		}
		// An invalid byte decodes as (RuneError, 1): it becomes U+FFFD, which clean_text drops.
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if clean {
			if unicode.Is(hfRemoved, r) {
				continue
			}
			if unicode.IsSpace(r) {
				dst = append(dst, ' ')
				continue
			}
		}
		if chinese && isChineseChar(r) {
			dst = append(dst, ' ')
			dst = utf8.AppendRune(dst, r)
			dst = append(dst, ' ')
			continue
		}
		dst = appendRune(dst, r, lower)
	}
	return dst
}

// isChineseChar reports whether r is in one of the CJK ideograph blocks HF spaces out. The
// ranges are HF's (bert.rs), including its 0x2B920 start where Unicode's block starts at 0x2B820.
func isChineseChar(r rune) bool {
	switch {
	case r >= 0x4E00 && r <= 0x9FFF,
		r >= 0x3400 && r <= 0x4DBF,
		r >= 0x20000 && r <= 0x2A6DF,
		r >= 0x2A700 && r <= 0x2B73F,
		r >= 0x2B740 && r <= 0x2B81F,
		r >= 0x2B920 && r <= 0x2CEAF,
		r >= 0xF900 && r <= 0xFAFF,
		r >= 0x2F800 && r <= 0x2FA1F:
		return true
	}
	return false
}

// appendRune appends r, lowercased as Rust's char::to_lowercase does when lower is set. Go's
// unicode.ToLower is the simple mapping; the full mapping differs only for U+0130.
func appendRune(dst []byte, r rune, lower bool) []byte {
	if lower {
		if r == 'İ' {
			return append(dst, "i\u0307"...)
		}
		r = unicode.ToLower(r)
	}
	return utf8.AppendRune(dst, r)
}

func lowerASCII(b byte, lower bool) byte {
	if lower && 'A' <= b && b <= 'Z' {
		return b + ('a' - 'A')
	}
	return b
}

func isASCII(p []byte) bool {
	for _, b := range p {
		if b >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
