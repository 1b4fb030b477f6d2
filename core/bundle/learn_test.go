package bundle

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sbmoe/sbmoe/moe"
)

// productFeedback picks, for words of testDocs, the document that holds them.
var productFeedback = []Feedback{
	{"with", "d1"}, {"were", "d1"}, {"they", "d2"}, {"first", "d2"}, {"been", "d3"}, {"after", "d3"},
	{"there", "d4"}, {"time", "d4"}, {"about", "d5"}, {"over", "d5"}, {"other", "d5"}, {"this", "d1"},
}

// TestLearnHeadProduct: the product recipe learns a gain head for queries only, checks it
// on held-out feedback against the untrained head, and swaps in whichever ranks the
// held-out choices better; the index stays valid and the result is deterministic. When
// it keeps the untrained head, search is exactly what it was.
func TestLearnHeadProduct(t *testing.T) {
	ctx := context.Background()
	b, err := Open(build(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	fp := b.Retriever.Fingerprint()
	before := make([][]Hit, len(productFeedback))
	for i, f := range productFeedback {
		before[i], _ = b.Search(ctx, f.Query, 5)
	}
	res, err := b.LearnHead(ctx, productFeedback, LearnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	head := b.Retriever.Head()
	if head == nil || head.Config().Output != moe.OutputGain || b.Retriever.Fingerprint() != fp || res.Start == nil || res.Val < 2 {
		t.Fatalf("head %v, fingerprint kept %v, validated %v on %d", head != nil, b.Retriever.Fingerprint() == fp, res.Start != nil, res.Val)
	}
	if res.Epoch == 0 {
		t.Logf("kept the untrained head (validation NDCG@10 %.3f, %d epochs tried)", res.Start.ValNDCG, len(res.History))
		for i, f := range productFeedback {
			if after, _ := b.Search(ctx, f.Query, 5); !slices.Equal(after, before[i]) {
				t.Errorf("%q: the untrained head changed the results %v → %v", f.Query, before[i], after)
			}
		}
	} else {
		kept := res.History[res.Epoch-1].ValNDCG
		t.Logf("validation NDCG@10 %.3f untrained → %.3f at epoch %d, α %.3f", res.Start.ValNDCG, kept, res.Epoch, head.Gain())
		if !(kept > res.Start.ValNDCG) {
			t.Errorf("kept epoch %d with validation NDCG@10 %.3f, not above the untrained %.3f", res.Epoch, kept, res.Start.ValNDCG)
		}
	}
	again, _ := Open(build(t), Options{})
	if _, err := again.LearnHead(ctx, productFeedback, LearnOptions{}); err != nil {
		t.Fatal(err)
	}
	if again.Retriever.Head().Digest() != head.Digest() {
		t.Error("two runs on the same feedback learned different heads")
	}
	_, err = again.LearnHead(ctx, productFeedback[:5], LearnOptions{})
	if !errors.Is(err, ErrNoFeedback) || !strings.Contains(err.Error(), "5 distinct queries, at least 8 are needed") {
		t.Errorf("five queries: %v", err)
	}
	if _, err := again.LearnHead(ctx, productFeedback, LearnOptions{Recipe: "magic"}); err == nil || !strings.Contains(err.Error(), `recipe "magic"`) {
		t.Errorf("unknown recipe: %v", err)
	}
}
