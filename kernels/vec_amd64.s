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

// WR4_TERM adds, while terms remain (R14 < R11), the term of the row at
// R13 to the four rows' partial sums s0..s3 of one t mod 4, then steps to
// the next term.
#define WR4_TERM(s0, s1, s2, s3) \
	CMPQ R14, R11; \
	JGE wr4_sum; \
	VMOVUPS.Z (R13), K1, Z16; \
	VBROADCASTSS (AX)(R14*1), Z20; \
	VFMADD231PS Z16, Z20, s0; \
	VBROADCASTSS (BX)(R14*1), Z21; \
	VFMADD231PS Z16, Z21, s1; \
	VBROADCASTSS (CX)(R14*1), Z22; \
	VFMADD231PS Z16, Z22, s2; \
	VBROADCASTSS (DX)(R14*1), Z23; \
	VFMADD231PS Z16, Z23, s3; \
	ADDQ R10, R13; \
	ADDQ $4, R14

// func weightedRows4AVX512(out *float32, ldo int, p *float32, ps int, v *float32, vs int, n int, cols int, add int, mask int)
// For rows r < 4 and columns c < cols: out[r·ldo+c] = (add ? out[r·ldo+c] : 0)
// + Σ_{t<n} p[r·ps+t]·v[t·vs+c]. As weightedRowsGo, the terms go into four
// partial sums by t mod 4 (one FMA each; the first starts at out when
// adding), added as (s0+s1)+(s2+s3) at the end. Columns go 16 at a time,
// the last cols mod 16 under mask (its low cols mod 16 bits set); the
// accumulators of sum k, row r are Z(4k+r).
TEXT ·weightedRows4AVX512(SB), NOSPLIT, $8-80
	MOVQ BP, bp-8(SP)
	MOVQ p+16(FP), AX
	MOVQ ps+24(FP), R9
	SHLQ $2, R9
	LEAQ (AX)(R9*1), BX
	LEAQ (BX)(R9*1), CX
	LEAQ (CX)(R9*1), DX
	MOVQ vs+40(FP), R10
	SHLQ $2, R10
	MOVQ n+48(FP), R11
	MOVQ R11, R9
	ANDQ $-4, R9
	SHLQ $2, R9
	SHLQ $2, R11
	MOVQ out+0(FP), DI
	MOVQ ldo+8(FP), R8
	SHLQ $2, R8
	MOVQ cols+56(FP), R12
	MOVQ v+32(FP), SI
	KXNORW K1, K1, K1
wr4_chunk:
	CMPQ R12, $0
	JLE wr4_done
	CMPQ R12, $16
	JGE wr4_full
	MOVQ mask+72(FP), R13
	KMOVW R13, K1
wr4_full:
	LEAQ (DI)(R8*2), BP
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	VXORPS Z4, Z4, Z4
	VXORPS Z5, Z5, Z5
	VXORPS Z6, Z6, Z6
	VXORPS Z7, Z7, Z7
	VXORPS Z8, Z8, Z8
	VXORPS Z9, Z9, Z9
	VXORPS Z10, Z10, Z10
	VXORPS Z11, Z11, Z11
	VXORPS Z12, Z12, Z12
	VXORPS Z13, Z13, Z13
	VXORPS Z14, Z14, Z14
	VXORPS Z15, Z15, Z15
	CMPQ add+64(FP), $0
	JEQ wr4_t
	VMOVUPS.Z (DI), K1, Z0
	VMOVUPS.Z (DI)(R8*1), K1, Z1
	VMOVUPS.Z (DI)(R8*2), K1, Z2
	VMOVUPS.Z (BP)(R8*1), K1, Z3
wr4_t:
	XORQ R14, R14
	MOVQ SI, R13
	CMPQ R14, R9
	JGE wr4_rest
wr4_quad:
	VMOVUPS.Z (R13), K1, Z16
	VMOVUPS.Z (R13)(R10*1), K1, Z17
	LEAQ (R13)(R10*2), R13
	VMOVUPS.Z (R13), K1, Z18
	VMOVUPS.Z (R13)(R10*1), K1, Z19
	VBROADCASTSS 0(AX)(R14*1), Z20
	VFMADD231PS Z16, Z20, Z0
	VBROADCASTSS 0(BX)(R14*1), Z21
	VFMADD231PS Z16, Z21, Z1
	VBROADCASTSS 0(CX)(R14*1), Z22
	VFMADD231PS Z16, Z22, Z2
	VBROADCASTSS 0(DX)(R14*1), Z23
	VFMADD231PS Z16, Z23, Z3
	VBROADCASTSS 4(AX)(R14*1), Z20
	VFMADD231PS Z17, Z20, Z4
	VBROADCASTSS 4(BX)(R14*1), Z21
	VFMADD231PS Z17, Z21, Z5
	VBROADCASTSS 4(CX)(R14*1), Z22
	VFMADD231PS Z17, Z22, Z6
	VBROADCASTSS 4(DX)(R14*1), Z23
	VFMADD231PS Z17, Z23, Z7
	VBROADCASTSS 8(AX)(R14*1), Z20
	VFMADD231PS Z18, Z20, Z8
	VBROADCASTSS 8(BX)(R14*1), Z21
	VFMADD231PS Z18, Z21, Z9
	VBROADCASTSS 8(CX)(R14*1), Z22
	VFMADD231PS Z18, Z22, Z10
	VBROADCASTSS 8(DX)(R14*1), Z23
	VFMADD231PS Z18, Z23, Z11
	VBROADCASTSS 12(AX)(R14*1), Z20
	VFMADD231PS Z19, Z20, Z12
	VBROADCASTSS 12(BX)(R14*1), Z21
	VFMADD231PS Z19, Z21, Z13
	VBROADCASTSS 12(CX)(R14*1), Z22
	VFMADD231PS Z19, Z22, Z14
	VBROADCASTSS 12(DX)(R14*1), Z23
	VFMADD231PS Z19, Z23, Z15
	LEAQ (R13)(R10*2), R13
	ADDQ $16, R14
	CMPQ R14, R9
	JLT wr4_quad
wr4_rest:
	WR4_TERM(Z0, Z1, Z2, Z3)
	WR4_TERM(Z4, Z5, Z6, Z7)
	WR4_TERM(Z8, Z9, Z10, Z11)
wr4_sum:
	VADDPS Z4, Z0, Z0
	VADDPS Z12, Z8, Z8
	VADDPS Z8, Z0, Z0
	VMOVUPS Z0, K1, (DI)
	VADDPS Z5, Z1, Z1
	VADDPS Z13, Z9, Z9
	VADDPS Z9, Z1, Z1
	VMOVUPS Z1, K1, (DI)(R8*1)
	VADDPS Z6, Z2, Z2
	VADDPS Z14, Z10, Z10
	VADDPS Z10, Z2, Z2
	VMOVUPS Z2, K1, (DI)(R8*2)
	VADDPS Z7, Z3, Z3
	VADDPS Z15, Z11, Z11
	VADDPS Z11, Z3, Z3
	VMOVUPS Z3, K1, (BP)(R8*1)
	ADDQ $64, DI
	ADDQ $64, SI
	SUBQ $16, R12
	JMP wr4_chunk
wr4_done:
	MOVQ bp-8(SP), BP
	VZEROUPPER
	RET

// The bodies of addF32AVX512 and mulF32AVX512, OP their instruction (the
// Go assembler's macros cannot hold the loops' labels): out at DI, a at SI,
// b at DX, CX elements left. BINARY_F32_64 does 64 of them and advances,
// BINARY_F32_16 16, BINARY_F32_TAIL the last CX < 16 under a mask.
#define BINARY_F32_64(OP) \
	VMOVUPS (SI), Z0; \
	VMOVUPS 64(SI), Z1; \
	VMOVUPS 128(SI), Z2; \
	VMOVUPS 192(SI), Z3; \
	OP (DX), Z0, Z0; \
	OP 64(DX), Z1, Z1; \
	OP 128(DX), Z2, Z2; \
	OP 192(DX), Z3, Z3; \
	VMOVUPS Z0, (DI); \
	VMOVUPS Z1, 64(DI); \
	VMOVUPS Z2, 128(DI); \
	VMOVUPS Z3, 192(DI); \
	ADDQ $256, SI; \
	ADDQ $256, DX; \
	ADDQ $256, DI; \
	SUBQ $64, CX

#define BINARY_F32_16(OP) \
	VMOVUPS (SI), Z0; \
	OP (DX), Z0, Z0; \
	VMOVUPS Z0, (DI); \
	ADDQ $64, SI; \
	ADDQ $64, DX; \
	ADDQ $64, DI; \
	SUBQ $16, CX

#define BINARY_F32_TAIL(OP) \
	MOVQ $1, AX; \
	SHLQ CX, AX; \
	DECQ AX; \
	KMOVW AX, K1; \
	VMOVUPS.Z (SI), K1, Z0; \
	VMOVUPS.Z (DX), K1, Z1; \
	OP Z1, Z0, Z0; \
	VMOVUPS Z0, K1, (DI)

// func addF32AVX512(out, a, b *float32, n int)
// out[i] = a[i] + b[i] for i < n: 64 at a time, then 16, the last n mod 16 under a mask.
TEXT ·addF32AVX512(SB), NOSPLIT, $0-32
	MOVQ out+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
add_l64:
	CMPQ CX, $64
	JLT add_l16
	BINARY_F32_64(VADDPS)
	JMP add_l64
add_l16:
	CMPQ CX, $16
	JLT add_tail
	BINARY_F32_16(VADDPS)
	JMP add_l16
add_tail:
	TESTQ CX, CX
	JEQ add_done
	BINARY_F32_TAIL(VADDPS)
add_done:
	VZEROUPPER
	RET

// func mulF32AVX512(out, a, b *float32, n int)
// out[i] = a[i] · b[i] for i < n: 64 at a time, then 16, the last n mod 16 under a mask.
TEXT ·mulF32AVX512(SB), NOSPLIT, $0-32
	MOVQ out+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
mul_l64:
	CMPQ CX, $64
	JLT mul_l16
	BINARY_F32_64(VMULPS)
	JMP mul_l64
mul_l16:
	CMPQ CX, $16
	JLT mul_tail
	BINARY_F32_16(VMULPS)
	JMP mul_l16
mul_tail:
	TESTQ CX, CX
	JEQ mul_done
	BINARY_F32_TAIL(VMULPS)
mul_done:
	VZEROUPPER
	RET

// func sumSquaresAVX512(x *float32, n int) float64
// Σ x[i]² for i < n: each square rounded to float32, widened and summed in
// float64 (four accumulators of 8, then the remainder under a mask).
TEXT ·sumSquaresAVX512(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VXORPD Z0, Z0, Z0
	VXORPD Z1, Z1, Z1
	VXORPD Z2, Z2, Z2
	VXORPD Z3, Z3, Z3
ssq_l32:
	CMPQ CX, $32
	JLT ssq_l8
	VMOVUPS (SI), Z4
	VMOVUPS 64(SI), Z5
	VMULPS Z4, Z4, Z4
	VMULPS Z5, Z5, Z5
	VCVTPS2PD Y4, Z6
	VEXTRACTF64X4 $1, Z4, Y4
	VCVTPS2PD Y4, Z7
	VCVTPS2PD Y5, Z8
	VEXTRACTF64X4 $1, Z5, Y5
	VCVTPS2PD Y5, Z9
	VADDPD Z6, Z0, Z0
	VADDPD Z7, Z1, Z1
	VADDPD Z8, Z2, Z2
	VADDPD Z9, Z3, Z3
	ADDQ $128, SI
	SUBQ $32, CX
	JMP ssq_l32
ssq_l8:
	CMPQ CX, $8
	JLT ssq_tail
	VMOVUPS (SI), Y4
	VMULPS Y4, Y4, Y4
	VCVTPS2PD Y4, Z6
	VADDPD Z6, Z0, Z0
	ADDQ $32, SI
	SUBQ $8, CX
	JMP ssq_l8
ssq_tail:
	TESTQ CX, CX
	JEQ ssq_sum
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1
	VMOVUPS.Z (SI), K1, Y4
	VMULPS Y4, Y4, Y4
	VCVTPS2PD Y4, Z6
	VADDPD Z6, Z1, Z1
ssq_sum:
	VADDPD Z1, Z0, Z0
	VADDPD Z3, Z2, Z2
	VADDPD Z2, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPD Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD X1, X0, X0
	VPERMILPD $1, X0, X1
	VADDSD X1, X0, X0
	VZEROUPPER
	MOVSD X0, ret+16(FP)
	RET

// func scaleMulAVX512(out, x, w *float32, s float32, n int)
// out[i] = (x[i]·s)·w[i] for i < n, or x[i]·s where w is nil (two roundings,
// as the Go loop), 16 at a time, the last n mod 16 under a mask.
TEXT ·scaleMulAVX512(SB), NOSPLIT, $0-40
	MOVQ out+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ w+16(FP), DX
	VBROADCASTSS s+24(FP), Z2
	MOVQ n+32(FP), CX
	KXNORW K1, K1, K1
scm_loop:
	TESTQ CX, CX
	JLE scm_done
	CMPQ CX, $16
	JGE scm_full
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1
scm_full:
	VMOVUPS.Z (SI), K1, Z0
	VMULPS Z2, Z0, Z0
	TESTQ DX, DX
	JEQ scm_store
	VMOVUPS.Z (DX), K1, Z1
	VMULPS Z1, Z0, Z0
	ADDQ $64, DX
scm_store:
	VMOVUPS Z0, K1, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP scm_loop
scm_done:
	VZEROUPPER
	RET

// func scaleMaxAVX512(x *float32, s, m float32, n int) float32
// x[i] *= s for i < n, returning max(m, x[0..n)) (NaN if m or any x[i] is
// NaN: VMAXPS alone drops NaNs, so they are tracked in K3), 16 at a time,
// the last n mod 16 under a mask.
TEXT ·scaleMaxAVX512(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	VBROADCASTSS s+8(FP), Z2
	VBROADCASTSS m+12(FP), Z3
	MOVQ n+16(FP), CX
	VCMPPS $3, Z3, Z3, K3
	KXNORW K1, K1, K1
scx_loop:
	TESTQ CX, CX
	JLE scx_done
	CMPQ CX, $16
	JGE scx_full
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1
scx_full:
	VMOVUPS.Z (SI), K1, Z0
	VMULPS Z2, Z0, Z0
	VMOVUPS Z0, K1, (SI)
	VMAXPS Z0, Z3, K1, Z3
	VCMPPS $3, Z0, Z0, K1, K2
	KORW K2, K3, K3
	ADDQ $64, SI
	SUBQ $16, CX
	JMP scx_loop
scx_done:
	KORTESTW K3, K3
	JNZ scx_nan
	VEXTRACTF64X4 $1, Z3, Y4
	VMAXPS Y4, Y3, Y3
	VEXTRACTF128 $1, Y3, X4
	VMAXPS X4, X3, X3
	VPERMILPD $1, X3, X4
	VMAXPS X4, X3, X3
	VMOVSHDUP X3, X4
	VMAXSS X4, X3, X3
	MOVSS X3, ret+24(FP)
	VZEROUPPER
	RET
scx_nan:
	MOVL $0x7fc00000, AX
	MOVL AX, ret+24(FP)
	VZEROUPPER
	RET

// func siluAVX512(dst, src *float32, n int)
// dst[i] = src[i] / (1 + e^-src[i]) for i < n, 16 at a time, the last n mod
// 16 under a mask: siluAVX2's operations on 16 lanes (the exponential's
// argument clamped to [-87, 88], e^r by degree-7 Taylor terms).
TEXT ·siluAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVL $0x3f800000, AX
	VPBROADCASTD AX, Z4
	MOVL $0x3f000000, AX
	VPBROADCASTD AX, Z5
	MOVL $0x3e2aaaab, AX
	VPBROADCASTD AX, Z6
	MOVL $0x3d2aaaab, AX
	VPBROADCASTD AX, Z7
	MOVL $0x3c088889, AX
	VPBROADCASTD AX, Z8
	MOVL $0x3ab60b61, AX
	VPBROADCASTD AX, Z9
	MOVL $0x39500d01, AX
	VPBROADCASTD AX, Z10
	MOVL $0xc2ae0000, AX
	VPBROADCASTD AX, Z11
	MOVL $0xb95e8083, AX
	VPBROADCASTD AX, Z12
	MOVL $0x3f318000, AX
	VPBROADCASTD AX, Z13
	MOVL $0x3fb8aa3b, AX
	VPBROADCASTD AX, Z14
	MOVL $0x42b00000, AX
	VPBROADCASTD AX, Z15
	VXORPS Z16, Z16, Z16
	KXNORW K1, K1, K1
silu512_loop:
	TESTQ CX, CX
	JLE silu512_done
	CMPQ CX, $16
	JGE silu512_full
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1
silu512_full:
	VMOVUPS.Z (SI), K1, Z0
	VSUBPS Z0, Z16, Z1
	VMINPS Z15, Z1, Z1
	VMAXPS Z11, Z1, Z1
	VMULPS Z14, Z1, Z2
	VRNDSCALEPS $0, Z2, Z2
	VFNMADD231PS Z13, Z2, Z1
	VFNMADD231PS Z12, Z2, Z1
	VMOVAPS Z10, Z3
	VFMADD213PS Z9, Z1, Z3
	VFMADD213PS Z8, Z1, Z3
	VFMADD213PS Z7, Z1, Z3
	VFMADD213PS Z6, Z1, Z3
	VFMADD213PS Z5, Z1, Z3
	VFMADD213PS Z4, Z1, Z3
	VFMADD213PS Z4, Z1, Z3
	VCVTPS2DQ Z2, Z2
	VPSLLD $23, Z2, Z2
	VPADDD Z4, Z2, Z2
	VMULPS Z2, Z3, Z3
	VADDPS Z4, Z3, Z3
	VDIVPS Z3, Z0, Z3
	VMOVUPS Z3, K1, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP silu512_loop
silu512_done:
	VZEROUPPER
	RET

// ropeidx: the lanes of a rotated pair table built from two halves, for
// VPERMT2PS: lane 2j from the first table's lane j, lane 2j+1 from the
// second's (16+j).
DATA ropeidx<>+0(SB)/4, $0
DATA ropeidx<>+4(SB)/4, $16
DATA ropeidx<>+8(SB)/4, $1
DATA ropeidx<>+12(SB)/4, $17
DATA ropeidx<>+16(SB)/4, $2
DATA ropeidx<>+20(SB)/4, $18
DATA ropeidx<>+24(SB)/4, $3
DATA ropeidx<>+28(SB)/4, $19
DATA ropeidx<>+32(SB)/4, $4
DATA ropeidx<>+36(SB)/4, $20
DATA ropeidx<>+40(SB)/4, $5
DATA ropeidx<>+44(SB)/4, $21
DATA ropeidx<>+48(SB)/4, $6
DATA ropeidx<>+52(SB)/4, $22
DATA ropeidx<>+56(SB)/4, $7
DATA ropeidx<>+60(SB)/4, $23
GLOBL ropeidx<>(SB), RODATA|NOPTR, $64

// func ropePairsAVX512(dst, x, tab *float32, dims int, neox int)
// Rotates one head's dims (even) rotated elements into interleaved pairs:
// with P the pairs (x itself, or x[i], x[dims/2+i] for NeoX),
// dst[j] = P[j]·cd[j] + P[j^1]·sd[j], cd = tab[:dims], sd = tab[dims:2·dims]
// (RoPEPairTable): the roundings of RoPE's Go loop. dst must not overlap x
// in NeoX order.
TEXT ·ropePairsAVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ tab+16(FP), DX
	MOVQ dims+24(FP), CX
	LEAQ (DX)(CX*4), BX
	CMPQ neox+32(FP), $0
	JNE rope_neox
rope_pairs:
	TESTQ CX, CX
	JLE rope_done
	KXNORW K1, K1, K1
	CMPQ CX, $16
	JGE rope_pfull
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1
rope_pfull:
	VMOVUPS.Z (SI), K1, Z0
	VPERMILPS $0xB1, Z0, Z1
	VMOVUPS.Z (DX), K1, Z2
	VMOVUPS.Z (BX), K1, Z3
	VMULPS Z2, Z0, Z4
	VMULPS Z3, Z1, Z5
	VADDPS Z5, Z4, Z4
	VMOVUPS Z4, K1, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $64, DX
	ADDQ $64, BX
	SUBQ $16, CX
	JMP rope_pairs
rope_neox:
	VMOVDQU32 ropeidx<>(SB), Z7
	SHRQ $1, CX
	LEAQ (SI)(CX*4), R8
	MOVQ CX, R10
rope_nloop:
	TESTQ R10, R10
	JLE rope_done
	MOVQ $8, CX
	CMPQ R10, $8
	CMOVQLT R10, CX
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K2
	ADDQ CX, CX
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1
	VMOVUPS.Z (SI), K2, Z0
	VMOVUPS.Z (R8), K2, Z6
	VPERMT2PS Z6, Z7, Z0
	VPERMILPS $0xB1, Z0, Z1
	VMOVUPS.Z (DX), K1, Z2
	VMOVUPS.Z (BX), K1, Z3
	VMULPS Z2, Z0, Z4
	VMULPS Z3, Z1, Z5
	VADDPS Z5, Z4, Z4
	VMOVUPS Z4, K1, (DI)
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $64, DI
	ADDQ $64, DX
	ADDQ $64, BX
	SUBQ $8, R10
	JMP rope_nloop
rope_done:
	VZEROUPPER
	RET

// WR2_TERM adds, while terms remain (R14 < R11), the term of the row at
// R13 to the two rows' partial sums s0, s1 of one t mod 4, then steps to
// the next term.
#define WR2_TERM(s0, s1) \
	CMPQ R14, R11; \
	JGE wr2_sum; \
	VMASKMOVPS (R13), Y13, Y8; \
	VBROADCASTSS (AX)(R14*1), Y12; \
	VFMADD231PS Y8, Y12, s0; \
	VBROADCASTSS (BX)(R14*1), Y12; \
	VFMADD231PS Y8, Y12, s1; \
	ADDQ R10, R13; \
	ADDQ $4, R14

// func weightedRows2AVX2(out *float32, ldo int, p *float32, ps int, v *float32, vs int, n int, cols int, add int, mask *int32)
// weightedRows4AVX512 for two rows on AVX2: for rows r < 2 and columns
// c < cols, out[r·ldo+c] = (add ? out[r·ldo+c] : 0) + Σ_{t<n} p[r·ps+t]·v[t·vs+c],
// the terms in four partial sums by t mod 4 (one FMA each; the first
// starting at out when adding), added as (s0+s1)+(s2+s3). Columns go 8 at
// a time, all loads and stores under the lane mask Y13: all ones, or for
// the last cols mod 8 columns the 8 int32 at mask. Sum k of row r is
// Y(2k+r).
TEXT ·weightedRows2AVX2(SB), NOSPLIT, $0-80
	MOVQ p+16(FP), AX
	MOVQ ps+24(FP), R9
	SHLQ $2, R9
	LEAQ (AX)(R9*1), BX
	MOVQ vs+40(FP), R10
	SHLQ $2, R10
	MOVQ n+48(FP), R11
	MOVQ R11, R9
	ANDQ $-4, R9
	SHLQ $2, R9
	SHLQ $2, R11
	MOVQ out+0(FP), DI
	MOVQ ldo+8(FP), R8
	SHLQ $2, R8
	MOVQ cols+56(FP), R12
	MOVQ v+32(FP), SI
	MOVQ mask+72(FP), CX
	VMOVDQU (CX), Y15
	VPCMPEQD Y14, Y14, Y14
wr2_chunk:
	CMPQ R12, $0
	JLE wr2_done
	VMOVDQA Y14, Y13
	CMPQ R12, $8
	JGE wr2_full
	VMOVDQA Y15, Y13
wr2_full:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	CMPQ add+64(FP), $0
	JEQ wr2_t
	VMASKMOVPS (DI), Y13, Y0
	VMASKMOVPS (DI)(R8*1), Y13, Y1
wr2_t:
	XORQ R14, R14
	MOVQ SI, R13
	CMPQ R14, R9
	JGE wr2_rest
wr2_quad:
	VMASKMOVPS (R13), Y13, Y8
	VMASKMOVPS (R13)(R10*1), Y13, Y9
	LEAQ (R13)(R10*2), R13
	VMASKMOVPS (R13), Y13, Y10
	VMASKMOVPS (R13)(R10*1), Y13, Y11
	VBROADCASTSS 0(AX)(R14*1), Y12
	VFMADD231PS Y8, Y12, Y0
	VBROADCASTSS 0(BX)(R14*1), Y12
	VFMADD231PS Y8, Y12, Y1
	VBROADCASTSS 4(AX)(R14*1), Y12
	VFMADD231PS Y9, Y12, Y2
	VBROADCASTSS 4(BX)(R14*1), Y12
	VFMADD231PS Y9, Y12, Y3
	VBROADCASTSS 8(AX)(R14*1), Y12
	VFMADD231PS Y10, Y12, Y4
	VBROADCASTSS 8(BX)(R14*1), Y12
	VFMADD231PS Y10, Y12, Y5
	VBROADCASTSS 12(AX)(R14*1), Y12
	VFMADD231PS Y11, Y12, Y6
	VBROADCASTSS 12(BX)(R14*1), Y12
	VFMADD231PS Y11, Y12, Y7
	LEAQ (R13)(R10*2), R13
	ADDQ $16, R14
	CMPQ R14, R9
	JLT wr2_quad
wr2_rest:
	WR2_TERM(Y0, Y1)
	WR2_TERM(Y2, Y3)
	WR2_TERM(Y4, Y5)
wr2_sum:
	VADDPS Y2, Y0, Y0
	VADDPS Y6, Y4, Y4
	VADDPS Y4, Y0, Y0
	VMASKMOVPS Y0, Y13, (DI)
	VADDPS Y3, Y1, Y1
	VADDPS Y7, Y5, Y5
	VADDPS Y5, Y1, Y1
	VMASKMOVPS Y1, Y13, (DI)(R8*1)
	ADDQ $32, DI
	ADDQ $32, SI
	SUBQ $8, R12
	JMP wr2_chunk
wr2_done:
	VZEROUPPER
	RET

// The AVX2 set's element-wise kernels take n a multiple of 8 (their Go
// wrappers do the last n mod 8 elements with the plain-Go loops, whose
// per-element operations they are).
#define BINARY_Y32(OP) \
	VMOVUPS (SI), Y0; \
	VMOVUPS 32(SI), Y1; \
	VMOVUPS 64(SI), Y2; \
	VMOVUPS 96(SI), Y3; \
	OP (DX), Y0, Y0; \
	OP 32(DX), Y1, Y1; \
	OP 64(DX), Y2, Y2; \
	OP 96(DX), Y3, Y3; \
	VMOVUPS Y0, (DI); \
	VMOVUPS Y1, 32(DI); \
	VMOVUPS Y2, 64(DI); \
	VMOVUPS Y3, 96(DI); \
	ADDQ $128, SI; \
	ADDQ $128, DX; \
	ADDQ $128, DI; \
	SUBQ $32, CX

#define BINARY_Y8(OP) \
	VMOVUPS (SI), Y0; \
	OP (DX), Y0, Y0; \
	VMOVUPS Y0, (DI); \
	ADDQ $32, SI; \
	ADDQ $32, DX; \
	ADDQ $32, DI; \
	SUBQ $8, CX

// func addF32AVX2(out, a, b *float32, n int)
// out[i] = a[i] + b[i] for i < n (a multiple of 8): 32 at a time, then 8.
TEXT ·addF32AVX2(SB), NOSPLIT, $0-32
	MOVQ out+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
addy_l32:
	CMPQ CX, $32
	JLT addy_l8
	BINARY_Y32(VADDPS)
	JMP addy_l32
addy_l8:
	CMPQ CX, $8
	JLT addy_done
	BINARY_Y8(VADDPS)
	JMP addy_l8
addy_done:
	VZEROUPPER
	RET

// func mulF32AVX2(out, a, b *float32, n int)
// out[i] = a[i] · b[i] for i < n (a multiple of 8): 32 at a time, then 8.
TEXT ·mulF32AVX2(SB), NOSPLIT, $0-32
	MOVQ out+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
muly_l32:
	CMPQ CX, $32
	JLT muly_l8
	BINARY_Y32(VMULPS)
	JMP muly_l32
muly_l8:
	CMPQ CX, $8
	JLT muly_done
	BINARY_Y8(VMULPS)
	JMP muly_l8
muly_done:
	VZEROUPPER
	RET

// func sumSquaresAVX2(x *float32, n int) float64
// Σ x[i]² for i < n (a multiple of 8): each square rounded to float32,
// widened and summed in float64 (four accumulators of 4, 16 at a time,
// then 8 into the first two).
TEXT ·sumSquaresAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
ssqy_l16:
	CMPQ CX, $16
	JLT ssqy_l8
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMULPS Y4, Y4, Y4
	VMULPS Y5, Y5, Y5
	VCVTPS2PD X4, Y6
	VEXTRACTF128 $1, Y4, X4
	VCVTPS2PD X4, Y7
	VCVTPS2PD X5, Y8
	VEXTRACTF128 $1, Y5, X5
	VCVTPS2PD X5, Y9
	VADDPD Y6, Y0, Y0
	VADDPD Y7, Y1, Y1
	VADDPD Y8, Y2, Y2
	VADDPD Y9, Y3, Y3
	ADDQ $64, SI
	SUBQ $16, CX
	JMP ssqy_l16
ssqy_l8:
	CMPQ CX, $8
	JLT ssqy_sum
	VMOVUPS (SI), Y4
	VMULPS Y4, Y4, Y4
	VCVTPS2PD X4, Y6
	VEXTRACTF128 $1, Y4, X4
	VCVTPS2PD X4, Y7
	VADDPD Y6, Y0, Y0
	VADDPD Y7, Y1, Y1
ssqy_sum:
	VADDPD Y1, Y0, Y0
	VADDPD Y3, Y2, Y2
	VADDPD Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD X1, X0, X0
	VPERMILPD $1, X0, X1
	VADDSD X1, X0, X0
	VZEROUPPER
	MOVSD X0, ret+16(FP)
	RET

// func scaleMulAVX2(out, x, w *float32, s float32, n int)
// out[i] = (x[i]·s)·w[i] for i < n (a multiple of 8), or x[i]·s where w is
// nil (two roundings, as the Go loop), 8 at a time.
TEXT ·scaleMulAVX2(SB), NOSPLIT, $0-40
	MOVQ out+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ w+16(FP), DX
	VBROADCASTSS s+24(FP), Y2
	MOVQ n+32(FP), CX
	TESTQ DX, DX
	JEQ scmy_now
scmy_loop:
	CMPQ CX, $8
	JLT scmy_done
	VMULPS (SI), Y2, Y0
	VMULPS (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JMP scmy_loop
scmy_now:
	CMPQ CX, $8
	JLT scmy_done
	VMULPS (SI), Y2, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP scmy_now
scmy_done:
	VZEROUPPER
	RET

// func scaleMaxAVX2(x *float32, s, m float32, n int) float32
// x[i] *= s for i < n (a multiple of 8), returning max(m, x[0..n)) (NaN if
// m or any x[i] is NaN: VMAXPS alone drops NaNs, so they are tracked in
// Y5), 8 at a time.
TEXT ·scaleMaxAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	VBROADCASTSS s+8(FP), Y2
	VBROADCASTSS m+12(FP), Y3
	MOVQ n+16(FP), CX
	VCMPPS $3, Y3, Y3, Y5
scxy_loop:
	CMPQ CX, $8
	JLT scxy_done
	VMULPS (SI), Y2, Y0
	VMOVUPS Y0, (SI)
	VMAXPS Y0, Y3, Y3
	VCMPPS $3, Y0, Y0, Y6
	VORPS Y6, Y5, Y5
	ADDQ $32, SI
	SUBQ $8, CX
	JMP scxy_loop
scxy_done:
	VMOVMSKPS Y5, AX
	TESTL AX, AX
	JNZ scxy_nan
	VEXTRACTF128 $1, Y3, X4
	VMAXPS X4, X3, X3
	VPERMILPD $1, X3, X4
	VMAXPS X4, X3, X3
	VMOVSHDUP X3, X4
	VMAXSS X4, X3, X3
	MOVSS X3, ret+24(FP)
	VZEROUPPER
	RET
scxy_nan:
	MOVL $0x7fc00000, AX
	MOVL AX, ret+24(FP)
	VZEROUPPER
	RET
