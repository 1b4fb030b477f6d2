// Package moe is the single-block mixture-of-experts head (SB-MoE) that sits on the pooled
// embedding of a dense retriever, as the authors' code builds it (FaySokli/SB-MoE, commit
// c02b0bc):
//
//	expert E_m(h) = W2_m · relu(W1_m·h + b1_m) + b2_m        (H → H/2 → H)
//	gate   l(h)   = W3 · relu(W1g·h + b1g) + b3              (H → H/2 → E)
//	train  p = softmax(l + ε ⊙ softplus(Wn·h + bn)),  ε ~ N(0,1), Wn never trained
//	       g = p ⊙ onehot(argmax p)                           (top-1, not renormalised)
//	eval   TOP-1: g = p ⊙ onehot(argmax p), p = softmax(l);  ALL: g = softmax(l)
//	out  = normalize(Σ_m g_m · E_m(h)) + h
//
// One block serves queries and documents alike. [Block.Forward] takes a batch of pooled
// vectors and returns the output and the routing of each row; [Block.Backward] adds into the
// parameter gradients and into the gradient of the pooled vectors, which flows on into the
// encoder. A block keeps its buffers between calls, so a training loop at a fixed batch size
// allocates nothing after the first step; the same code runs in the browser.
//
// Two routers are offered. "paper" is the recipe above, exactly. Its gate learns almost
// nothing in training: with one expert kept, normalize(p_k·E_k(h)) does not depend on p_k.
// "learned" keeps the same forward values but backpropagates through a straight-through
// scale (out = (1 + p_k − stopgrad(p_k))·normalize(E_k(h)) + h) and adds a Switch-style
// load-balancing loss; RATIONALE.md gives the reasons.
//
// Two outputs are offered. The paper's adds a unit vector to h from the first step, so an
// untrained head already moves every vector as far as a normalised encoder's vector is
// long. The gain output (Config.Output = OutputGain) is out = h + α·normalize(Σ g·E(h))
// with one learned scalar α that starts at 0: the untrained head is the identity, bit for
// bit, and training starts from the encoder's own ranking ([ProductConfig], the head the
// product learns from feedback).
//
// Parameters carry the authors' PyTorch names (cls_1, cls_3, noise_linear,
// specializer.<m>.query_embedding_changer_1/4) and layout (weight is (out,in)), so a head
// saved by [Block.Save] reads as a slice of their state dict and back; a gain block adds
// one tensor, "gain" (shape [1]).
package moe
