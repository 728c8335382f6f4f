package kernels

import (
	"math"
	"unsafe"
)

// Packed activations for the tiled Q8_0 kernels (quantKernels).
// Each input row is quantized per 32-element block exactly as quantizeQ8Act
// does, then laid out per pair of blocks in q8PairBytes:
//
//	[0, 64)    the two blocks' int8 values
//	[64, 128)  16 int32 lane corrections: −c·(x[4l]+…+x[4l+3]) for lane l
//	[128, 192) 16 float32 scales: the first block's scale 8 times, then the second's
//
// 128 is the offset that makes the weights unsigned for VPDPBUSD (w XOR
// 0x80 = w+128). An odd block count leaves a last half pair whose second
// half is all zeros.
const q8PairBytes = 192

// packQ8Act packs one input row x (len a multiple of 32) into dst
// (len ⌈len(x)/64⌉·q8PairBytes) with the kernel set's packQ8.
func packQ8Act(dst []byte, x []float32) { packQ8(dst, x) }

// The compact activation layout of decoding's long Q8_0 rows (read by the
// kernel set's gemvQ8_0C): for each group of 8 block pairs, the pairs' 64
// quantized values each, then 16 float32 scales (pair k's two blocks' at
// 2k, 2k+1), q8CompactGroupBytes in all; the last group is whole. It keeps
// 72 of the packed layout's 192 bytes per pair: the decoding kernel reads a
// row's activations for every weight row, and on long rows (llama3.2-1b's
// 8192 columns: 24 KiB packed) they no longer stay in L1 beside the
// streaming weights; the kernel recomputes the corrections the packed
// layout holds.
const q8CompactGroupBytes = 8*64 + 16*4

// packedQ8Bytes is the size of the packed activations (packQ8Act) of np
// pairs and tail (0 or 1) half pairs.
func packedQ8Bytes(np, tail int) int { return (np + tail) * q8PairBytes }

// compactQ8Bytes is the size of the compact layout of np pairs and tail
// (0 or 1) half pairs.
func compactQ8Bytes(np, tail int) int { return (np + tail + 7) / 8 * q8CompactGroupBytes }

// compactQ8Act writes into dst the compact layout of the packed activations
// a (np full pairs, then tail half pairs) and returns it.
func compactQ8Act(dst, a []byte, np, tail int) []byte {
	dst = dst[:compactQ8Bytes(np, tail)]
	for k := range np + tail {
		g, i := dst[k/8*q8CompactGroupBytes:], k%8
		src := a[k*q8PairBytes : (k+1)*q8PairBytes]
		copy(g[64*i:64*i+64], src[:64])
		copy(g[512+8*i:512+8*i+4], src[128:132])   // the first block's scale (lane 0)
		copy(g[512+8*i+4:512+8*i+8], src[160:164]) // the second block's (lane 8; 0 for a half pair)
	}
	return dst
}

// packQ8ActGo is the plain-Go packQ8.
func packQ8ActGo(dst []byte, x []float32) {
	const c = 128
	nb := len(x) / 32
	dst = dst[:(nb+1)/2*q8PairBytes]
	for b := range nb {
		base := b / 2 * q8PairBytes
		h := b % 2
		qs := unsafe.Slice((*int8)(unsafe.Pointer(&dst[base+32*h])), 32)
		corr := unsafe.Slice((*int32)(unsafe.Pointer(&dst[base+64+32*h])), 8)
		ds := unsafe.Slice((*float32)(unsafe.Pointer(&dst[base+128+32*h])), 8)
		d := quantBlock32(qs, x[32*b:32*b+32])
		for l := range 8 {
			s := int32(qs[4*l]) + int32(qs[4*l+1]) + int32(qs[4*l+2]) + int32(qs[4*l+3])
			corr[l] = -c * s
			ds[l] = d
		}
	}
	if nb%2 == 1 {
		base := nb / 2 * q8PairBytes
		clear(dst[base+32 : base+64])
		clear(dst[base+96 : base+128])
		clear(dst[base+160 : base+192])
	}
}

// fma32 is float32 fused multiply-add (computed in float64 and rounded
// once more: it can differ from a hardware FMA in the last bit, rarely).
func fma32(a, b, c float32) float32 {
	return float32(math.FMA(float64(a), float64(b), float64(c)))
}

// gemmQGo is the plain-Go reference of a gemmQFunc for Q8_0 weights and nr
// activation rows. Per (weight row, activation row) it
// performs the kernels' float operations in their order: a 16-lane
// accumulator F, lanes 0–7 for a pair's first block and 8–15 for its second,
// F[l] = fma(float(I[l]), dw·dx[l], F[l]) with I[l] the exact integer dot of
// the lane's 4 values (offset removed), then h[i] = F[i]+F[i+8] and
// ((h0+h1)+(h2+h3)) + ((h4+h5)+(h6+h7)).
func gemmQGo(nr int, out []float32, ldo int, w []byte, ws, groups int, a []byte, as, np, tail int) {
	const bb = q8_0Bytes
	nb := 2*np + tail
	for g := range groups {
		for i := range 4 {
			row := w[4*ws*g+i*ws:]
			row = row[:nb*bb]
			for j := range nr {
				act := a[j*as : j*as+packedQ8Bytes(np, tail)]
				var f [16]float32
				for b := range nb {
					blk := row[b*bb : (b+1)*bb]
					pb := act[b/2*q8PairBytes:]
					qs := unsafe.Slice((*int8)(unsafe.Pointer(&pb[0])), 64)
					corr := unsafe.Slice((*int32)(unsafe.Pointer(&pb[64])), 16)
					ds := unsafe.Slice((*float32)(unsafe.Pointer(&pb[128])), 16)
					dw := f16ToF32(le16(blk))
					for l := range 8 {
						lane := 8*(b%2) + l
						s := corr[lane]
						for k := range 4 {
							e := 4*l + k
							s += int32(blk[2+e]^0x80) * int32(qs[32*(b%2)+e])
						}
						f[lane] = fma32(float32(s), dw*ds[lane], f[lane])
					}
				}
				var h [8]float32
				for l := range 8 {
					h[l] = f[l] + f[l+8]
				}
				out[j*ldo+4*g+i] = ((h[0] + h[1]) + (h[2] + h[3])) + ((h[4] + h[5]) + (h[6] + h[7]))
			}
		}
	}
}

// gemmPanelBytes is the weight bytes one tiled-kernel call streams while
// the same activation rows stay in cache.
const gemmPanelBytes = 128 << 10

// gemmPrefetchRows is the most input rows for which the tiled kernels
// prefetch weight rows: with few rows the weights stream from memory with
// little work per byte; with many they come from a cache-resident panel.
const gemmPrefetchRows = 16
