package beir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Doc is one corpus document.
type Doc struct {
	ID, Title, Text string
}

// Query is one query.
type Query struct {
	ID, Text string
}

// LoadCorpus reads a corpus.jsonl or corpus.jsonl.gz file.
func LoadCorpus(path string) ([]Doc, error) {
	f, err := openText(path)
	if err != nil {
		return nil, fmt.Errorf("load corpus: %w", err)
	}
	defer f.Close()
	return ReadCorpus(f, path)
}

// ReadCorpus reads corpus JSONL from r; name labels errors. Every line must
// hold a non-empty string "_id", unique in the file, and a string "text";
// "title" may be missing or null (read as ""). At least one document is
// required.
func ReadCorpus(r io.Reader, name string) ([]Doc, error) {
	var docs []Doc
	err := readIdentified(r, name, func(lr *lineReader, rec jsonRecord, id string) error {
		title, err := rec.str(lr, "title", rec.Title, false)
		if err != nil {
			return err
		}
		text, err := rec.str(lr, "text", rec.Text, true)
		if err != nil {
			return err
		}
		docs = append(docs, Doc{ID: id, Title: title, Text: text})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("%s: empty corpus: no documents", name)
	}
	return docs, nil
}

// readIdentified is readJSONL for records keyed by "_id": it checks that every line has
// a non-empty id, unique in the file, before handing the record to each.
func readIdentified(r io.Reader, name string, each func(lr *lineReader, rec jsonRecord, id string) error) error {
	firstLine := make(map[string]int)
	return readJSONL(r, name, func(lr *lineReader, rec jsonRecord) error {
		id, err := rec.id(lr)
		if err != nil {
			return err
		}
		if prev, dup := firstLine[id]; dup {
			return lr.errorf("field _id: duplicate id %q (first on line %d)", id, prev)
		}
		firstLine[id] = lr.line
		return each(lr, rec, id)
	})
}

// LoadQueries reads a queries.jsonl (or queries.jsonl.gz) file.
func LoadQueries(path string) ([]Query, error) {
	f, err := openText(path)
	if err != nil {
		return nil, fmt.Errorf("load queries: %w", err)
	}
	defer f.Close()
	return ReadQueries(f, path)
}

// ReadQueries reads queries JSONL from r; name labels errors. Every line
// must hold a non-empty string "_id", unique in the file, and a string
// "text". At least one query is required.
func ReadQueries(r io.Reader, name string) ([]Query, error) {
	var queries []Query
	err := readIdentified(r, name, func(lr *lineReader, rec jsonRecord, id string) error {
		text, err := rec.str(lr, "text", rec.Text, true)
		if err != nil {
			return err
		}
		queries = append(queries, Query{ID: id, Text: text})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(queries) == 0 {
		return nil, fmt.Errorf("%s: no queries", name)
	}
	return queries, nil
}

// jsonRecord holds the fields of one JSONL line as raw JSON so that a field
// of the wrong type can be reported by name rather than by Go type.
type jsonRecord struct {
	ID    json.RawMessage `json:"_id"`
	Title json.RawMessage `json:"title"`
	Text  json.RawMessage `json:"text"`
}

func (rec jsonRecord) id(lr *lineReader) (string, error) {
	id, err := rec.str(lr, "_id", rec.ID, true)
	if err != nil {
		return "", err
	}
	if id == "" {
		return "", lr.errorf("field _id: empty")
	}
	return id, nil
}

// str decodes one string field. A missing field or JSON null is an error
// when required and "" otherwise.
func (rec jsonRecord) str(lr *lineReader, field string, raw json.RawMessage, required bool) (string, error) {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		if required {
			return "", lr.errorf("field %s: missing", field)
		}
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", lr.errorf("field %s: want a string, got %s", field, jsonKind(raw))
	}
	return s, nil
}

// jsonKind names the JSON type of a valid JSON value by its first byte.
func jsonKind(raw json.RawMessage) string {
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case '"':
		return "a string"
	default:
		return "a number"
	}
}

// readJSONL decodes each non-blank line of r as a JSON object and passes it
// to fn.
func readJSONL(r io.Reader, name string, fn func(*lineReader, jsonRecord) error) error {
	lr := newLineReader(r, name)
	for {
		line, err := lr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		var rec jsonRecord
		if err := json.Unmarshal(line, &rec); err != nil {
			var typeErr *json.UnmarshalTypeError
			if errors.As(err, &typeErr) && typeErr.Field == "" {
				return lr.errorf("want a JSON object, got %s", typeErr.Value)
			}
			return lr.errorf("malformed JSON: %v", err)
		}
		if err := fn(lr, rec); err != nil {
			return err
		}
	}
}
