//go:build goexperiment.simd && amd64 && !purego

#include "textflag.h"

// The AMX tile of GemmInt8 (amx_amd64.go); GemmInt8Scalar is its specification.
// The Go assembler knows no AMX instruction, so each is written as its bytes, with
// the instruction in Intel syntax beside it (checked with GNU objdump).
//
// Tiles: tmm0-tmm3 accumulate a 32×32 block of C (2×2 tiles of 16×16 int32), tmm4 and
// tmm5 hold 16 rows × 64 bytes of A each, tmm6 and tmm7 16 groups of 4 k × 16 columns
// of one B panel each (the VNNI panel layout: a 128-byte group is columns 0-15, then
// 16-31, so the tiles have stride 128). TDPBSUD multiplies signed A by unsigned B
// (B+128), and every accumulator starts from init, -128·Σa of its row.

// func amxStrip32(cfg *byte, nk int, a *int8, lda int, b *int8, np int, c *int32, ldc int, init *int32)
//
// C[32 × 32·np] for 32 rows of A (stride lda) against np consecutive panels at b,
// nk chunks of 64 k each; init is 32 rows × 16 int32 of starting values.
TEXT ·amxStrip32(SB), NOSPLIT, $0-72
	MOVQ cfg+0(FP), AX
	BYTE $0xc4; BYTE $0xe2; BYTE $0x78; BYTE $0x49; BYTE $0x00 // LDTILECFG [rax]
	MOVQ a+16(FP), R12
	MOVQ lda+24(FP), DI
	MOVQ DI, R13
	SHLQ $4, R13
	ADDQ R12, R13              // a + 16·lda
	MOVQ b+32(FP), BX
	MOVQ np+40(FP), R11
	MOVQ c+48(FP), R14
	MOVQ ldc+56(FP), R9
	SHLQ $2, R9                // ldc in bytes
	MOVQ R9, R15
	SHLQ $4, R15
	ADDQ R14, R15              // c + 16 rows
	MOVQ init+64(FP), AX
	MOVQ $128, CX              // B's stride
	MOVQ $64, R8               // init's stride

panel:
	BYTE $0xc4; BYTE $0xa2; BYTE $0x7b; BYTE $0x4b; BYTE $0x04; BYTE $0x00 // TILELOADD tmm0, [rax+r8*1]
	BYTE $0xc4; BYTE $0xa2; BYTE $0x7b; BYTE $0x4b; BYTE $0x0c; BYTE $0x00 // TILELOADD tmm1, [rax+r8*1]
	BYTE $0xc4; BYTE $0xa2; BYTE $0x7b; BYTE $0x4b; BYTE $0x94; BYTE $0x00; BYTE $0x00; BYTE $0x04; BYTE $0x00; BYTE $0x00 // TILELOADD tmm2, [rax+r8*1+1024]
	BYTE $0xc4; BYTE $0xa2; BYTE $0x7b; BYTE $0x4b; BYTE $0x9c; BYTE $0x00; BYTE $0x00; BYTE $0x04; BYTE $0x00; BYTE $0x00 // TILELOADD tmm3, [rax+r8*1+1024]
	MOVQ R12, SI
	MOVQ R13, DX
	MOVQ nk+8(FP), R10

kloop:
	BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x4b; BYTE $0x24; BYTE $0x3e // TILELOADD tmm4, [rsi+rdi*1]
	BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x4b; BYTE $0x2c; BYTE $0x3a // TILELOADD tmm5, [rdx+rdi*1]
	BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x4b; BYTE $0x34; BYTE $0x0b // TILELOADD tmm6, [rbx+rcx*1]
	BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x4b; BYTE $0x7c; BYTE $0x0b; BYTE $0x40 // TILELOADD tmm7, [rbx+rcx*1+64]
	BYTE $0xc4; BYTE $0xe2; BYTE $0x4a; BYTE $0x5e; BYTE $0xc4 // TDPBSUD tmm0, tmm4, tmm6
	BYTE $0xc4; BYTE $0xe2; BYTE $0x42; BYTE $0x5e; BYTE $0xcc // TDPBSUD tmm1, tmm4, tmm7
	BYTE $0xc4; BYTE $0xe2; BYTE $0x4a; BYTE $0x5e; BYTE $0xd5 // TDPBSUD tmm2, tmm5, tmm6
	BYTE $0xc4; BYTE $0xe2; BYTE $0x42; BYTE $0x5e; BYTE $0xdd // TDPBSUD tmm3, tmm5, tmm7
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $2048, BX             // 16 groups of 128 bytes
	DECQ R10
	JNZ  kloop

	BYTE $0xc4; BYTE $0x82; BYTE $0x7a; BYTE $0x4b; BYTE $0x04; BYTE $0x0e // TILESTORED [r14+r9*1], tmm0
	BYTE $0xc4; BYTE $0x82; BYTE $0x7a; BYTE $0x4b; BYTE $0x4c; BYTE $0x0e; BYTE $0x40 // TILESTORED [r14+r9*1+64], tmm1
	BYTE $0xc4; BYTE $0x82; BYTE $0x7a; BYTE $0x4b; BYTE $0x14; BYTE $0x0f // TILESTORED [r15+r9*1], tmm2
	BYTE $0xc4; BYTE $0x82; BYTE $0x7a; BYTE $0x4b; BYTE $0x5c; BYTE $0x0f; BYTE $0x40 // TILESTORED [r15+r9*1+64], tmm3
	ADDQ $128, R14
	ADDQ $128, R15
	DECQ R11
	JNZ  panel
	BYTE $0xc4; BYTE $0xe2; BYTE $0x78; BYTE $0x49; BYTE $0xc0 // TILERELEASE
	RET

// func cpuidex(leaf, sub uint32) (a, b, c, d uint32)
TEXT ·cpuidex(SB), NOSPLIT, $0-24
	MOVL leaf+0(FP), AX
	MOVL sub+4(FP), CX
	CPUID
	MOVL AX, a+8(FP)
	MOVL BX, b+12(FP)
	MOVL CX, c+16(FP)
	MOVL DX, d+20(FP)
	RET

// func xgetbv0() (lo, hi uint32)
TEXT ·xgetbv0(SB), NOSPLIT, $0-8
	MOVL $0, CX
	XGETBV
	MOVL AX, lo+0(FP)
	MOVL DX, hi+4(FP)
	RET
