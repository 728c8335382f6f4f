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
