package bert_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sbmoe/sbmoe/core/beir"
	"github.com/sbmoe/sbmoe/core/bert"
	"github.com/sbmoe/sbmoe/core/index"
	"github.com/sbmoe/sbmoe/core/metrics"
)

// TestInt8Retrieval scores the fp32 and the int8 form of the default model on every
// collection in ../shared/data as the product does (documents as beir.DocText, the
// judged queries as given, mean pooling and normalisation from the model's modules,
// exact search over a float32 index, trec_eval's NDCG@10): the int8 form must stay
// within 0.005 of fp32. It takes minutes per collection, so it runs only with
// SBMOE_INT8_EVAL=1; each collection's numbers are appended to
// out/int8-eval/results.jsonl as they come.
func TestInt8Retrieval(t *testing.T) {
	if os.Getenv("SBMOE_INT8_EVAL") != "1" {
		t.Skip("set SBMOE_INT8_EVAL=1 to score fp32 and int8 on ../shared/data (minutes per collection)")
	}
	root := filepath.Join("..", "..")
	m, err := bert.Load(filepath.Join(root, "models", "all-MiniLM-L6-v2"))
	if err != nil {
		t.Skip(err)
	}
	q, err := m.QuantizeInt8()
	if err != nil {
		t.Fatal(err)
	}
	outDir := filepath.Join(root, "out", "int8-eval")
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	log, err := os.OpenFile(filepath.Join(outDir, "results.jsonl"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	ndcg, err := metrics.Parse("ndcg@10")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"adi", "medline", "cisi", "cacm", "lisa", "scifact", "npl"} {
		t.Run(name, func(t *testing.T) {
			ds, err := beir.Load(filepath.Join(root, "..", "shared", "data", name), "test")
			if err != nil {
				t.Skip(err)
			}
			docs := make([]string, len(ds.Corpus))
			ids := make([]string, len(ds.Corpus))
			for i, d := range ds.Corpus {
				docs[i], ids[i] = beir.DocText(d), d.ID
			}
			var queries, qids []string
			for _, qu := range ds.JudgedQueries() {
				queries, qids = append(queries, qu.Text), append(qids, qu.ID)
			}
			score := func(model *bert.Model) (float64, [][]float32, time.Duration) {
				start := time.Now()
				dv := model.Encode(docs, bert.EncodeOptions{})
				took := time.Since(start)
				qv := model.Encode(queries, bert.EncodeOptions{})
				ix := index.New(model.Config.HiddenSize, index.Float32)
				for i, v := range dv {
					if err := ix.Add(ids[i], v); err != nil {
						t.Fatal(err)
					}
				}
				run := metrics.Run{}
				for i, hs := range ix.SearchBatch(qv, 1000, 0) {
					ranked := make(map[string]float64, len(hs))
					for _, h := range hs {
						ranked[h.ID] = float64(h.Score)
					}
					run[qids[i]] = ranked
				}
				_, mean, err := metrics.Evaluate(ds.Qrels, run, []string{ndcg})
				if err != nil {
					t.Fatal(err)
				}
				return mean[ndcg], dv, took
			}
			fp, fv, ft := score(m)
			i8, iv, it := score(q)
			lo, sum := 1.0, 0.0
			for i := range fv {
				c := cosine64(fv[i], iv[i])
				lo, sum = min(lo, c), sum+c
			}
			rec := map[string]any{"dataset": name, "docs": len(docs), "queries": len(queries),
				"ndcg10_fp32": fp, "ndcg10_int8": i8, "delta": i8 - fp,
				"doc_cosine_min": lo, "doc_cosine_mean": sum / float64(len(fv)),
				"fp32_docs_s": float64(len(docs)) / ft.Seconds(), "int8_docs_s": float64(len(docs)) / it.Seconds()}
			b, _ := json.Marshal(rec)
			log.Write(append(b, '\n'))
			t.Logf("%s: NDCG@10 fp32 %.4f int8 %.4f (%+.4f); document cosine min %.5f mean %.5f", name, fp, i8, i8-fp, lo, sum/float64(len(fv)))
			if math.Abs(i8-fp) > 0.005 {
				t.Errorf("%s: NDCG@10 of int8 %.4f differs from fp32 %.4f by more than 0.005", name, i8, fp)
			}
		})
	}
}

func cosine64(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}
