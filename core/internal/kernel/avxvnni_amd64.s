//go:build goexperiment.simd && amd64 && !purego

#include "textflag.h"

// The AVX-VNNI tiles of GemmInt8 (avxvnni_amd64.go); GemmInt8Scalar is their
// specification. AVX-VNNI is the VEX (256-bit) encoding of VPDPBUSD on CPUs without
// AVX-512 (and on those with both); the Go assembler only knows the EVEX form, which
// needs AVX-512, so each VPDPBUSD is written as its bytes, with the instruction in
// Intel syntax beside it (checked with GNU objdump). The layout is the AVX-512 VNNI
// tiles' (vnni_amd64.s): half a panel group is two registers of B+128, the
// broadcast 4 bytes of A are the signed operand, and corr takes the offset back out.

// func avxvnniTile4x16(kq int, a *int8, lda int, b *int8, c *int32, ldc int, corr *int32)
//
// C[4×16] for 4 rows of A (stride lda) and 16 columns of a panel at b (stride 128
// bytes per group of 4 k).
TEXT ·avxvnniTile4x16(SB), NOSPLIT, $0-56
	MOVQ kq+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	MOVQ b+24(FP), DI
	MOVQ c+32(FP), DX
	MOVQ ldc+40(FP), R10
	SHLQ $2, R10
	MOVQ corr+48(FP), BX
	LEAQ (R8)(R8*2), R9 // 3·lda
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	TESTQ CX, CX
	JLE   store4

loop4:
	VMOVDQU (DI), Y8
	VMOVDQU 32(DI), Y9
	VPBROADCASTD (SI), Y10
	VPBROADCASTD (SI)(R8*1), Y11
	VPBROADCASTD (SI)(R8*2), Y12
	VPBROADCASTD (SI)(R9*1), Y13
	BYTE $0xc4; BYTE $0xc2; BYTE $0x3d; BYTE $0x50; BYTE $0xc2 // VPDPBUSD ymm0, ymm8, ymm10
	BYTE $0xc4; BYTE $0xc2; BYTE $0x35; BYTE $0x50; BYTE $0xca // VPDPBUSD ymm1, ymm9, ymm10
	BYTE $0xc4; BYTE $0xc2; BYTE $0x3d; BYTE $0x50; BYTE $0xd3 // VPDPBUSD ymm2, ymm8, ymm11
	BYTE $0xc4; BYTE $0xc2; BYTE $0x35; BYTE $0x50; BYTE $0xdb // VPDPBUSD ymm3, ymm9, ymm11
	BYTE $0xc4; BYTE $0xc2; BYTE $0x3d; BYTE $0x50; BYTE $0xe4 // VPDPBUSD ymm4, ymm8, ymm12
	BYTE $0xc4; BYTE $0xc2; BYTE $0x35; BYTE $0x50; BYTE $0xec // VPDPBUSD ymm5, ymm9, ymm12
	BYTE $0xc4; BYTE $0xc2; BYTE $0x3d; BYTE $0x50; BYTE $0xf5 // VPDPBUSD ymm6, ymm8, ymm13
	BYTE $0xc4; BYTE $0xc2; BYTE $0x35; BYTE $0x50; BYTE $0xfd // VPDPBUSD ymm7, ymm9, ymm13
	ADDQ $4, SI
	ADDQ $128, DI
	DECQ CX
	JNZ  loop4

store4:
	VPBROADCASTD 0(BX), Y10
	VPSUBD       Y10, Y0, Y0
	VPSUBD       Y10, Y1, Y1
	VMOVDQU      Y0, (DX)
	VMOVDQU      Y1, 32(DX)
	ADDQ         R10, DX
	VPBROADCASTD 4(BX), Y10
	VPSUBD       Y10, Y2, Y2
	VPSUBD       Y10, Y3, Y3
	VMOVDQU      Y2, (DX)
	VMOVDQU      Y3, 32(DX)
	ADDQ         R10, DX
	VPBROADCASTD 8(BX), Y10
	VPSUBD       Y10, Y4, Y4
	VPSUBD       Y10, Y5, Y5
	VMOVDQU      Y4, (DX)
	VMOVDQU      Y5, 32(DX)
	ADDQ         R10, DX
	VPBROADCASTD 12(BX), Y10
	VPSUBD       Y10, Y6, Y6
	VPSUBD       Y10, Y7, Y7
	VMOVDQU      Y6, (DX)
	VMOVDQU      Y7, 32(DX)
	VZEROUPPER
	RET

// func avxvnniTile1x16(kq int, a *int8, b *int8, c *int32, corr int32)
TEXT ·avxvnniTile1x16(SB), NOSPLIT, $0-36
	MOVQ  kq+0(FP), CX
	MOVQ  a+8(FP), SI
	MOVQ  b+16(FP), DI
	MOVQ  c+24(FP), DX
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	TESTQ CX, CX
	JLE   store1

loop1:
	VMOVDQU      (DI), Y8
	VMOVDQU      32(DI), Y9
	VPBROADCASTD (SI), Y10
	BYTE $0xc4; BYTE $0xc2; BYTE $0x3d; BYTE $0x50; BYTE $0xc2 // VPDPBUSD ymm0, ymm8, ymm10
	BYTE $0xc4; BYTE $0xc2; BYTE $0x35; BYTE $0x50; BYTE $0xca // VPDPBUSD ymm1, ymm9, ymm10
	ADDQ         $4, SI
	ADDQ         $128, DI
	DECQ         CX
	JNZ          loop1

store1:
	MOVL         corr+32(FP), AX
	MOVQ         AX, X10
	VPBROADCASTD X10, Y10
	VPSUBD       Y10, Y0, Y0
	VPSUBD       Y10, Y1, Y1
	VMOVDQU      Y0, (DX)
	VMOVDQU      Y1, 32(DX)
	VZEROUPPER
	RET
