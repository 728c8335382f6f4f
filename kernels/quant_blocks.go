package kernels

import (
	"math"
)

// GGUF block layouts (little-endian, f16 scales):
//
//	Q8_0 (34 bytes / 32 elements):  d f16 | qs [32]int8           x = d·q
//	Q4_0 (18 bytes / 32 elements):  d f16 | qs [16]byte           x = d·(q-8), element j<16 in the low
//	                                                              nibble of qs[j], j≥16 in the high nibble of qs[j-16]
//	Q4_K (144 bytes / 256 elements): d f16 | dmin f16 | scales [12]byte | qs [128]byte
//	     8 sub-blocks of 32 with 6-bit scale sc and min m:  x = d·sc·q - dmin·m
//	     scales: bytes 0-3 = sc[0..3] | (sc[4..7]>>4)<<6; bytes 4-7 = m[0..3] | (m[4..7]>>4)<<6;
//	             bytes 8-11 = (sc[4..7]&15) | (m[4..7]&15)<<4
//	     qs: 4 chunks of 32 bytes; chunk c holds elements 64c..64c+31 in low nibbles and
//	         64c+32..64c+63 in high nibbles
//	Q6_K (210 bytes / 256 elements): ql [128]byte | qh [64]byte | scales [16]int8 | d f16
//	     16 sub-blocks of 16 with int8 scale: x = d·sc[e/16]·(q-32), q 6 bits;
//	     for element e = 128h + 32g + l (h<2, g<4, l<32): the low 4 bits are in
//	     ql[64h + 32(g&1) + l] (low nibble for g<2, high for g≥2), the high 2 bits
//	     are bits 2g..2g+1 of qh[32h + l].

const (
	q8_0Bytes = 34
	q4_0Bytes = 18
	q4KBytes  = 144
	q6KBytes  = 210
)

func le16(b []byte) uint16 { return uint16(b[0]) | uint16(b[1])<<8 }

func put16(b []byte, v uint16) { b[0], b[1] = byte(v), byte(v>>8) }

// roundInt rounds to the nearest integer, ties away from zero.
func roundInt(f float32) int { return int(math.Round(float64(f))) }

func clampInt(v, lo, hi int) int { return max(lo, min(hi, v)) }

// ---- Q8_0 ----

func dequantQ8_0(dst []float32, src []byte) {
	for b := 0; b < len(dst)/32; b++ {
		blk := src[b*q8_0Bytes : (b+1)*q8_0Bytes]
		d := f16ToF32(le16(blk))
		out := dst[b*32 : b*32+32]
		for j := range out {
			out[j] = d * float32(int8(blk[2+j]))
		}
	}
}

func quantQ8_0(dst []byte, src []float32) {
	for b := 0; b < len(src)/32; b++ {
		x := src[b*32 : b*32+32]
		blk := dst[b*q8_0Bytes : (b+1)*q8_0Bytes]
		var amax float32
		for _, v := range x {
			amax = max(amax, abs32(v))
		}
		h := f32ToF16(amax / 127)
		put16(blk, h)
		d := f16ToF32(h)
		var id float32
		if d != 0 {
			id = 1 / d
		}
		for j, v := range x {
			blk[2+j] = byte(int8(clampInt(roundInt(v*id), -127, 127)))
		}
	}
}

// ---- Q4_0 ----

func dequantQ4_0(dst []float32, src []byte) {
	for b := 0; b < len(dst)/32; b++ {
		blk := src[b*q4_0Bytes : (b+1)*q4_0Bytes]
		d := f16ToF32(le16(blk))
		out := dst[b*32 : b*32+32]
		for j := range 16 {
			q := blk[2+j]
			out[j] = d * float32(int(q&15)-8)
			out[j+16] = d * float32(int(q>>4)-8)
		}
	}
}

func quantQ4_0(dst []byte, src []float32) {
	for b := 0; b < len(src)/32; b++ {
		x := src[b*32 : b*32+32]
		blk := dst[b*q4_0Bytes : (b+1)*q4_0Bytes]
		// The value of largest magnitude maps to -8 (the end of the range
		// with the extra step) or to +7; keep whichever fits better.
		var ext float32
		for _, v := range x {
			if abs32(v) > abs32(ext) {
				ext = v
			}
		}
		var best uint16
		bestErr := float32(math.Inf(1))
		for _, div := range []float32{-8, 7} {
			h := f32ToF16(ext / div)
			d := f16ToF32(h)
			var id float32
			if d != 0 {
				id = 1 / d
			}
			var e float32
			for _, v := range x {
				q := clampInt(roundInt(v*id), -8, 7)
				r := v - d*float32(q)
				e += r * r
			}
			if e < bestErr {
				best, bestErr = h, e
			}
		}
		put16(blk, best)
		d := f16ToF32(best)
		var id float32
		if d != 0 {
			id = 1 / d
		}
		for j := range 16 {
			lo := clampInt(roundInt(x[j]*id), -8, 7) + 8
			hi := clampInt(roundInt(x[j+16]*id), -8, 7) + 8
			blk[2+j] = byte(lo) | byte(hi)<<4
		}
	}
}

// ---- Q4_K ----

// q4KScales unpacks the 8 six-bit scales and mins of a Q4_K super-block.
func q4KScales(s []byte) (sc, m [8]uint8) {
	for j := range 4 {
		sc[j] = s[j] & 63
		m[j] = s[j+4] & 63
		sc[j+4] = s[j+8]&15 | (s[j]>>6)<<4
		m[j+4] = s[j+8]>>4 | (s[j+4]>>6)<<4
	}
	return
}

// q4KPackScales is the inverse of q4KScales (values must be < 64).
func q4KPackScales(s []byte, sc, m [8]uint8) {
	for j := range 4 {
		s[j] = sc[j] | (sc[j+4]>>4)<<6
		s[j+4] = m[j] | (m[j+4]>>4)<<6
		s[j+8] = sc[j+4]&15 | (m[j+4]&15)<<4
	}
}

func dequantQ4K(dst []float32, src []byte) {
	for b := 0; b < len(dst)/256; b++ {
		blk := src[b*q4KBytes : (b+1)*q4KBytes]
		d, dmin := f16ToF32(le16(blk)), f16ToF32(le16(blk[2:]))
		sc, m := q4KScales(blk[4:16])
		qs := blk[16:]
		out := dst[b*256 : b*256+256]
		for c := range 4 {
			d1, m1 := d*float32(sc[2*c]), dmin*float32(m[2*c])
			d2, m2 := d*float32(sc[2*c+1]), dmin*float32(m[2*c+1])
			for l := range 32 {
				q := qs[32*c+l]
				out[64*c+l] = d1*float32(q&15) - m1
				out[64*c+32+l] = d2*float32(q>>4) - m2
			}
		}
	}
}

// fitAffine4 finds scale s ≥ 0 and offset mn ≥ 0 so that s·q - mn with
// q ∈ [0,15] approximates x in the least-squares sense: it starts from the
// min/max fit and alternates rounding q with a least-squares solve for (s, mn).
func fitAffine4(x []float32) (s, mn float32) {
	lo, hi := x[0], x[0]
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
	}
	lo = min(lo, 0)
	if hi <= lo {
		return 0, -lo
	}
	errOf := func(s, mn float32) float32 {
		var e float32
		var is float32
		if s > 0 {
			is = 1 / s
		}
		for _, v := range x {
			q := clampInt(roundInt((v+mn)*is), 0, 15)
			r := s*float32(q) - mn - v
			e += r * r
		}
		return e
	}
	bestS, bestM := (hi-lo)/15, -lo
	bestE := errOf(bestS, bestM)
	// Try slightly stretched grids, each refined by least squares.
	for step := -2; step <= 6; step++ {
		s0 := (hi - lo) / (15 + 0.25*float32(step))
		s, mn := s0, -lo
		for range 3 {
			is := 1 / s
			var n, sq, sx, sqq, sqx float32
			for _, v := range x {
				q := float32(clampInt(roundInt((v+mn)*is), 0, 15))
				n++
				sq += q
				sx += v
				sqq += q * q
				sqx += q * v
			}
			det := n*sqq - sq*sq
			if det <= 0 {
				break
			}
			ns := (n*sqx - sq*sx) / det
			nm := (ns*sq - sx) / n // mn = s·mean(q) - mean(x)
			if nm < 0 {
				nm = 0
				ns = sqx / sqq
			}
			if ns <= 0 {
				break
			}
			s, mn = ns, nm
			if e := errOf(s, mn); e < bestE {
				bestS, bestM, bestE = s, mn, e
			}
		}
	}
	return bestS, bestM
}

func quantQ4K(dst []byte, src []float32) {
	for b := 0; b < len(src)/256; b++ {
		x := src[b*256 : b*256+256]
		blk := dst[b*q4KBytes : (b+1)*q4KBytes]
		var scales, mins [8]float32
		var maxS, maxM float32
		for j := range 8 {
			scales[j], mins[j] = fitAffine4(x[32*j : 32*j+32])
			maxS, maxM = max(maxS, scales[j]), max(maxM, mins[j])
		}
		dh, mh := f32ToF16(maxS/63), f32ToF16(maxM/63)
		d, dmin := f16ToF32(dh), f16ToF32(mh)
		var sc, m [8]uint8
		for j := range 8 {
			if d > 0 {
				sc[j] = uint8(clampInt(roundInt(scales[j]/d), 0, 63))
			}
			if dmin > 0 {
				m[j] = uint8(clampInt(roundInt(mins[j]/dmin), 0, 63))
			}
		}
		put16(blk, dh)
		put16(blk[2:], mh)
		q4KPackScales(blk[4:16], sc, m)
		qs := blk[16:]
		var q [256]uint8
		for j := range 8 {
			ds, dm := d*float32(sc[j]), dmin*float32(m[j])
			if ds == 0 {
				continue
			}
			is := 1 / ds
			for l := range 32 {
				q[32*j+l] = uint8(clampInt(roundInt((x[32*j+l]+dm)*is), 0, 15))
			}
		}
		for c := range 4 {
			for l := range 32 {
				qs[32*c+l] = q[64*c+l] | q[64*c+32+l]<<4
			}
		}
		// With scales deep in f16's subnormal range the rounding of d and
		// dmin can make the fit worse than nothing; store zeros then.
		var errSq, sigSq float32
		var dec [256]float32
		dequantQ4K(dec[:], blk)
		for i, v := range x {
			errSq += (dec[i] - v) * (dec[i] - v)
			sigSq += v * v
		}
		if errSq > sigSq {
			clear(blk)
		}
	}
}

// ---- Q6_K ----

func dequantQ6K(dst []float32, src []byte) {
	for b := 0; b < len(dst)/256; b++ {
		blk := src[b*q6KBytes : (b+1)*q6KBytes]
		ql, qh, sc := blk[:128], blk[128:192], blk[192:208]
		d := f16ToF32(le16(blk[208:]))
		out := dst[b*256 : b*256+256]
		for h := range 2 {
			for l := range 32 {
				a, c, hb := ql[64*h+l], ql[64*h+32+l], qh[32*h+l]
				e := 128*h + l
				out[e] = d * float32(int8(sc[e/16])) * float32(int(a&15|(hb&3)<<4)-32)
				out[e+32] = d * float32(int8(sc[(e+32)/16])) * float32(int(c&15|(hb>>2&3)<<4)-32)
				out[e+64] = d * float32(int8(sc[(e+64)/16])) * float32(int(a>>4|(hb>>4&3)<<4)-32)
				out[e+96] = d * float32(int8(sc[(e+96)/16])) * float32(int(c>>4|(hb>>6&3)<<4)-32)
			}
		}
	}
}

// fitSym6 picks a scale s so that s·q with q ∈ [-32,31] approximates x: the
// value of largest magnitude maps near -32 (or +31), searched over a few
// candidate scales for the least squared error.
func fitSym6(x []float32) float32 {
	var ext float32
	for _, v := range x {
		if abs32(v) > abs32(ext) {
			ext = v
		}
	}
	if ext == 0 {
		return 0
	}
	var best float32
	bestE := float32(math.Inf(1))
	for k := range 12 {
		for _, div := range []float32{-32, 31} {
			s := ext / div * (1 - float32(k)*0.015)
			is := 1 / s
			var e float32
			for _, v := range x {
				q := clampInt(roundInt(v*is), -32, 31)
				r := v - s*float32(q)
				e += r * r
			}
			if e < bestE {
				best, bestE = s, e
			}
		}
	}
	return best
}

func quantQ6K(dst []byte, src []float32) {
	for b := 0; b < len(src)/256; b++ {
		x := src[b*256 : b*256+256]
		blk := dst[b*q6KBytes : (b+1)*q6KBytes]
		var scales [16]float32
		var maxAbs float32
		for k := range 16 {
			scales[k] = fitSym6(x[16*k : 16*k+16])
			maxAbs = max(maxAbs, abs32(scales[k]))
		}
		dh := f32ToF16(maxAbs / 127)
		d := f16ToF32(dh)
		var q [256]uint8
		for k := range 16 {
			var sc int
			if d > 0 {
				sc = clampInt(roundInt(scales[k]/d), -127, 127)
			}
			blk[192+k] = byte(int8(sc))
			ds := d * float32(sc)
			var is float32
			if ds != 0 {
				is = 1 / ds
			}
			for l := range 16 {
				q[16*k+l] = uint8(clampInt(roundInt(x[16*k+l]*is), -32, 31) + 32)
			}
		}
		ql, qh := blk[:128], blk[128:192]
		for h := range 2 {
			for l := range 32 {
				e := 128*h + l
				q0, q1, q2, q3 := q[e], q[e+32], q[e+64], q[e+96]
				ql[64*h+l] = q0&15 | (q2&15)<<4
				ql[64*h+32+l] = q1&15 | (q3&15)<<4
				qh[32*h+l] = q0>>4 | (q1>>4)<<2 | (q2>>4)<<4 | (q3>>4)<<6
			}
		}
		put16(blk[208:], dh)
	}
}

func abs32(f float32) float32 { return math.Float32frombits(math.Float32bits(f) &^ (1 << 31)) }
