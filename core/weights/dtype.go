package weights

import (
	"encoding/binary"
	"math"
)

// dtype describes one element type as stored on disk and how to widen it to float32.
type dtype struct {
	name   string // safetensors spelling: "F32", "BF16", ...
	size   int    // bytes per element
	decode func(dst []float32, src []byte)
}

// dtypes is keyed by the safetensors dtype name.
var dtypes = map[string]dtype{
	"F64":  {"F64", 8, decodeF64},
	"F32":  {"F32", 4, decodeF32},
	"F16":  {"F16", 2, decodeF16},
	"BF16": {"BF16", 2, decodeBF16},
	"I64":  {"I64", 8, decodeI64},
	"I32":  {"I32", 4, decodeI32},
	"I16":  {"I16", 2, decodeI16},
	"I8":   {"I8", 1, decodeI8},
	"U8":   {"U8", 1, decodeU8},
	"BOOL": {"BOOL", 1, decodeU8},
}

// torchStorageDtypes maps the storage classes torch.save pickles ("torch.FloatStorage") to dtypes.
var torchStorageDtypes = map[string]string{
	"DoubleStorage":   "F64",
	"FloatStorage":    "F32",
	"HalfStorage":     "F16",
	"BFloat16Storage": "BF16",
	"LongStorage":     "I64",
	"IntStorage":      "I32",
	"ShortStorage":    "I16",
	"CharStorage":     "I8",
	"ByteStorage":     "U8",
	"BoolStorage":     "BOOL",
}

func decodeF64(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:])))
	}
}

func decodeF32(dst []float32, src []byte) {
	src = src[:4*len(dst)] // one bounds check here instead of one per element
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i : 4*i+4]))
	}
}

func decodeF16(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = float16ToFloat32(binary.LittleEndian.Uint16(src[2*i:]))
	}
}

// decodeBF16 widens bfloat16, which is the top half of a float32.
func decodeBF16(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16)
	}
}

func decodeI64(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = float32(int64(binary.LittleEndian.Uint64(src[8*i:])))
	}
}

func decodeI32(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = float32(int32(binary.LittleEndian.Uint32(src[4*i:])))
	}
}

func decodeI16(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = float32(int16(binary.LittleEndian.Uint16(src[2*i:])))
	}
}

func decodeI8(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = float32(int8(src[i]))
	}
}

func decodeU8(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = float32(src[i])
	}
}

// float16ToFloat32 widens an IEEE 754 binary16 value exactly, subnormals, infinities and NaN
// payloads included.
func float16ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	case exp != 0: // normal: rebias the exponent from 15 to 127
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	case mant == 0: // ±0
		return math.Float32frombits(sign)
	}
	// Subnormal half: normalise the mantissa, since every half subnormal is a float32 normal.
	e := uint32(127 - 15 + 1)
	for mant&0x400 == 0 {
		mant <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (mant&0x3ff)<<13)
}
