package finetune

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sbmoe/sbmoe/core/retriever"
	"github.com/sbmoe/sbmoe/moe"
)

// productConfig is the product recipe at the toy data's scale.
func productConfig(t *testing.T) Config {
	cfg := toyConfig(t)
	cfg.Recipe, cfg.FreezeEncoder, cfg.Router, cfg.Keep, cfg.ValFraction = RecipeProduct, true, RouterLearned, KeepBest, 0.25
	cfg.Epochs, cfg.HeadLR = 6, 1e-2
	return cfg
}

// TestProductRecipe: the product recipe exports a gain head that the folder's sbmoe.json
// applies to queries only and names "product"; a run resumed after its first epoch ends
// with the straight run's head, also when the guard's best is the untrained head.
func TestProductRecipe(t *testing.T) {
	data := toyPairs(24)
	cfg := productConfig(t)
	straight, err := Train(cfg, data)
	if err != nil {
		t.Fatal(err)
	}
	if straight.Block.Config().Output != moe.OutputGain {
		t.Errorf("exported head's output %q, want gain", straight.Block.Config().Output)
	}
	raw, err := os.ReadFile(filepath.Join(cfg.Out, retriever.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	m, err := retriever.ParseManifest(raw)
	if err != nil {
		t.Fatal(err)
	}
	if m.Recipe != RecipeProduct || m.HeadAppliesTo != retriever.HeadQueries {
		t.Errorf("sbmoe.json records recipe %q, head for %q; want product, queries", m.Recipe, m.HeadAppliesTo)
	}
	opened, err := retriever.OpenDir(cfg.Out, retriever.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if opened.Head().Digest() != straight.Block.Digest() {
		t.Error("the folder opens with another head than the one trained")
	}
	t.Logf("kept epoch %d of %d", straight.Epoch, len(straight.History))

	cfg.Out = t.TempDir()
	trainUntilCrash(t, cfg, data, 16) // epochs are 12 steps (MinSteps 10 over batches of 8, 8, 2)
	cfg.Resume, cfg.BaseModel = true, ""
	resumed, err := Train(cfg, data)
	if err != nil {
		t.Fatal(err)
	}
	if resumed.Block.Digest() != straight.Block.Digest() || resumed.Epoch != straight.Epoch {
		t.Errorf("resumed run kept epoch %d (another head: %v), the straight one %d", resumed.Epoch,
			resumed.Block.Digest() != straight.Block.Digest(), straight.Epoch)
	}

	bad := productConfig(t)
	bad.Keep = KeepLast
	if _, err := Train(bad, data); err == nil {
		t.Error("the product recipe accepted keep last")
	}
}
