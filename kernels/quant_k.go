package kernels

import "unsafe"

// q4KSideBytes is the size of one block's side record of a pair of
// activation rows for the tiled Q4_K kernels (gemmKPFunc):
//
//	[0, 64)    the two rows' bsum32 as int16: the first row's 8 at bytes
//	           0–15, the second's at 32–47, zeros between and after
//	[64, 128)  float32 d_x: the first row's 8 times, then the second's
const q4KSideBytes = 128

// packQ4KSide writes the side records of activation row a (nb blocks) into
// side (nb·q4KSideBytes bytes, one pair's), as the pair's first (half 0) or
// second (half 1) row; a nil a writes those of an all-zero row.
func packQ4KSide(side []byte, a []blockQ8K, nb, half int) {
	for b := range nb {
		rec := side[b*q4KSideBytes : (b+1)*q4KSideBytes]
		bs := unsafe.Slice((*int16)(unsafe.Pointer(&rec[32*half])), 16)
		dx := unsafe.Slice((*float32)(unsafe.Pointer(&rec[64+32*half])), 8)
		clear(bs)
		clear(dx)
		if a == nil {
			continue
		}
		copy(bs, a[b].bsum32[:])
		for l := range dx {
			dx[l] = a[b].d
		}
	}
}

// gemmQ4KGo is the plain-Go reference of a gemmKFunc for Q4_K weights and
// nr activation rows. Per (weight row, activation row) it performs the
// float operations of the SIMD dotQ4K / dotQ4Kx4 and of the tiled kernels,
// in their order: an 8-lane accumulator F; per super-block, with I[l] the
// exact integer lane sums Σ_j sc[j]·Σ_{k<4} q·x over elements 32j+4l+k and
// M[l] = m[2l]·bsum32[2l] + m[2l+1]·bsum32[2l+1] for l < 4 (0 above),
// F[l] = fma(−float(M[l]), dmin·d_x, F[l]), then
// F[l] = fma(float(I[l]), d·d_x, F[l]); finally
// ((F0+F1)+(F2+F3)) + ((F4+F5)+(F6+F7)).
func gemmQ4KGo(nr int, out []float32, ldo int, w []byte, ws, rows int, a []blockQ8K, as, nb int) {
	gemmKGo(nr, out, ldo, w, ws, rows, a, as, nb, q4KBytes, func(f *[8]float32, blk []byte, x *blockQ8K) {
		d, dmin := f16ToF32(le16(blk)), f16ToF32(le16(blk[2:]))
		sc, m := q4KScales(blk[4:16])
		dm := dmin * x.d
		for l := range 8 {
			var s int32
			if l < 4 {
				s = int32(m[2*l])*int32(x.bsum32[2*l]) + int32(m[2*l+1])*int32(x.bsum32[2*l+1])
			}
			f[l] = fma32(-float32(s), dm, f[l])
		}
		var lanes [8]int32
		for j := range 8 {
			chunk := blk[16+32*(j/2) : 16+32*(j/2)+32]
			for l := range 8 {
				var s int32
				for k := range 4 {
					e := 4*l + k
					q := chunk[e] & 15
					if j%2 == 1 {
						q = chunk[e] >> 4
					}
					s += int32(q) * int32(x.qs[32*j+e])
				}
				lanes[l] += int32(sc[j]) * s
			}
		}
		dd := d * x.d
		for l := range 8 {
			f[l] = fma32(float32(lanes[l]), dd, f[l])
		}
	})
}

// gemmQ6KGo is gemmQ4KGo for Q6_K weights: per (weight row, activation
// row), an 8-lane accumulator F; per super-block the exact integer lanes
// I[l] = −32·(sc[2l]·bsum16[2l] + sc[2l+1]·bsum16[2l+1]) +
// Σ sc[e/16]·q[e]·x[e] over the elements e with e%32/4 = l (q unsigned,
// 0…63), then F[l] = fma(float(I[l]), d·d_x, F[l]); finally
// ((F0+F1)+(F2+F3)) + ((F4+F5)+(F6+F7)), as dotQ6K / dotQ6Kx4 compute.
func gemmQ6KGo(nr int, out []float32, ldo int, w []byte, ws, rows int, a []blockQ8K, as, nb int) {
	gemmKGo(nr, out, ldo, w, ws, rows, a, as, nb, q6KBytes, func(f *[8]float32, blk []byte, x *blockQ8K) {
		ql, qh, sc := blk[:128], blk[128:192], blk[192:208]
		var lanes [8]int32
		for l := range 8 {
			lanes[l] = -32 * (int32(int8(sc[2*l]))*int32(x.bsum16[2*l]) + int32(int8(sc[2*l+1]))*int32(x.bsum16[2*l+1]))
		}
		for e := range 256 {
			h, g, l := e/128, e%128/32, e%32
			lo := ql[64*h+32*(g&1)+l]
			if g >= 2 {
				lo >>= 4
			}
			q := int32(lo&15) | int32(qh[32*h+l]>>(2*g)&3)<<4
			lanes[e%32/4] += int32(int8(sc[e/16])) * q * int32(x.qs[e])
		}
		dd := f16ToF32(le16(blk[208:])) * x.d
		for l := range 8 {
			f[l] = fma32(float32(lanes[l]), dd, f[l])
		}
	})
}

// gemmKGo is the loop of the K-quant references: for each weight row and
// activation row, an 8-lane float accumulator that block updates per
// super-block (blockBytes each), then reduced as the SIMD kernels reduce
// it: ((F0+F1)+(F2+F3)) + ((F4+F5)+(F6+F7)).
func gemmKGo(nr int, out []float32, ldo int, w []byte, ws, rows int, a []blockQ8K, as, nb, blockBytes int, block func(f *[8]float32, blk []byte, x *blockQ8K)) {
	for i := range rows {
		row := w[i*ws : i*ws+nb*blockBytes]
		for t := range nr {
			act := a[t*as : t*as+nb]
			var f [8]float32
			for b := range nb {
				block(&f, row[b*blockBytes:(b+1)*blockBytes], &act[b])
			}
			out[t*ldo+i] = ((f[0] + f[1]) + (f[2] + f[3])) + ((f[4] + f[5]) + (f[6] + f[7]))
		}
	}
}

// q4KGemvOrder prepares the activation blocks a for the VNNI Q4_K decoding
// kernel (gemvQ4KVNNI): it reorders the 32-element groups of each block
// from 0-7 to 0, 2, 1, 3, 4, 6, 5, 7, the order in which the kernel reads
// them (64 bytes of a block's nibbles hold groups 4k and 4k+2 as low nibbles
// and 4k+1 and 4k+3 as high ones), and puts the sums of 32 (bsum32) in the
// first half of bsum16 and zeros in its second half, the 32 bytes that the
// kernel multiplies with the unpacked mins and scales. The blocks are for
// that kernel only afterwards (bsum16 is gone); bsum32 and d are unchanged.
func q4KGemvOrder(a []blockQ8K) {
	for i := range a {
		for _, g := range [2]int{1, 5} {
			x, y := (*[32]int8)(a[i].qs[32*g:]), (*[32]int8)(a[i].qs[32*g+32:])
			*x, *y = *y, *x
		}
		copy(a[i].bsum16[:8], a[i].bsum32[:])
		clear(a[i].bsum16[8:])
	}
}
