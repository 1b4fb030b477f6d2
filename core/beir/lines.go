package beir

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// maxLineBytes bounds a line, which is one document of a corpus: far above any BEIR document,
// and it keeps a damaged or hostile file (a gzip bomb of one line, say) from taking memory
// in one piece.
const maxLineBytes = 64 << 20

// lineReader yields the non-blank lines of a text file with their 1-based
// line numbers. It reads through bufio.Reader rather than bufio.Scanner
// because a Scanner refuses lines over its buffer limit, and a single corpus
// document can be megabytes long.
type lineReader struct {
	r    *bufio.Reader
	name string
	line int
	buf  []byte // the current line, reused
}

func newLineReader(r io.Reader, name string) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 64<<10), name: name}
}

// next returns the next non-blank line without its line end (LF or CRLF),
// io.EOF after the last one. The returned slice is valid until the next call.
func (lr *lineReader) next() ([]byte, error) {
	for {
		line, err := lr.readLine()
		if len(line) == 0 && err != nil {
			if err == io.EOF {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("%s:%d: read: %w", lr.name, lr.line+1, err)
		}
		lr.line++
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("%s:%d: read: %w", lr.name, lr.line, err)
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if !utf8.Valid(line) {
			return nil, lr.errorf("invalid UTF-8 at byte offset %d", invalidUTF8Offset(line))
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		return line, nil
	}
}

// readLine returns the next line, line end included, in lr.buf.
func (lr *lineReader) readLine() ([]byte, error) {
	lr.buf = lr.buf[:0]
	for {
		frag, err := lr.r.ReadSlice('\n')
		if len(lr.buf)+len(frag) > maxLineBytes {
			return nil, fmt.Errorf("line longer than %d bytes", maxLineBytes)
		}
		lr.buf = append(lr.buf, frag...)
		if err != bufio.ErrBufferFull {
			return lr.buf, err
		}
	}
}

// errorf formats an error located at the line last returned by next.
func (lr *lineReader) errorf(format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", lr.name, lr.line, fmt.Sprintf(format, args...))
}

func invalidUTF8Offset(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}

// openText opens path for reading, decompressing it when the name ends in
// ".gz". Closing the returned ReadCloser closes the file.
func openText(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(path, ".gz") {
		return f, nil
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: gzip: %w", path, err)
	}
	return gzipFile{zr, f}, nil
}

type gzipFile struct {
	*gzip.Reader
	f *os.File
}

func (g gzipFile) Close() error {
	return errors.Join(g.Reader.Close(), g.f.Close())
}
