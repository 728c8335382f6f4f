package kernels

import "math"

// Vector helpers for attention and activations.

// axpyF32Go adds a·x to y (the reference for the SIMD versions).
func axpyF32Go(y []float32, a float32, x []float32) {
	x = x[:len(y)]
	for i, v := range x {
		y[i] += a * v
	}
}

// Exp returns e^x in float32, within 1e-6 relative error of math.Exp (it
// is used where a float64 math.Exp per element would dominate: softmax over
// attention scores, SiLU). Outside the float32 normal range, and for NaN and
// infinities, it defers to math.Exp.
func Exp(x float32) float32 {
	const (
		log2e = 1.4426950408889634
		// ln 2 split in two (Cody–Waite): ln2Hi has few significant bits so
		// that k·ln2Hi is exact for the k that occur.
		ln2Hi = 0.693359375
		ln2Lo = -2.12194440e-4
	)
	if !(x > -87 && x < 88) { // also NaN
		return float32(math.Exp(float64(x)))
	}
	// x = k·ln2 + r with |r| ≤ ln2/2; e^x = 2^k · e^r.
	t := x * log2e
	if t < 0 {
		t -= 0.5
	} else {
		t += 0.5
	}
	k := int32(t) // rounds x·log2e to nearest
	fk := float32(k)
	r := x - fk*ln2Hi
	r -= fk * ln2Lo
	// e^r by its Taylor series to degree 7 (truncation < 6e-9 relative).
	p := float32(1.0 / 5040)
	p = p*r + 1.0/720
	p = p*r + 1.0/120
	p = p*r + 1.0/24
	p = p*r + 1.0/6
	p = p*r + 0.5
	p = p*r + 1
	p = p*r + 1
	return p * math.Float32frombits(uint32(k+127)<<23)
}

// DotRows sets out[i·ldo+j] = Σ_{c<cols} a[i·as+c]·b[j·bs+c] for i < na and
// j < nb: the dot products of every row of a with every row of b (a small
// matrix product AᵀB with strided rows, as attention needs for query·key
// scores and probability·value sums). Rows of b are taken four at a time
// by the matrix kernels; when nb is not a multiple of four the last rows
// use single dot products. The summation order is unspecified.
func DotRows(out []float32, ldo int, a []float32, as, na int, b []float32, bs, nb, cols int) {
	if na <= 0 || nb <= 0 {
		return
	}
	_ = out[(na-1)*ldo+nb-1]
	if cols <= 0 {
		for i := range na {
			clear(out[i*ldo : i*ldo+nb])
		}
		return
	}
	_ = a[(na-1)*as+cols-1]
	_ = b[(nb-1)*bs+cols-1]
	m := gemmM
	var res [16]float32
	nb4 := nb &^ 3
	for i := 0; i < na; {
		rows, ws := m, as
		if i+m > na {
			rows, ws = 1, 0 // the rest one row at a time (stride 0 repeats it)
		}
		for j := 0; j < nb4; j += 4 {
			gemmDirect(res[:4*m], a[i*as:], ws, b[j*bs:], bs, cols)
			for r := range rows {
				o := out[(i+r)*ldo+j : (i+r)*ldo+j+4]
				o[0], o[1], o[2], o[3] = res[4*r], res[4*r+1], res[4*r+2], res[4*r+3]
			}
		}
		for r := range rows {
			ar := a[(i+r)*as : (i+r)*as+cols]
			for j := nb4; j < nb; j++ {
				out[(i+r)*ldo+j] = dotF32(ar, b[j*bs:j*bs+cols])
			}
		}
		i += rows
	}
}

// ExpShiftSum sets dst[i] = e^(x[i]-shift) and returns Σ dst[i]: the
// exponentials of a softmax, with shift the maximum of x. Arguments x[i]-shift
// must be ≤ 0; those below -87 count as -87 (a result under 2e-38 in place of
// a smaller one). Otherwise results are within 1e-6 relative of math.Exp. It
// uses the SIMD kernels when the CPU has them.
func ExpShiftSum(dst, x []float32, shift float32) float32 { return expShiftSum(dst, x, shift) }

// expShiftSumGo is the reference ExpShiftSum.
func expShiftSumGo(dst, x []float32, shift float32) float32 {
	x = x[:len(dst)]
	var sum float32
	for i, v := range x {
		dst[i] = Exp(max(v-shift, -87))
		sum += dst[i]
	}
	return sum
}

// WeightedRows sets out[i·ldo+c] = Σ_{t<n} p[i·ps+t]·v[t·vs+c] for i < m and
// c < cols, or adds that sum to out[i·ldo+c] (add): m rows of weights p
// applied to the n rows of v, as attention sums probability-weighted value
// rows. Each output keeps four partial sums, of the terms with t mod 4 =
// 0, 1, 2, 3 (the first starting at out[i·ldo+c] when adding), added as
// (s0+s1)+(s2+s3): a sum of n terms in one running float32 sum rounds n
// times in a row, which was enough to move the agreement with llama.cpp
// on a tiny Q4_K model (peer.TestMatchesLlamaCpp) from 5e-4 to 1.3e-2 in
// logprob (llama.cpp's products over the keys split their sums too). The
// SIMD paths (AVX2, AVX-512) fuse each multiply and add, so their results
// may differ from weightedRowsGo in the last bits.
func WeightedRows(out []float32, ldo int, p []float32, ps, m int, v []float32, vs, n, cols int, add bool) {
	if m <= 0 || cols <= 0 {
		return
	}
	_ = out[(m-1)*ldo+cols-1]
	if n > 0 {
		_ = p[(m-1)*ps+n-1]
		_ = v[(n-1)*vs+cols-1]
	}
	weightedRowsF32(out, ldo, p, ps, m, v, vs, n, cols, add)
}

// weightedRowsGo is the reference WeightedRows (bounds already checked).
func weightedRowsGo(out []float32, ldo int, p []float32, ps, m int, v []float32, vs, n, cols int, add bool) {
	for i := range m {
		o := out[i*ldo : i*ldo+cols]
		var pi []float32 // nil when n = 0 (p may be too)
		if n > 0 {
			pi = p[i*ps : i*ps+n]
		}
		for c := range o {
			var s [4]float32
			if add {
				s[0] = o[c]
			}
			for t, w := range pi {
				s[t%4] += w * v[t*vs+c]
			}
			o[c] = (s[0] + s[1]) + (s[2] + s[3])
		}
	}
}
