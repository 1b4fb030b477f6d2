//go:build goexperiment.simd && amd64 && !purego

#include "textflag.h"

// func tile4x32FMA231(k int, a *float32, ars, aks int, b *float32, ldb int, c *float32, ldc int)
//
// C[4×32] += A[4×k] · B[k×32] with AVX-512, strides in floats: A's element (i,p) is at
// a[i·ars + p·aks], so (lda, 1) reads A and (1, lda) reads Aᵀ stored as (k×4) rows;
// GemmScalar and GemmTNScalar are its specification. Written in assembly because archsimd lowers MulAdd to
// VFMADD213PS, whose result overwrites a multiplicand: the archsimd version of this
// tile spent 12 register moves and 4 scalar loads per 8 FMAs and ran at about 90
// GFLOPS per thread, this one about 120 (BenchmarkGemm). Here the eight accumulators
// Z0-Z7 stay in place (VFMADD231PS) and A is broadcast straight from memory.
TEXT ·tile4x32FMA231(SB), NOSPLIT, $0-64
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ ars+16(FP), R8
	SHLQ $2, R8
	MOVQ aks+24(FP), AX
	SHLQ $2, AX
	MOVQ b+32(FP), DI
	MOVQ ldb+40(FP), R9
	SHLQ $2, R9
	MOVQ c+48(FP), DX
	MOVQ ldc+56(FP), R10
	SHLQ $2, R10

	LEAQ (DX)(R10*1), R11
	LEAQ (R11)(R10*1), R12
	LEAQ (R12)(R10*1), R13
	VMOVUPS (DX), Z0
	VMOVUPS 64(DX), Z1
	VMOVUPS (R11), Z2
	VMOVUPS 64(R11), Z3
	VMOVUPS (R12), Z4
	VMOVUPS 64(R12), Z5
	VMOVUPS (R13), Z6
	VMOVUPS 64(R13), Z7

	LEAQ (SI)(R8*1), R14
	LEAQ (R14)(R8*1), R15
	LEAQ (R15)(R8*1), BX

	TESTQ CX, CX
	JLE   done

loop:
	VMOVUPS      (DI), Z8
	VMOVUPS      64(DI), Z9
	VBROADCASTSS (SI), Z10
	VBROADCASTSS (R14), Z11
	VBROADCASTSS (R15), Z12
	VBROADCASTSS (BX), Z13
	VFMADD231PS  Z10, Z8, Z0
	VFMADD231PS  Z10, Z9, Z1
	VFMADD231PS  Z11, Z8, Z2
	VFMADD231PS  Z11, Z9, Z3
	VFMADD231PS  Z12, Z8, Z4
	VFMADD231PS  Z12, Z9, Z5
	VFMADD231PS  Z13, Z8, Z6
	VFMADD231PS  Z13, Z9, Z7
	ADDQ         AX, SI
	ADDQ         AX, R14
	ADDQ         AX, R15
	ADDQ         AX, BX
	ADDQ         R9, DI
	DECQ         CX
	JNZ          loop

done:
	VMOVUPS Z0, (DX)
	VMOVUPS Z1, 64(DX)
	VMOVUPS Z2, (R11)
	VMOVUPS Z3, 64(R11)
	VMOVUPS Z4, (R12)
	VMOVUPS Z5, 64(R12)
	VMOVUPS Z6, (R13)
	VMOVUPS Z7, 64(R13)
	VZEROUPPER
	RET
