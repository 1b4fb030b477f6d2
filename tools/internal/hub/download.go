package hub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// download fetches one repository file into destDir, resuming from "<file>.incomplete" and
// verifying its checksum before renaming it into place. An existing final file is kept.
func (c *client) download(ctx context.Context, commit, file, destDir string) error {
	dest := filepath.Join(destDir, filepath.FromSlash(file))
	if done, err := exists(dest); err != nil || done {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	partial := dest + ".incomplete"
	segments := strings.Split(file, "/")
	for i, s := range segments {
		segments[i] = url.PathEscape(s)
	}
	u := c.endpoint + "/" + c.repo + "/resolve/" + url.PathEscape(commit) + "/" + strings.Join(segments, "/")

	var etag string
	// A second attempt happens only after a 416, when the partial file is no prefix of the file.
	for attempt := 0; ; attempt++ {
		tag, restart, err := c.fetchInto(ctx, u, file, partial)
		if err != nil {
			return fmt.Errorf("download %s: %w", file, err)
		}
		if !restart {
			etag = tag
			break
		}
		if attempt > 0 {
			return fmt.Errorf("download %s: %s: 416 Range Not Satisfiable without a range", file, u)
		}
		if err := os.Remove(partial); err != nil {
			return fmt.Errorf("download %s: %w", file, err)
		}
	}
	if err := verify(partial, etag); err != nil {
		os.Remove(partial) // a corrupt partial would only be resumed into another corrupt file
		return fmt.Errorf("download %s from %s: %w", file, u, err)
	}
	if err := os.Rename(partial, dest); err != nil {
		return fmt.Errorf("download %s: %w", file, err)
	}
	return nil
}

// fetchInto appends the rest of the file at u to partial, asking only for the bytes it lacks.
// It returns the file's checksum tag, or restart=true when the server refused the range (416):
// the partial is then longer than the file and must be discarded.
func (c *client) fetchInto(ctx context.Context, u, file, partial string) (etag string, restart bool, err error) {
	var offset int64
	if fi, err := os.Stat(partial); err == nil {
		offset = fi.Size()
	}
	header := http.Header{}
	if offset > 0 {
		header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
	}
	var tags checksumTags
	resp, err := c.get(ctx, u, header, func(r *http.Response) { tags.note(r.Header) })
	if err != nil {
		return "", false, err
	}
	defer resp.Body.Close()
	tags.note(resp.Header)

	total := int64(-1)
	switch resp.StatusCode {
	case http.StatusOK:
		offset = 0 // the server ignored the range and sends the whole file
		if resp.ContentLength >= 0 {
			total = resp.ContentLength
		}
	case http.StatusPartialContent:
		start, size, err := parseContentRange(resp.Header.Get("Content-Range"))
		if err != nil || start != offset {
			return "", false, fmt.Errorf("%s: resumed at byte %d, but Content-Range is %q", u, offset, resp.Header.Get("Content-Range"))
		}
		total = size
	case http.StatusRequestedRangeNotSatisfiable:
		return "", true, nil
	default:
		return "", false, c.statusError(u, resp)
	}

	f, err := os.OpenFile(partial, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return "", false, err
	}
	defer f.Close()
	if err := f.Truncate(offset); err != nil {
		return "", false, err
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return "", false, err
	}
	w := io.Writer(f)
	if c.progress != nil {
		c.progress(file, offset, total)
		w = &progressWriter{w: f, file: file, done: offset, total: total, report: c.progress}
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		// The bytes that did arrive stay in the partial file for the next attempt to resume.
		return "", false, fmt.Errorf("%s: %w (partial download kept in %s)", u, err, partial)
	}
	if total >= 0 && offset+n != total {
		return "", false, fmt.Errorf("%s: got %d of %d bytes (partial download kept in %s)", u, offset+n, total, partial)
	}
	if err := f.Sync(); err != nil {
		return "", false, err
	}
	return tags.best(), false, f.Close()
}

// parseContentRange reads "bytes START-END/SIZE"; SIZE may be "*" (unknown, returned as -1).
func parseContentRange(s string) (start, size int64, err error) {
	rest, ok := strings.CutPrefix(s, "bytes ")
	rng, sizeStr, ok2 := strings.Cut(rest, "/")
	startStr, _, ok3 := strings.Cut(rng, "-")
	if !ok || !ok2 || !ok3 {
		return 0, 0, fmt.Errorf("bad Content-Range %q", s)
	}
	if start, err = strconv.ParseInt(startStr, 10, 64); err != nil {
		return 0, 0, err
	}
	if sizeStr == "*" {
		return start, -1, nil
	}
	size, err = strconv.ParseInt(sizeStr, 10, 64)
	return start, size, err
}

type progressWriter struct {
	w           io.Writer
	file        string
	done, total int64
	report      func(file string, done, total int64)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.done += int64(n)
	p.report(p.file, p.done, p.total)
	return n, err
}

// checksumTags collects the Hub's checksum headers across a redirect chain. For an LFS file the
// Hub answers with a redirect to its CDN carrying X-Linked-Etag (the sha256); the CDN's own ETag
// means something else, so the first tag seen wins.
type checksumTags struct {
	linked, first string
}

func (t *checksumTags) note(h http.Header) {
	if v := h.Get("X-Linked-Etag"); v != "" && t.linked == "" {
		t.linked = v
	}
	if v := h.Get("ETag"); v != "" && t.first == "" {
		t.first = v
	}
}

func (t *checksumTags) best() string {
	if t.linked != "" {
		return t.linked
	}
	return t.first
}

// verify checks the file against an ETag: 64 hex digits are the sha256 of an LFS file, 40 the
// git blob sha1 of a regular one. Any other tag (or none) carries no checksum and is accepted.
func verify(path, etag string) error {
	want := strings.ToLower(strings.Trim(strings.TrimPrefix(etag, "W/"), `"`))
	if _, err := hex.DecodeString(want); err != nil {
		return nil
	}
	var h hash.Hash
	var kind string
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	switch len(want) {
	case sha256.Size * 2:
		h, kind = sha256.New(), "sha256"
	case sha1.Size * 2:
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		// git hashes a blob as "blob <size>\x00" followed by the content.
		h, kind = sha1.New(), "git blob sha1"
		fmt.Fprintf(h, "blob %d\x00", fi.Size())
	default:
		return nil
	}
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return errors.New("checksum mismatch: " + kind + " " + got + ", the Hub says " + want + "; the download was deleted")
	}
	return nil
}
