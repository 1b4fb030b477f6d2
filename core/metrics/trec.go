package metrics

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// WriteTREC writes run in TREC run format, one line per retrieved document:
//
//	qid Q0 docid rank score tag
//
// Queries come in increasing id order; within a query documents are in the
// order Evaluate ranks them, numbered from 1, and at most depth of them are
// written (all when depth <= 0). Scores are written in the shortest form
// that reads back to the same float64, so ReadTREC returns the run exactly.
// Ids and tag must be non-empty and free of whitespace, as the format is
// whitespace-separated.
func WriteTREC(w io.Writer, run Run, tag string, depth int) error {
	if err := checkToken("tag", tag); err != nil {
		return fmt.Errorf("write trec run: %w", err)
	}
	qids := make([]string, 0, len(run))
	for qid := range run {
		qids = append(qids, qid)
	}
	slices.Sort(qids)
	bw := bufio.NewWriter(w)
	for _, qid := range qids {
		if err := checkToken("query id", qid); err != nil {
			return fmt.Errorf("write trec run: %w", err)
		}
		ranking, err := rank(run[qid])
		if err != nil {
			return fmt.Errorf("write trec run: query %q: %w", qid, err)
		}
		if depth > 0 && len(ranking) > depth {
			ranking = ranking[:depth]
		}
		for i, d := range ranking {
			if err := checkToken("doc id", d.id); err != nil {
				return fmt.Errorf("write trec run: query %q: %w", qid, err)
			}
			fmt.Fprintf(bw, "%s Q0 %s %d %s %s\n", qid, d.id, i+1, strconv.FormatFloat(d.score, 'g', -1, 64), tag)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write trec run: %w", err)
	}
	return nil
}

func checkToken(field, s string) error {
	if s == "" {
		return fmt.Errorf("%s: empty", field)
	}
	if strings.ContainsFunc(s, unicode.IsSpace) {
		return fmt.Errorf("%s %q: contains whitespace", field, s)
	}
	return nil
}

// ReadTREC reads a TREC run: lines "qid Q0 docid rank score tag" separated
// by any whitespace. As in trec_eval, the second field and the rank are not
// used (documents are ranked by score) and a document listed twice for a
// query is an error. Blank lines are skipped. Errors give the line number.
func ReadTREC(r io.Reader) (Run, error) {
	br := bufio.NewReader(r)
	run := make(Run)
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadString('\n')
		if line == "" && err == io.EOF {
			return run, nil
		}
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("read trec run: line %d: %w", lineNo, err)
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 6 {
			return nil, fmt.Errorf("read trec run: line %d: want 6 fields (qid Q0 docid rank score tag), got %d", lineNo, len(fields))
		}
		qid, docID := fields[0], fields[2]
		if _, err := strconv.Atoi(fields[3]); err != nil {
			return nil, fmt.Errorf("read trec run: line %d: field rank: %q is not an integer", lineNo, fields[3])
		}
		score, err := strconv.ParseFloat(fields[4], 64)
		if err != nil || math.IsNaN(score) {
			return nil, fmt.Errorf("read trec run: line %d: field score: %q is not a number", lineNo, fields[4])
		}
		docs := run[qid]
		if docs == nil {
			docs = make(map[string]float64)
			run[qid] = docs
		}
		if _, dup := docs[docID]; dup {
			return nil, fmt.Errorf("read trec run: line %d: duplicate doc %q for query %q", lineNo, docID, qid)
		}
		docs[docID] = score
	}
}
