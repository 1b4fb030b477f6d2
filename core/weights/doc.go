// Package weights reads model checkpoints into float32 tensors and writes them back.
//
// Two on-disk formats are read:
//
//   - safetensors (model.safetensors, or shards listed in model.safetensors.index.json): an
//     8-byte little-endian header length, a JSON header naming each tensor's dtype, shape and
//     byte range, then the raw little-endian data.
//   - PyTorch pickles (pytorch_model.bin) as written by torch.save: the zip format of torch ≥ 1.6
//     ("<root>/data.pkl" plus one record "<root>/data/<key>" per storage) and the older non-zip
//     stream of consecutive pickles. Tensors may be strided views into shared storages; they are
//     copied out into contiguous row-major data.
//
// Every floating-point dtype (F64, F32, F16, BF16) and the integer and bool dtypes are converted
// to float32; integers are exact up to 2^24, which covers the index buffers (position_ids)
// checkpoints carry. Readers validate everything a corrupt or hostile file could lie about —
// header length, JSON, byte ranges, overlaps, dtypes, shapes, strides — and reject tensors
// holding NaN or ±Inf, naming the file and the tensor. Allocations are bounded by the size of
// the file, so a lying header cannot make a reader allocate more than a small multiple of it.
//
// Checkpoints of the same architecture name their tensors differently (a "bert." prefix in
// BertForPreTraining and TinyBERT, LayerNorm "gamma"/"beta" in old TensorFlow conversions,
// "cls." pre-training heads); [Set.Canonical] maps them to the BertModel names the encoder
// reads.
//
// WriteSafetensors writes float32 checkpoints to an io.Writer; the trainer saves with it.
package weights
