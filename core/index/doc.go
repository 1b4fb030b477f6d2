// Package index is an exact, in-memory vector index: every query is scored
// against every stored vector by dot product and the k best are returned.
//
// Vectors are stored either as float32 or as int8 with one float32 scale per
// vector (symmetric quantisation: scale = max|x_i|/127, q_i = round(x_i/scale)
// clamped to [-127, 127]). Queries stay float32 in both cases; an int8 vector
// is dequantised inside the dot product, so its score is dot(query, q)*scale
// and differs from the float32 score by at most sum|query_i|*scale/2.
//
// Results are deterministic: hits are sorted by score, highest first, and equal
// scores are ordered by insertion order (lower Hit.Index first).
//
// An Index is safe for concurrent Search and SearchBatch calls once it is no
// longer being modified by Add.
//
// # File format
//
// All integers and floats are little-endian.
//
//	magic    [8]byte  "SBMOEIDX"
//	version  uint32   2 (version 1 files, which lack the fingerprint, are read too)
//	kind     uint8    1 = Float32, 2 = Int8
//	dim      uint32   vector length, 1..65536
//	count    uint32   number of vectors
//	fingerprint       uint8 length (0..255) + that many bytes of UTF-8 (Origin.Fingerprint)
//	model             uint16 length (0..4096) + that many bytes of UTF-8 (Origin.Model)
//	ids      count × (uint32 byte length, 1..65536 bytes of UTF-8), unique
//	scales   count × float32, finite and >= 0 (Int8 only; absent for Float32)
//	vectors  count × dim × float32 (Float32) or int8 in [-127, 127] (Int8), row-major
//	checksum uint32   CRC-32C (Castagnoli) of every byte before it
//
// Nothing may follow the checksum. Read loads by streaming: it never trusts
// the header for allocation beyond what the input can hold (the file size when
// it is known, otherwise the bytes that have actually arrived), verifies the
// checksum as it goes, and validates ids and values only once the checksum has
// matched, so a damaged file reports a checksum mismatch rather than a
// misleading symptom.
package index
