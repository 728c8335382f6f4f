//go:build !purego

#include "textflag.h"

// Hand-written vector helpers for attention (the matrix kernels are in the
// generated matmul_amd64.s).

// func axpyF32AVX2(y, x *float32, a float32, n int)
// y[i] += a·x[i] for i < n, n a multiple of 8.
TEXT ·axpyF32AVX2(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	VBROADCASTSS a+16(FP), Y0
	MOVQ n+24(FP), CX
axpy_loop32:
	CMPQ CX, $32
	JLT axpy_loop8
	VMOVUPS 0(DI), Y1
	VMOVUPS 32(DI), Y2
	VMOVUPS 64(DI), Y3
	VMOVUPS 96(DI), Y4
	VFMADD231PS 0(SI), Y0, Y1
	VFMADD231PS 32(SI), Y0, Y2
	VFMADD231PS 64(SI), Y0, Y3
	VFMADD231PS 96(SI), Y0, Y4
	VMOVUPS Y1, 0(DI)
	VMOVUPS Y2, 32(DI)
	VMOVUPS Y3, 64(DI)
	VMOVUPS Y4, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP axpy_loop32
axpy_loop8:
	CMPQ CX, $8
	JLT axpy_done
	VMOVUPS (DI), Y1
	VFMADD231PS (SI), Y0, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP axpy_loop8
axpy_done:
	VZEROUPPER
	RET

// The exponential shared by expShiftSumAVX2 and siluAVX2, the same
// reduction and polynomial as the Go Exp: EXP_CONSTANTS loads 1, 1/2!, …, 1/7!
// into Y4–Y10, -87 into Y11, ln 2 in two parts (low, high) into Y12, Y13 and
// log2(e) into Y14 (X3 and AX are scratch); EXP_Y1_TO_Y3 sets Y3 = e^Y1 for Y1
// in [-87, 88] (Y1 and Y2 are clobbered).
#define EXP_CONSTANTS \
	MOVL $0x3f800000, AX; \
	VMOVD AX, X3; \
	VPBROADCASTD X3, Y4; \
	MOVL $0x3f000000, AX; \
	VMOVD AX, X3; \
	VPBROADCASTD X3, Y5; \
	MOVL $0x3e2aaaab, AX; \
	VMOVD AX, X3; \
	VPBROADCASTD X3, Y6; \
	MOVL $0x3d2aaaab, AX; \
	VMOVD AX, X3; \
	VPBROADCASTD X3, Y7; \
	MOVL $0x3c088889, AX; \
	VMOVD AX, X3; \
	VPBROADCASTD X3, Y8; \
	MOVL $0x3ab60b61, AX; \
	VMOVD AX, X3; \
	VPBROADCASTD X3, Y9; \
	MOVL $0x39500d01, AX; \
	VMOVD AX, X3; \
	VPBROADCASTD X3, Y10; \
	MOVL $0xc2ae0000, AX; \
	VMOVD AX, X3; \
	VPBROADCASTD X3, Y11; \
	MOVL $0xb95e8083, AX; \
	VMOVD AX, X3; \
	VPBROADCASTD X3, Y12; \
	MOVL $0x3f318000, AX; \
	VMOVD AX, X3; \
	VPBROADCASTD X3, Y13; \
	MOVL $0x3fb8aa3b, AX; \
	VMOVD AX, X3; \
	VPBROADCASTD X3, Y14

#define EXP_Y1_TO_Y3 \
	VMULPS Y14, Y1, Y2; \
	VROUNDPS $0, Y2, Y2; \
	VFNMADD231PS Y13, Y2, Y1; \
	VFNMADD231PS Y12, Y2, Y1; \
	VMOVAPS Y10, Y3; \
	VFMADD213PS Y9, Y1, Y3; \
	VFMADD213PS Y8, Y1, Y3; \
	VFMADD213PS Y7, Y1, Y3; \
	VFMADD213PS Y6, Y1, Y3; \
	VFMADD213PS Y5, Y1, Y3; \
	VFMADD213PS Y4, Y1, Y3; \
	VFMADD213PS Y4, Y1, Y3; \
	VCVTPS2DQ Y2, Y2; \
	VPSLLD $23, Y2, Y2; \
	VPADDD Y4, Y2, Y2; \
	VMULPS Y2, Y3, Y3

// func expShiftSumAVX2(dst, src *float32, n int, shift float32) float32
// dst[i] = e^(src[i]-shift) for i < n (n a multiple of 8), returning their
// sum; arguments below -87 are taken as -87 (results under 2e-38).
TEXT ·expShiftSumAVX2(SB), NOSPLIT, $0-36
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS shift+24(FP), Y15
	EXP_CONSTANTS
	VXORPS Y0, Y0, Y0
exp_loop8:
	CMPQ CX, $8
	JLT exp_done
	VMOVUPS (SI), Y1
	VSUBPS Y15, Y1, Y1
	VMAXPS Y11, Y1, Y1
	EXP_Y1_TO_Y3
	VMOVUPS Y3, (DI)
	VADDPS Y3, Y0, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP exp_loop8
exp_done:
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VPERMILPD $1, X0, X1
	VADDPS X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS X1, X0, X0
	VZEROUPPER
	MOVSS X0, ret+32(FP)
	RET

// func siluAVX2(dst, src *float32, n int)
// dst[i] = src[i] / (1 + e^-src[i]) for i < n (n a multiple of 8), with
// e^-x from the same reduction and polynomial as expShiftSumAVX2 and -x
// clamped to [-87, 88].
TEXT ·siluAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	EXP_CONSTANTS
	MOVL $0x42b00000, AX // 88.0
	VMOVD AX, X3
	VPBROADCASTD X3, Y15
	VXORPS Y0, Y0, Y0
silu_loop8:
	CMPQ CX, $8
	JLT silu_done
	VMOVUPS (SI), Y1
	VMOVAPS Y1, Y0
	VXORPS Y3, Y3, Y3
	VSUBPS Y1, Y3, Y1
	VMINPS Y15, Y1, Y1
	VMAXPS Y11, Y1, Y1
	EXP_Y1_TO_Y3
	VADDPS Y4, Y3, Y3
	VDIVPS Y3, Y0, Y3
	VMOVUPS Y3, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP silu_loop8
silu_done:
	VZEROUPPER
	RET
