// Package bert runs a BERT-family encoder (any Hugging Face BertModel checkpoint:
// MiniLM, TinyBERT, BERT, Contriever) in fp32, pure Go, on every GOOS.
//
// The data flow of [Model.Encode] reads as the model does:
//
//	texts ─ tokenizer ─▶ token ids ─ embeddings ─▶ N × layer ─▶ pooling ─▶ (normalize) ─▶ vectors
//	layer: x = LN(x + Wo·attention(Wqkv·x));  x = LN(x + W2·gelu(W1·x))
//
// Sequences are not padded: a batch is the concatenation of its sequences' tokens, the
// position-wise layers (linear, layer norm, GELU) run over all of those rows at once and
// attention runs per sequence over its own length. For the tokens that exist this is the
// same arithmetic as Hugging Face's padded batch with an attention mask (masked keys get
// exactly zero weight there), without the work on padding.
//
// Training: [Model.ForwardTrain] runs the same layers, keeping what each backward
// needs in [Activations]; [Model.Backward] (from the pooled vectors' gradient) or
// [Model.BackwardHidden] (from the last hidden states') runs them in reverse and adds
// every parameter's gradient into [Grads]. [Model.Params] lists the parameters under
// their Hugging Face names with their gradients, for an optimizer; after it updates
// them, [Model.SyncWeights] repacks the linear weights that the forward pass reads.
// Each layer file holds a layer's forward and backward side by side; there is no
// dropout (the encoder trains as PyTorch's eval mode computes).
//
// Int8: [Model.QuantizeInt8] makes an int8 encoder (linear and embedding weights in
// int8 with per-row scales, activations quantised per token as they arrive, int32
// products; the rest float32), [Model.SaveInt8] writes its weights file
// ([Int8WeightsFile]), [WriteInt8Folder] a whole model folder, and [LoadFS] reads such
// a folder (the browser and the edge load it from bytes). It cannot be trained.
//
// Pooling and normalisation follow the checkpoint's sentence-transformers modules
// (modules.json, 1_Pooling/config.json) when present, else mean pooling without
// normalisation, as sentence-transformers does for a bare Hugging Face model.
package bert
