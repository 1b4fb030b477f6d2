package metrics_test

import (
	"fmt"
	"os"

	"github.com/sbmoe/sbmoe/core/beir"
	"github.com/sbmoe/sbmoe/core/metrics"
)

func ExampleEvaluate() {
	qrels := beir.Qrels{
		"q1": {"d1": 1, "d4": 2},
		"q2": {"d2": 1},
	}
	run := metrics.Run{
		"q1": {"d1": 0.9, "d2": 0.8, "d3": 0.8, "d4": 0.1},
		"q2": {"d1": 0.5, "d2": 0.4},
		"q3": {"d1": 1.0}, // not judged: ignored
	}
	_, mean, err := metrics.Evaluate(qrels, run, []string{"ndcg@10", "mrr@1", "recall@2", "p@1"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range []string{"ndcg_cut_10", "mrr_cut_1", "recall_2", "P_1"} {
		fmt.Printf("%s %.4f\n", m, mean[m])
	}
	// The values agree with pytrec_eval's.
	// Output:
	// ndcg_cut_10 0.6692
	// mrr_cut_1 0.5000
	// recall_2 0.7500
	// P_1 0.5000
}

func ExampleWriteTREC() {
	run := metrics.Run{"q1": {"d9": 0.5, "d10": 0.5, "d2": 0.7}}
	if err := metrics.WriteTREC(os.Stdout, run, "sbmoe", 0); err != nil {
		fmt.Println(err)
	}
	// Output:
	// q1 Q0 d2 1 0.7 sbmoe
	// q1 Q0 d9 2 0.5 sbmoe
	// q1 Q0 d10 3 0.5 sbmoe
}
