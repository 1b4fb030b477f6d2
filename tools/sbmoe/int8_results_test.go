package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// TestCommittedInt8Results: results/int8.json (make eval-int8) evaluates the int8 encoder
// on every collection of results/zero-shot.json, and its NDCG@10 stays within 0.005 of
// fp32's on each (what results/int8.md and the README claim).
func TestCommittedInt8Results(t *testing.T) {
	read := func(name string) evalReport {
		b, err := os.ReadFile(filepath.Join("..", "..", "results", name))
		if err != nil {
			t.Fatal(err)
		}
		var rep evalReport
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatalf("results/%s: %v", name, err)
		}
		return rep
	}
	fp32, int8 := read("zero-shot.json"), read("int8.json")
	if int8.Weights != "int8" {
		t.Fatalf("results/int8.json: weights %q, want int8", int8.Weights)
	}
	got := map[string]float64{}
	for _, d := range int8.Datasets {
		got[d.Name+"/"+d.Split] = d.Metrics["ndcg@10"]
	}
	for _, d := range fp32.Datasets {
		v, ok := got[d.Name+"/"+d.Split]
		if !ok {
			t.Errorf("%s: not in results/int8.json", d.Name)
			continue
		}
		if diff := v - d.Metrics["ndcg@10"]; math.Abs(diff) > 0.005 {
			t.Errorf("%s: NDCG@10 int8 %.4f, fp32 %.4f (%+.4f, more than 0.005)", d.Name, v, d.Metrics["ndcg@10"], diff)
		}
	}
}
