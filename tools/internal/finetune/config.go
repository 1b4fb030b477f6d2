package finetune

import (
	"errors"
	"fmt"
	"math"

	"github.com/sbmoe/sbmoe/moe"
	"github.com/sbmoe/sbmoe/moe/headtrain"
)

// Router names of Config.Router; RouterNone trains the encoder alone, the paper's
// fine-tuned baseline.
const (
	RouterNone    = "none"
	RouterPaper   = string(moe.RouterPaper)
	RouterLearned = string(moe.RouterLearned)
)

// Recipes of Config.Recipe.
const (
	RecipePaper   = "paper"                 // the SB-MoE recipe; sbmoe.json names it by its router
	RecipeProduct = headtrain.RecipeProduct // headtrain.Product on a gain head, queries only
)

// Which epoch's model Train returns and exports.
const (
	KeepLast = headtrain.KeepLast // the paper's choice
	KeepBest = headtrain.KeepBest // the epoch with the lowest validation loss
)

// Config is a training run. Zero fields take the recipe's defaults (Defaults).
type Config struct {
	BaseModel string // the encoder to start from: a Hugging Face model folder
	Out       string // output folder: checkpoints, then the final model
	Resume    bool   // continue from Out's latest checkpoint instead of BaseModel

	Epochs      int
	BatchSize   int
	EncoderLR   float64
	HeadLR      float64
	WeightDecay float64 // both groups
	Temperature float32
	MaxQueryLen int // tokens, [CLS] and [SEP] included; 0 = the model's max_seq_length
	MaxDocLen   int // 0 = 256; both are capped at the model's
	Seed        uint64

	Router      string // RouterNone, RouterPaper or RouterLearned
	Experts     int
	Mix         moe.Mix // how the trained block mixes experts at inference
	BalanceCoef float32 // the learned router's load-balancing weight; 0 = 0.01

	// FreezeEncoder trains the block alone (package headtrain) on pooled vectors computed
	// once; it checkpoints after each epoch only.
	FreezeEncoder bool
	// Recipe is RecipePaper (empty: the same) or RecipeProduct, which trains the head alone
	// (FreezeEncoder) as headtrain.Product does, with this config's epochs, batch, head
	// learning rate, weight decay, temperature, seed and validation share: a gain block
	// (moe.OutputGain) for queries only, hard negatives mined from every document of the
	// pairs, validation by NDCG@10, early stopping and the guard (Keep must be KeepBest).
	// The exported folder's sbmoe.json records the recipe and that the head changes
	// queries only.
	Recipe string
	// Lowercase lower-cases queries and documents before tokenizing, as the authors do;
	// the trained folder's sbmoe.json records it, so search prepares texts alike.
	Lowercase bool
	Threads   int // encoder goroutines; 0 = the model's default

	ValFraction     float64 // held-out share of the training queries; 0 = 0.05, negative = none
	Keep            string  // KeepLast or KeepBest
	CheckpointEvery int     // also checkpoint every so many steps; 0 = after each epoch only

	// Progress, when set, is called after every step.
	Progress func(Progress)
}

// Progress reports one finished step.
type Progress = headtrain.Progress

// Defaults are the recipe's settings (DESIGN.md §2) but for Epochs, which depends
// on the base model (30 for TinyBERT, 20 for BERT and Contriever), and the document
// length, 256 instead of 512 to keep CPU training affordable.
func Defaults() Config {
	return Config{
		Epochs: 20, BatchSize: 64, EncoderLR: 1e-6, HeadLR: 1e-4, WeightDecay: 0.01,
		Temperature: 0.05, MaxDocLen: 256, Seed: 42, Router: RouterPaper, Experts: 6,
		Mix: moe.MixTop1, BalanceCoef: 0.01, ValFraction: 0.05, Keep: KeepLast, Lowercase: true,
	}
}

// withDefaults fills zero fields from Defaults and checks the result.
func (c Config) withDefaults() (Config, error) {
	d := Defaults()
	if c.Epochs == 0 {
		c.Epochs = d.Epochs
	}
	if c.BatchSize == 0 {
		c.BatchSize = d.BatchSize
	}
	if c.EncoderLR == 0 {
		c.EncoderLR = d.EncoderLR
	}
	if c.HeadLR == 0 {
		c.HeadLR = d.HeadLR
	}
	if c.Temperature == 0 {
		c.Temperature = d.Temperature
	}
	if c.MaxDocLen == 0 {
		c.MaxDocLen = d.MaxDocLen
	}
	if c.Router == "" {
		c.Router = d.Router
	}
	if c.Experts == 0 {
		c.Experts = d.Experts
	}
	if c.Mix == "" {
		c.Mix = d.Mix
	}
	if c.BalanceCoef == 0 && c.Router == RouterLearned {
		c.BalanceCoef = d.BalanceCoef
	}
	if c.ValFraction == 0 {
		c.ValFraction = d.ValFraction
	}
	if c.Keep == "" {
		c.Keep = d.Keep
	}
	switch {
	case c.BaseModel == "" && !c.Resume:
		return c, errors.New("config: no base model")
	case c.Out == "":
		return c, errors.New("config: no output folder")
	case c.Epochs < 0:
		return c, fmt.Errorf("config: epochs %d must be positive", c.Epochs)
	case c.BatchSize < 2:
		return c, fmt.Errorf("config: batch size %d: InfoNCE needs at least 2 pairs for in-batch negatives", c.BatchSize)
	case !positive(c.EncoderLR) || !positive(c.HeadLR):
		return c, fmt.Errorf("config: learning rates %g (encoder) and %g (head) must be positive and finite", c.EncoderLR, c.HeadLR)
	case c.WeightDecay < 0 || math.IsInf(c.WeightDecay, 0) || math.IsNaN(c.WeightDecay):
		return c, fmt.Errorf("config: weight decay %g must be non-negative", c.WeightDecay)
	case !positive(float64(c.Temperature)):
		return c, fmt.Errorf("config: temperature %g must be positive", c.Temperature)
	case c.MaxQueryLen < 0 || c.MaxQueryLen == 1 || c.MaxQueryLen == 2 || c.MaxDocLen < 3:
		return c, fmt.Errorf("config: maximum lengths %d (queries) and %d (documents) must leave room for [CLS], [SEP] and a token", c.MaxQueryLen, c.MaxDocLen)
	case c.Router != RouterNone && c.Router != RouterPaper && c.Router != RouterLearned:
		return c, fmt.Errorf("config: router %q: want %s, %s or %s", c.Router, RouterNone, RouterPaper, RouterLearned)
	case c.Recipe != "" && c.Recipe != RecipePaper && c.Recipe != RecipeProduct:
		return c, fmt.Errorf("config: recipe %q: want %s or %s", c.Recipe, RecipePaper, RecipeProduct)
	case c.Recipe == RecipeProduct && (!c.FreezeEncoder || c.Router == RouterNone || c.Keep != KeepBest || c.ValFraction < 0):
		return c, errors.New("config: the product recipe trains a head alone (a frozen encoder, a router), keeps the best epoch and needs a validation split")
	case c.Router == RouterNone && c.FreezeEncoder:
		return c, errors.New("config: a frozen encoder without a block leaves nothing to train")
	case c.Keep != KeepLast && c.Keep != KeepBest:
		return c, fmt.Errorf("config: keep %q: want %s or %s", c.Keep, KeepLast, KeepBest)
	case c.Keep == KeepBest && c.ValFraction < 0:
		return c, errors.New("config: keeping the best epoch needs a validation split")
	case c.ValFraction >= 1:
		return c, fmt.Errorf("config: validation fraction %g must be below 1", c.ValFraction)
	case c.CheckpointEvery < 0:
		return c, fmt.Errorf("config: checkpoint interval %d must not be negative", c.CheckpointEvery)
	}
	return c, nil
}

func positive(x float64) bool { return x > 0 && !math.IsInf(x, 0) }

// blockConfig is the moe.Config of the run's block for a hidden size.
func (c Config) blockConfig(hidden int) moe.Config {
	bc := moe.Config{Hidden: hidden, Experts: c.Experts, Router: moe.Router(c.Router), Mix: c.Mix}
	if c.Router == RouterLearned {
		bc.BalanceCoef = c.BalanceCoef
	}
	if c.Recipe == RecipeProduct {
		bc.Output = moe.OutputGain
	}
	return bc
}
