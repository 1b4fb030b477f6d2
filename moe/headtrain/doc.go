// Package headtrain trains an SB-MoE head (package moe) alone, on pooled encoder vectors
// held in memory: InfoNCE over in-batch negatives and AdamW, as the SB-MoE recipe trains
// the head (DESIGN.md §2), with nothing read from or written to files. The browser calls
// it to learn from a visitor's feedback; sbmoe train --freeze-encoder is a layer over it
// that adds checkpoints and resume.
//
// One step reads as the recipe does:
//
//	h = [queries; one positive document each]   (2B,H), pooled vectors
//	out = block.Forward(h, Train)               noisy top-1 routing
//	loss = InfoNCE(out[:B], out[B:]) + aux      in-batch negatives
//	InfoNCE.Backward → block.Backward → AdamW.Step, zero gradients
//
// The product recipe (Product, on a moe.ProductConfig head) adds what a site's own data
// need for a head that must never make its search worse: hard negatives mined before every
// epoch from every document of Data.Docs (the site's index) under the current head, with
// a query's own positives masked out of its softmax; validation by NDCG@10 of held-out
// queries ranked against the whole index; early stopping; and a guard that scores the
// untrained head, which for a gain head is the identity, as epoch 0 and keeps it unless a
// trained epoch ranks the held-out queries better.
//
// Every random choice derives from Config.Seed — the validation split, the batches
// (train.Batches), the positive of each query in each epoch (train.PositiveIndex), the
// hard negatives drawn from each query's top-ranked documents and the gate noise of each
// step — so two runs on the same data give the same head bit for bit,
// and a run restored after an epoch ends where an uninterrupted one would.
package headtrain
