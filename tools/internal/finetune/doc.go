// Package finetune trains a retriever with the SB-MoE recipe: the BERT encoder and,
// on top of its pooled embedding, an SB-MoE block (package moe), with InfoNCE over
// in-batch negatives and AdamW at two learning rates, as the authors' code does
// (FaySokli/SB-MoE, commit c02b0bc; DESIGN.md §2).
//
// Training data are Pairs: queries, each with the indices of its positive documents.
// FromQrels builds them from a BEIR training split; SelfSupervised builds them from a
// bare corpus (title → text, or two random crops of one document), for collections
// and sites without queries.
//
// One step of Train reads as the recipe does:
//
//	encoder.ForwardTrain(queries), encoder.ForwardTrain(documents)   pooled h (2B,H)
//	block.Forward(h, Train)                                          out (2B,H), noisy top-1
//	InfoNCE(out[:B], out[B:])                                        loss
//	InfoNCE.Backward → block.Backward (+ aux loss) → encoder.Backward
//	AdamW.Step (encoder at EncoderLR, block at HeadLR), SyncWeights, zero gradients
//
// Queries and documents go through the block in one call, so one Backward serves
// both; the authors call it twice, which draws the same noise distribution.
// With FreezeEncoder the encoder runs once over every text and only the block
// trains on the cached vectors: the head-only training the browser runs.
//
// Every random choice derives from Config.Seed — the validation split, the batches
// (train.Batches), the positive of each query in each epoch (train.PositiveIndex),
// the block's initial weights and the gate noise of each step — so a run is
// reproducible, and a run resumed from a checkpoint ends with the same weights as
// one that was never interrupted. Checkpoints are written to a fresh folder whose
// name is then recorded atomically in "latest", so a crash mid-write leaves the
// previous checkpoint usable.
package finetune
