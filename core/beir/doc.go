// Package beir loads retrieval test collections in the BEIR layout:
//
//	<dir>/corpus.jsonl[.gz]   {"_id": str, "title": str, "text": str} per line
//	<dir>/queries.jsonl[.gz]  {"_id": str, "text": str} per line
//	<dir>/qrels/<split>.tsv   "query-id\tcorpus-id\tscore" header (optional), then one judged pair per line
//
// The loader is stricter than BEIR's GenericDataLoader, which silently keeps
// the last of two documents with the same id, replaces invalid UTF-8 and
// always drops the first qrels line whether or not it is a header. Here every
// such defect is an error naming the file, the line and the field, because an
// evaluation quietly run on a damaged collection gives numbers nobody can
// trust. What is tolerated: CRLF line ends, blank lines, unknown JSON fields
// (BEIR corpora often carry "metadata"), a missing or null title, lines of any
// length, and gzip-compressed JSONL files (chosen by the ".gz" suffix).
//
// Read* functions take an io.Reader so the same parsers serve files, embedded
// bundles and the browser; Load* and Load open files.
package beir
