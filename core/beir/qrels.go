package beir

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Qrels maps query id -> doc id -> relevance. Unlisted pairs are
// non-relevant; listed pairs with relevance <= 0 are judged non-relevant.
type Qrels map[string]map[string]int

// qrelsHeader is the header line BEIR writes (and its loader always skips).
var qrelsHeader = []string{"query-id", "corpus-id", "score"}

// LoadQrels reads a qrels TSV file.
func LoadQrels(path string) (Qrels, error) {
	f, err := openText(path)
	if err != nil {
		return nil, fmt.Errorf("load qrels: %w", err)
	}
	defer f.Close()
	return ReadQrels(f, path)
}

// ReadQrels reads qrels TSV from r; name labels errors. Each line has three
// tab-separated fields, query id, doc id and an integer score (surrounding
// spaces ignored). The first line may be the header
// "query-id\tcorpus-id\tscore"; a first line whose score is not an integer
// is taken as a header and must be exactly that one, so that a file in
// another format (TREC's four-column qrels, say) fails loudly instead of
// losing its first pair. A pair listed twice is an error, as in trec_eval.
// At least one pair is required.
func ReadQrels(r io.Reader, name string) (Qrels, error) {
	lr := newLineReader(r, name)
	qrels := make(Qrels)
	pairs := 0
	for first := true; ; first = false {
		line, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		fields := strings.Split(string(line), "\t")
		for i := range fields {
			fields[i] = strings.TrimSpace(fields[i])
		}
		if len(fields) != 3 {
			return nil, lr.errorf("want 3 tab-separated fields (query-id, corpus-id, score), got %d", len(fields))
		}
		score, scoreErr := strconv.Atoi(fields[2])
		if scoreErr != nil && first {
			if !slices.Equal(fields, qrelsHeader) {
				return nil, lr.errorf("header: want %q, got %q", strings.Join(qrelsHeader, "\t"), bytes.TrimSpace(line))
			}
			continue
		}
		if scoreErr != nil {
			return nil, lr.errorf("field score: %q is not an integer", fields[2])
		}
		qid, did := fields[0], fields[1]
		if qid == "" {
			return nil, lr.errorf("field query-id: empty")
		}
		if did == "" {
			return nil, lr.errorf("field corpus-id: empty")
		}
		docs := qrels[qid]
		if docs == nil {
			docs = make(map[string]int)
			qrels[qid] = docs
		}
		if _, dup := docs[did]; dup {
			return nil, lr.errorf("duplicate judgement for query %q doc %q", qid, did)
		}
		docs[did] = score
		pairs++
	}
	if pairs == 0 {
		return nil, fmt.Errorf("%s: no judgements", name)
	}
	return qrels, nil
}
