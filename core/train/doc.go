// Package train holds the training pieces that native and WebAssembly training share: the
// parameter abstraction, the InfoNCE loss of SB-MoE, AdamW with parameter groups, and the
// deterministic sampling of batches and positives. It knows nothing of the models: the
// encoder and the SB-MoE head expose their weights as []*Param whose Data and Grad alias
// their own buffers, and their backward passes add into Grad.
//
// One training step of the recipe reads:
//
//	train.ZeroGrad(params)
//	stats, err := loss.Forward(q, d, b, dim)   // q, d: the batch's query and document embeddings
//	if err != nil { … }                        // errors.Is(err, train.ErrNonFinite): stop, keep the last checkpoint
//	loss.Backward(dq, dd)                      // then the head's and encoder's backward passes
//	opt.Step()
//
// Everything matches PyTorch as the SB-MoE authors use it — the loss is
// F.cross_entropy(q·dᵀ/τ, arange(B)), the optimizer is torch.optim.AdamW — and is checked
// against golden files written by tools/reference/train_golden.py. Randomness comes only from
// math/rand/v2's PCG seeded by the caller, so a run is reproducible from its seed.
//
// Optimizer state is saved as safetensors, "<param>.exp_avg", "<param>.exp_avg_sq" and
// "<param>.step" per parameter, as torch names them, so a stopped run resumes exactly.
package train
