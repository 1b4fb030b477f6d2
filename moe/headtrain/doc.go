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
// Every random choice derives from Config.Seed — the validation split, the batches
// (train.Batches), the positive of each query in each epoch (train.PositiveIndex) and the
// gate noise of each step — so two runs on the same data give the same head bit for bit,
// and a run restored after an epoch ends where an uninterrupted one would.
package headtrain
