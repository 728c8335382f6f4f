package kernels

import (
	"math"
	"sync"
)

// This file holds the element-wise and row-wise ops of a transformer layer:
// normalization, activations, rotary embeddings and softmax. They are plain
// Go; the heavy lifting (matrix products) lives in matmul*.go.

// RMSNorm writes x / sqrt(mean(x²) + eps) · w into out (w may be nil for no
// scale; addOne uses (1 + w) as Gemma does). out and x may alias.
//
// The arithmetic is llama.cpp's (ggml's CPU rms_norm then mul), step for
// step: the float32 squares summed in float64 (the SIMD kernels sum them in
// another order, which can change the float32 mean only where the float64
// sum lies within ~1e-12 of a rounding boundary), the mean rounded to float32,
// scale = 1/sqrt(mean + eps) in float32 (square root, then division), then
// (x·scale)·w. Where activations are rounded to bfloat16 next (BF16
// weights, Mat.RoundBF16), a one-ulp difference here that straddles a
// bfloat16 rounding boundary becomes a difference of 2⁻⁸ in that
// activation: computing the same float32 values as llama.cpp avoids those.
func RMSNorm(out, x, w []float32, eps float32, addOne bool) {
	x = x[:len(out)]
	if w != nil {
		w = w[:len(out)]
	}
	mean := float32(sumSquaresF32(x) / float64(len(x)))
	scale := 1 / float32(math.Sqrt(float64(mean+eps)))
	if addOne && w != nil { // without weights addOne has nothing to add to (scaleMulF32: x·scale)
		for i, v := range x {
			out[i] = v * scale * (1 + w[i])
		}
		return
	}
	scaleMulF32(out, x, w, scale)
}

// sumSquaresGo returns Σ x[i]², each square rounded to float32 and the sum
// kept in float64 (as llama.cpp's rms_norm).
func sumSquaresGo(x []float32) float64 {
	var ss float64
	for _, v := range x {
		ss += float64(v * v)
	}
	return ss
}

// scaleMulGo sets out[i] = (x[i]·s)·w[i], or x[i]·s where w is nil.
func scaleMulGo(out, x, w []float32, s float32) {
	x = x[:len(out)]
	if w == nil {
		for i, v := range x {
			out[i] = v * s
		}
		return
	}
	w = w[:len(out)]
	for i, v := range x {
		out[i] = (v * s) * w[i]
	}
}

// LayerNorm writes (x - mean) / sqrt(var + eps) · w + b into out (w, b may be
// nil). out and x may alias.
func LayerNorm(out, x, w, b []float32, eps float32) {
	var sum float32
	for _, v := range x {
		sum += v
	}
	mean := sum / float32(len(x))
	var vs float32
	for _, v := range x {
		d := v - mean
		vs += d * d
	}
	inv := float32(1 / math.Sqrt(float64(vs/float32(len(x))+eps)))
	for i, v := range x {
		y := (v - mean) * inv
		if w != nil {
			y *= w[i]
		}
		if b != nil {
			y += b[i]
		}
		out[i] = y
	}
}

// Softmax normalizes x in place to probabilities (max-subtracted, float32
// accumulation in index order, exponentials by Exp).
func Softmax(x []float32) {
	if len(x) == 0 {
		return
	}
	m := x[0]
	for _, v := range x[1:] {
		if v > m {
			m = v
		}
	}
	var sum float32
	for i, v := range x {
		e := Exp(v - m)
		x[i] = e
		sum += e
	}
	inv := 1 / sum
	for i := range x {
		x[i] *= inv
	}
}

// SiLU applies x·sigmoid(x) in place: with AVX-512 sixteen at a time (the
// last under a mask), with AVX2 eight at a time and the elements past the
// last multiple of eight by Exp, in each case by the same exponential as
// Exp; under DisableSIMD by Exp itself. The paths agree within a few ulps.
func SiLU(x []float32) { siluF32(x, x) }

// SiLUTo writes x·sigmoid(x) of x into dst (which may be x).
func SiLUTo(dst, x []float32) { siluF32(dst, x[:len(dst)]) }

func siluGo(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] = v / (1 + Exp(-v))
	}
}

// GELUTanh applies the tanh approximation of GELU in place (GPT-2, Gemma).
func GELUTanh(x []float32) {
	const c = 0.7978845608028654 // sqrt(2/pi)
	for i, v := range x {
		x[i] = 0.5 * v * (1 + float32(math.Tanh(c*float64(v+0.044715*v*v*v))))
	}
}

// GELU applies the exact erf GELU in place (BERT).
func GELU(x []float32) {
	for i, v := range x {
		x[i] = 0.5 * v * (1 + float32(math.Erf(float64(v)/math.Sqrt2)))
	}
}

// GELUHalf applies GELU in place the way llama.cpp's CPU backend does: the
// input is rounded to half precision and looked up in a table of
// half-precision GELU values; inputs ≤ -10 give 0 and inputs ≥ 10 pass
// through. tanhApprox selects the tanh approximation (GPT-2, Gemma) or the
// exact erf GELU. Its results differ from GELUTanh/GELU by up to about 1e-3
// relative; it exists to reproduce llama.cpp's numbers.
func GELUHalf(x []float32, tanhApprox bool) {
	t := geluHalfTable(tanhApprox)
	for i, v := range x {
		switch {
		case v <= -10:
			x[i] = 0
		case v >= 10:
		default:
			x[i] = t[f32ToF16(v)]
		}
	}
}

// geluHalfTables are GELUHalf's tables, built on first use: entry h is GELU
// of the half-precision number h, rounded to half precision.
var geluHalfTables = [2]func() *[1 << 16]float32{
	sync.OnceValue(func() *[1 << 16]float32 { return buildGELUHalf(false) }),
	sync.OnceValue(func() *[1 << 16]float32 { return buildGELUHalf(true) }),
}

func geluHalfTable(tanhApprox bool) *[1 << 16]float32 {
	if tanhApprox {
		return geluHalfTables[1]()
	}
	return geluHalfTables[0]()
}

func buildGELUHalf(tanhApprox bool) *[1 << 16]float32 {
	t := new([1 << 16]float32)
	v := make([]float32, 1)
	for h := range t {
		v[0] = f16ToF32(uint16(h))
		if tanhApprox {
			GELUTanh(v)
		} else {
			GELU(v)
		}
		t[h] = f16ToF32(f32ToF16(v[0]))
	}
	return t
}

// Add writes a + b into out element-wise. out may alias a or b.
func Add(out, a, b []float32) { addF32(out, a[:len(out)], b[:len(out)]) }

func addGo(out, a, b []float32) {
	for i := range out {
		out[i] = a[i] + b[i]
	}
}

// Mul writes a · b into out element-wise. out may alias a or b.
func Mul(out, a, b []float32) { mulF32(out, a[:len(out)], b[:len(out)]) }

func mulGo(out, a, b []float32) {
	for i := range out {
		out[i] = a[i] * b[i]
	}
}

// Scale multiplies x by s in place.
func Scale(x []float32, s float32) { scaleMulF32(x, x, nil, s) }

// ScaleMax multiplies x by s in place and returns the largest of m and the
// scaled elements (NaN if any of them is NaN): attention's scaled scores
// and their running maximum in one pass.
func ScaleMax(x []float32, s, m float32) float32 { return scaleMaxF32(x, s, m) }

// scaleMaxGo is the reference ScaleMax.
func scaleMaxGo(x []float32, s, m float32) float32 {
	for i, v := range x {
		v *= s
		x[i] = v
		m = max(m, v)
	}
	return m
}

// RoPEFreqs fills freqs[i] = base^(-2i/dims) / factor[i] for the rotated
// pairs of one head (len(freqs) = dims/2). factors may be nil (all 1).
func RoPEFreqs(freqs []float32, dims int, base float64, factors []float32) {
	for i := range freqs {
		f := math.Pow(base, -float64(2*i)/float64(dims))
		if factors != nil {
			f /= float64(factors[i])
		}
		freqs[i] = float32(f)
	}
}

// RoPEAngles fills cs with the cosines (cs[:len(freqs)]) and sines
// (cs[len(freqs):2·len(freqs)]) of the angles pos·freqs[i] of one position
// (see RoPEFreqs), computed in float64 and rounded to float32. They depend
// on the position only, so a forward pass computes them once per token
// for all heads and layers.
func RoPEAngles(cs []float32, pos int, freqs []float32) {
	half := len(freqs)
	cs = cs[:2*half]
	p := float64(pos)
	for i, f := range freqs {
		s, c := math.Sincos(p * float64(f))
		cs[i], cs[half+i] = float32(c), float32(s)
	}
}

// RoPEPairTable expands one position's angles cs (RoPEAngles: dims/2
// cosines, then dims/2 sines) into tab (2·dims) for RoPEPairs: the cosines
// twice each, then the sines as −sin, +sin.
func RoPEPairTable(tab, cs []float32) {
	half := len(cs) / 2
	tab = tab[:4*half]
	for i := range half {
		c, s := cs[i], cs[half+i]
		tab[2*i], tab[2*i+1] = c, c
		tab[2*half+2*i], tab[2*half+2*i+1] = -s, s
	}
}

// RoPEPairs rotates the first len(tab)/2 elements of x into dst as
// RoPE(head, cs, neox, true, tmp) does in place (interleaved output, the
// same roundings), with tab from RoPEPairTable(tab, cs). With neox, dst
// must not overlap x.
func RoPEPairs(dst, x, tab []float32, neox bool) {
	dims := len(tab) / 2
	ropePairsF32(dst[:dims], x[:dims], tab[:2*dims], neox)
}

// ropePairsGo is the reference RoPEPairs: RoPE's Go loop reading the
// angles from the pair table.
func ropePairsGo(dst, x, tab []float32, neox bool) {
	dims := len(dst)
	half := dims / 2
	for i := range half {
		cos, sin := tab[2*i], tab[dims+2*i+1]
		x0, x1 := x[2*i], x[2*i+1]
		if neox {
			x0, x1 = x[i], x[i+half]
		}
		dst[2*i] = x0*cos - x1*sin
		dst[2*i+1] = x0*sin + x1*cos
	}
}

// RoPE rotates one head in place by the angles cs of RoPEAngles (dims/2
// cosines, then dims/2 sines); dims ≤ len(head) elements are rotated, the
// rest pass through.
//
// Adjacent-pair ("normal", GPT-J, the GGUF Llama layout) rotates pairs
// (2i, 2i+1). Half-split ("NeoX", Hugging Face rotate_half) rotates pairs
// (i, i+dims/2); with interleaveOut the rotated pair is stored at (2i, 2i+1),
// which turns a Hugging Face head into exactly the GGUF layout, so both
// checkpoint formats feed identical vectors to attention.
func RoPE(head []float32, cs []float32, neox, interleaveOut bool, tmp []float32) {
	half := len(cs) / 2
	cos, sin := cs[:half], cs[half:2*half]
	if !neox {
		for i := 0; i < half; i++ {
			x0, x1 := head[2*i], head[2*i+1]
			head[2*i] = x0*cos[i] - x1*sin[i]
			head[2*i+1] = x0*sin[i] + x1*cos[i]
		}
		return
	}
	if interleaveOut {
		copy(tmp[:2*half], head[:2*half])
		for i := 0; i < half; i++ {
			x0, x1 := tmp[i], tmp[i+half]
			head[2*i] = x0*cos[i] - x1*sin[i]
			head[2*i+1] = x0*sin[i] + x1*cos[i]
		}
		return
	}
	for i := 0; i < half; i++ {
		x0, x1 := head[i], head[i+half]
		head[i] = x0*cos[i] - x1*sin[i]
		head[i+half] = x0*sin[i] + x1*cos[i]
	}
}

// Dot returns Σ a[i]·b[i] in float32 (len(b) ≥ len(a)), with the SIMD
// kernels when the CPU has them; the summation order is unspecified.
func Dot(a, b []float32) float32 { return dotF32(a, b) }

// AXPY adds a·x to y (len(x) ≥ len(y)), with the SIMD kernels when the CPU
// has them.
func AXPY(y []float32, a float32, x []float32) { axpyF32(y, a, x) }
