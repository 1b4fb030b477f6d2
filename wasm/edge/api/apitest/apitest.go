// Package apitest holds what every server of the edge endpoint must answer alike: the
// bad requests, each with the status, code and message it gets. The handler's own tests
// (natively and under wazero) and tools/edgetest (the worker in workerd, the native
// server) send them all.
package apitest

import (
	"strings"

	"github.com/sbmoe/sbmoe/core/bundle"
	"github.com/sbmoe/sbmoe/wasm/edge/api"
)

// BadRequest is a request the endpoint must refuse, and how.
type BadRequest struct {
	Name         string
	Method, Path string
	Body         string
	Status       int
	Code         string
	Says         string // a part of the message
}

// BadRequests are the requests the endpoint refuses, one of each kind.
var BadRequests = []BadRequest{
	{"no q", "GET", "/search", "", 400, "missing_query", "missing q"},
	{"no q, only k", "GET", "/search?k=3", "", 400, "missing_query", "missing q"},
	{"empty q", "GET", "/search?q=", "", 400, "bad_query", "query is empty"},
	{"blank q", "GET", "/search?q=%20%20%09", "", 400, "bad_query", "query is empty"},
	{"q too long", "GET", "/search?q=" + strings.Repeat("a", bundle.MaxQueryBytes+1), "", 400, "bad_query", "at most 4096"},
	{"q not UTF-8", "GET", "/search?q=%ff%fe", "", 400, "bad_query", "not valid UTF-8"},
	{"k zero", "GET", "/search?q=hello&k=0", "", 400, "bad_k", "want 1..1000"},
	{"k negative", "GET", "/search?q=hello&k=-2", "", 400, "bad_k", "want 1..1000"},
	{"k too large", "GET", "/search?q=hello&k=1001", "", 400, "bad_k", "want 1..1000"},
	{"k not a number", "GET", "/search?q=hello&k=ten", "", 400, "bad_k", `k is "ten"`},
	{"malformed JSON", "POST", "/search", `{"query": "hello",`, 400, "bad_json", "malformed JSON"},
	{"JSON not an object", "POST", "/search", `["hello"]`, 400, "bad_json", "malformed JSON"},
	{"unknown JSON field", "POST", "/search", `{"q": "hello"}`, 400, "bad_json", `unknown field "q"`},
	{"k a string", "POST", "/search", `{"query": "hello", "k": "3"}`, 400, "bad_json", "malformed JSON"},
	{"two JSON objects", "POST", "/search", `{"query": "a"} {"query": "b"}`, 400, "bad_json", "data after"},
	{"empty body", "POST", "/search", ``, 400, "bad_json", "malformed JSON"},
	{"no query in JSON", "POST", "/search", `{"k": 3}`, 400, "missing_query", "missing query"},
	{"empty query in JSON", "POST", "/search", `{"query": " "}`, 400, "bad_query", "query is empty"},
	{"k out of range in JSON", "POST", "/search", `{"query": "hello", "k": 5000}`, 400, "bad_k", "want 1..1000"},
	{"query and queries", "POST", "/search", `{"query": "a", "queries": ["b"]}`, 400, "bad_batch", "not both"},
	{"empty batch", "POST", "/search", `{"queries": []}`, 400, "bad_batch", "want 1..32"},
	{"batch too large", "POST", "/search", `{"queries": [` + strings.TrimSuffix(strings.Repeat(`"a",`, api.MaxBatch+1), ",") + `]}`, 400, "bad_batch", "want 1..32"},
	{"empty query in a batch", "POST", "/search", `{"queries": ["hello", ""]}`, 400, "bad_query", "queries[1]: query is empty"},
	{"body too large", "POST", "/search", `{"query": "` + strings.Repeat("a", api.MaxBodyBytes) + `"}`, 413, "body_too_large", "over 1048576 bytes"},
	{"PUT /search", "PUT", "/search?q=hello", "", 405, "method_not_allowed", "use GET, POST"},
	{"DELETE /search", "DELETE", "/search", "", 405, "method_not_allowed", "use GET, POST"},
	{"POST /health", "POST", "/health", "{}", 405, "method_not_allowed", "use GET"},
	{"unknown path", "GET", "/find?q=hello", "", 404, "not_found", "no endpoint at /find"},
	{"root", "GET", "/", "", 404, "not_found", "the endpoints are"},
	{"debug path when not debugging", "GET", "/debug/panic", "", 404, "not_found", "no endpoint"},
}
