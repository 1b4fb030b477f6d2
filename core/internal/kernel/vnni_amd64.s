//go:build goexperiment.simd && amd64 && !purego

#include "textflag.h"

// The AVX-512 VNNI tiles of GemmInt8 (int8_amd64.go); GemmInt8Scalar is their
// specification. archsimd has no VPDPBUSD, so they are assembly. A panel group is 128
// bytes: two registers of B+128 (u8), each 32-bit lane one output column's 4
// consecutive bytes; A's matching 4 bytes are broadcast to all lanes (s8), and
// VPDPBUSD adds the 4 products into the lane. Every accumulator starts at -corr[r] =
// -128·Σa[r], which takes the offset back out.

// func vnniTile8x32(kq int, a *int8, lda int, b *int8, c *int32, ldc int, corr *int32)
TEXT ·vnniTile8x32(SB), NOSPLIT, $0-56
	MOVQ kq+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	MOVQ b+24(FP), DI
	MOVQ c+32(FP), DX
	MOVQ ldc+40(FP), R10
	SHLQ $2, R10
	MOVQ corr+48(FP), BX
	LEAQ (R8)(R8*2), R9  // 3·lda
	LEAQ (R8)(R8*4), R11 // 5·lda
	LEAQ (R9)(R8*4), R12 // 7·lda
	VPBROADCASTD 0(BX), Z16
	VPXORD       Z0, Z0, Z0
	VPSUBD       Z16, Z0, Z0
	VMOVDQA32    Z0, Z1
	VPBROADCASTD 4(BX), Z17
	VPXORD       Z2, Z2, Z2
	VPSUBD       Z17, Z2, Z2
	VMOVDQA32    Z2, Z3
	VPBROADCASTD 8(BX), Z18
	VPXORD       Z4, Z4, Z4
	VPSUBD       Z18, Z4, Z4
	VMOVDQA32    Z4, Z5
	VPBROADCASTD 12(BX), Z19
	VPXORD       Z6, Z6, Z6
	VPSUBD       Z19, Z6, Z6
	VMOVDQA32    Z6, Z7
	VPBROADCASTD 16(BX), Z20
	VPXORD       Z8, Z8, Z8
	VPSUBD       Z20, Z8, Z8
	VMOVDQA32    Z8, Z9
	VPBROADCASTD 20(BX), Z21
	VPXORD       Z10, Z10, Z10
	VPSUBD       Z21, Z10, Z10
	VMOVDQA32    Z10, Z11
	VPBROADCASTD 24(BX), Z22
	VPXORD       Z12, Z12, Z12
	VPSUBD       Z22, Z12, Z12
	VMOVDQA32    Z12, Z13
	VPBROADCASTD 28(BX), Z23
	VPXORD       Z14, Z14, Z14
	VPSUBD       Z23, Z14, Z14
	VMOVDQA32    Z14, Z15
	TESTQ CX, CX
	JLE   store8

loop8:
	VMOVDQU32 (DI), Z24
	VMOVDQU32 64(DI), Z25
	VPBROADCASTD (SI), Z16
	VPDPBUSD     Z16, Z24, Z0
	VPDPBUSD     Z16, Z25, Z1
	VPBROADCASTD (SI)(R8*1), Z17
	VPDPBUSD     Z17, Z24, Z2
	VPDPBUSD     Z17, Z25, Z3
	VPBROADCASTD (SI)(R8*2), Z18
	VPDPBUSD     Z18, Z24, Z4
	VPDPBUSD     Z18, Z25, Z5
	VPBROADCASTD (SI)(R9*1), Z19
	VPDPBUSD     Z19, Z24, Z6
	VPDPBUSD     Z19, Z25, Z7
	VPBROADCASTD (SI)(R8*4), Z20
	VPDPBUSD     Z20, Z24, Z8
	VPDPBUSD     Z20, Z25, Z9
	VPBROADCASTD (SI)(R11*1), Z21
	VPDPBUSD     Z21, Z24, Z10
	VPDPBUSD     Z21, Z25, Z11
	VPBROADCASTD (SI)(R9*2), Z22
	VPDPBUSD     Z22, Z24, Z12
	VPDPBUSD     Z22, Z25, Z13
	VPBROADCASTD (SI)(R12*1), Z23
	VPDPBUSD     Z23, Z24, Z14
	VPDPBUSD     Z23, Z25, Z15
	ADDQ $4, SI
	ADDQ $128, DI
	DECQ CX
	JNZ  loop8

store8:
	VMOVDQU32 Z0, (DX)
	VMOVDQU32 Z1, 64(DX)
	ADDQ      R10, DX
	VMOVDQU32 Z2, (DX)
	VMOVDQU32 Z3, 64(DX)
	ADDQ      R10, DX
	VMOVDQU32 Z4, (DX)
	VMOVDQU32 Z5, 64(DX)
	ADDQ      R10, DX
	VMOVDQU32 Z6, (DX)
	VMOVDQU32 Z7, 64(DX)
	ADDQ      R10, DX
	VMOVDQU32 Z8, (DX)
	VMOVDQU32 Z9, 64(DX)
	ADDQ      R10, DX
	VMOVDQU32 Z10, (DX)
	VMOVDQU32 Z11, 64(DX)
	ADDQ      R10, DX
	VMOVDQU32 Z12, (DX)
	VMOVDQU32 Z13, 64(DX)
	ADDQ      R10, DX
	VMOVDQU32 Z14, (DX)
	VMOVDQU32 Z15, 64(DX)
	VZEROUPPER
	RET

// func vnniTile1x32(kq int, a *int8, b *int8, c *int32, corr int32)
TEXT ·vnniTile1x32(SB), NOSPLIT, $0-36
	MOVQ         kq+0(FP), CX
	MOVQ         a+8(FP), SI
	MOVQ         b+16(FP), DI
	MOVQ         c+24(FP), DX
	MOVL         corr+32(FP), AX
	VPBROADCASTD AX, Z2
	VPXORD       Z0, Z0, Z0
	VPSUBD       Z2, Z0, Z0
	VMOVDQA32    Z0, Z1
	TESTQ        CX, CX
	JLE          store1

loop1:
	VMOVDQU32    (DI), Z24
	VMOVDQU32    64(DI), Z25
	VPBROADCASTD (SI), Z2
	VPDPBUSD     Z2, Z24, Z0
	VPDPBUSD     Z2, Z25, Z1
	ADDQ         $4, SI
	ADDQ         $128, DI
	DECQ         CX
	JNZ          loop1

store1:
	VMOVDQU32 Z0, (DX)
	VMOVDQU32 Z1, 64(DX)
	VZEROUPPER
	RET
