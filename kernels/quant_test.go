package kernels

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/goformer/goformer/weights"
)

func TestHalfConversions(t *testing.T) {
	cases := []struct {
		f float32
		h uint16
	}{
		{0, 0}, {1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {1e6, 0x7c00}, {-1e6, 0xfc00},
		{float32(math.Inf(1)), 0x7c00}, {5.960464477539063e-08, 0x0001}, {6.103515625e-05, 0x0400},
		{0.333251953125, 0x3555}, {2.98e-08, 0}, {2.99e-08, 1}, {1.00048828125, 0x3c00}, {1.00146484375, 0x3c02},
	}
	for _, c := range cases {
		if got := f32ToF16(c.f); got != c.h {
			t.Errorf("f32ToF16(%g) = %#x, want %#x", c.f, got, c.h)
		}
	}
	// Every finite half round-trips exactly.
	for h := 0; h < 1<<16; h++ {
		f := f16ToF32(uint16(h))
		if f != f {
			if f32ToF16(f)&0x7c00 != 0x7c00 {
				t.Fatalf("NaN %#x not preserved", h)
			}
			continue
		}
		if g := f32ToF16(f); g != uint16(h) {
			t.Fatalf("half %#x -> %g -> %#x", h, f, g)
		}
	}
	// Rounding is to nearest against a float64 computation.
	rng := rand.New(rand.NewPCG(5, 6))
	for range 100000 {
		f := float32(rng.NormFloat64() * math.Pow(2, float64(rng.IntN(40)-25)))
		h := f32ToF16(f)
		got := float64(f16ToF32(h))
		for _, nb := range []uint16{h - 1, h + 1} {
			if nb&0x7c00 == 0x7c00 {
				continue
			}
			if math.Abs(float64(f16ToF32(nb))-float64(f)) < math.Abs(got-float64(f)) {
				t.Fatalf("f32ToF16(%g) = %#x, %#x is nearer", f, h, nb)
			}
		}
	}
	if bf := f32ToBF16(1.00390625); bf != 0x3f80 { // tie to even
		t.Errorf("bf16 tie: %#x", bf)
	}
	if bf := f32ToBF16(1.01171875); bf != 0x3f82 {
		t.Errorf("bf16 tie up: %#x", bf)
	}
	if bf := f32ToBF16(float32(math.NaN())); bf16ToF32(bf) == bf16ToF32(bf) {
		t.Errorf("bf16 NaN lost")
	}
}

// quantBound is the largest error Quantize→Dequantize may make on N(0,1)
// data, relative to the block's max |x|.
func quantBound(t weights.DType) float64 {
	switch t {
	case weights.F32:
		return 0
	case weights.F16:
		return 1.0 / 2048
	case weights.BF16:
		return 1.0 / 256
	case weights.Q8_0:
		return 0.5/127 + 1e-3
	case weights.Q4_0:
		return 1.0/8 + 1e-3 // the far end of the range may clamp
	case weights.Q4_K:
		return 0.15 // least-squares fits trade the extremes for a lower RMS
	case weights.Q6_K:
		return 0.04
	}
	return 0
}

// rmsBound is the relative RMS error allowed on N(0,σ²) data.
var rmsBound = map[weights.DType]float64{
	weights.F32: 0, weights.F16: 3e-4, weights.BF16: 2.5e-3,
	weights.Q8_0: 0.006, weights.Q4_0: 0.095, weights.Q4_K: 0.08, weights.Q6_K: 0.02,
}

func TestQuantizeRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, typ := range allTypes {
		if !Supported(typ) {
			continue
		}
		be := typ.BlockElems()
		n := 1024
		if be == 1 {
			n = 1001
		}
		for _, scale := range []float64{1e-3, 1, 300} {
			x := randVec(rng, n, scale)
			data, err := Quantize(typ, x)
			if err != nil {
				t.Fatal(err)
			}
			if want, _ := typ.Bytes(int64(n)); int64(len(data)) != want {
				t.Fatalf("%v: %d bytes, want %d", typ, len(data), want)
			}
			y := Dequantize(typ, data, n)
			blk := max(be, 32)
			var se, sx float64
			for b := 0; b < n; b += blk {
				amax := 0.0
				for _, v := range x[b:min(n, b+blk)] {
					amax = math.Max(amax, math.Abs(float64(v)))
				}
				for i := b; i < min(n, b+blk); i++ {
					d := math.Abs(float64(x[i]) - float64(y[i]))
					lim := quantBound(typ) * amax
					if be == 1 {
						lim = quantBound(typ) * math.Abs(float64(x[i]))
						if typ == weights.F16 {
							lim = math.Max(lim, 0x1p-25) // subnormal spacing
						}
					}
					if d > lim*1.0001 {
						t.Fatalf("%v scale %g: x[%d]=%g -> %g (err %g > %g)", typ, scale, i, x[i], y[i], d, lim)
					}
					se += d * d
					sx += float64(x[i]) * float64(x[i])
				}
			}
			rms := math.Sqrt(se / sx)
			t.Logf("%v scale %g: relative RMS error %.4g", typ, scale, rms)
			if lim := rmsBound[typ]; rms > lim {
				t.Errorf("%v scale %g: relative RMS error %.4g > %.4g", typ, scale, rms, lim)
			}
		}
		// Zeros stay zeros.
		z, err := Quantize(typ, make([]float32, max(be, 32)))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range Dequantize(typ, z, max(be, 32)) {
			if v != 0 {
				t.Fatalf("%v: zero block dequantizes to %g", typ, v)
			}
		}
	}
	// Values so small that the f16 scales underflow never decode to
	// something worse than zeros.
	for _, typ := range allTypes {
		x := randVec(rng, 1024, 1e-6)
		data, _ := Quantize(typ, x)
		y := Dequantize(typ, data, len(x))
		var se, sx float64
		for i := range x {
			se += (float64(y[i]) - float64(x[i])) * (float64(y[i]) - float64(x[i]))
			sx += float64(x[i]) * float64(x[i])
		}
		if se > sx*1.0001 {
			t.Errorf("%v: tiny values: relative RMS error %g > 1", typ, math.Sqrt(se/sx))
		}
	}
	if _, err := Quantize(weights.Q8_0, make([]float32, 33)); err == nil {
		t.Error("Q8_0 of 33 elements: no error")
	}
	if _, err := Quantize(weights.Q5_K, make([]float32, 256)); err == nil {
		t.Error("Q5_K: no error")
	}
}

// The 8-bit activations are quantized as llama.cpp quantizes them (peer
// tests compare the whole models): 32-element blocks with the scale
// amax/127 rounded to float16, 256-element blocks with the scale 1/(−127/m),
// m the first value of largest magnitude (negative when m is positive).
func TestActivationQuantizationAsLlamaCpp(t *testing.T) {
	x := make([]float32, 256)
	for i := range x {
		x[i] = float32(i%7) * 0.1
	}
	x[3], x[40] = 2, -2 // the first of largest magnitude is positive
	var b blockQ8
	d := quantBlock32(b.qs[:], x[:32])
	if want := f16ToF32(f32ToF16(2.0 / 127)); d != want || d == 2.0/127 {
		t.Errorf("Q8_0 block scale %g, want the float16 %g", d, want)
	}
	if b.qs[3] != 127 {
		t.Errorf("Q8_0 block: q[3] = %d, want 127", b.qs[3])
	}
	var k blockQ8K
	dk := quantBlockK(k.qs[:], x)
	if is := float32(-127.0 / 2); dk != 1/is {
		t.Errorf("Q8_K block scale %g, want %g", dk, 1/is)
	}
	if k.qs[3] != -127 || k.qs[40] != 127 {
		t.Errorf("Q8_K block: q[3], q[40] = %d, %d, want -127, 127", k.qs[3], k.qs[40])
	}
	for i, q := range k.qs {
		if want := float64(x[i]) / float64(dk); math.Abs(float64(q)-want) > 0.5+1e-4 {
			t.Fatalf("Q8_K block: q[%d] = %d, x/d = %g", i, q, want)
		}
	}
}

// quantTestVec returns nb blocks of bs random values at the given scale
// for the activation quantizer tests, with block 3 all +0, block 5 all −0
// and block 7 values whose scaled forms round halfway (amax 2, the first of
// that magnitude −2).
func quantTestVec(rng *rand.Rand, bs, nb int, scale float64) []float32 {
	x := randVec(rng, bs*nb, scale)
	clear(x[bs*3 : bs*4])
	for i := bs * 5; i < bs*6; i++ {
		x[i] = float32(math.Copysign(0, -1))
	}
	for i := bs * 7; i < bs*8; i++ {
		x[i] = float32(i%5) - 2
	}
	return x
}

// quantTestScales are the scales of quantTestVec's random values: from
// float16 subnormal to overflowing float16.
var quantTestScales = []float64{1e-9, 3e-7, 1e-3, 1, 250, 1e6, 1e9}

// Every kernel set's activation quantizer (quantQ8) equals the plain-Go
// one bit for bit on quantTestVec's blocks.
func TestQuantQ8Kernels(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, k *kernelSet) {
		rng := rand.New(rand.NewPCG(71, 72))
		const nb = 64
		for _, scale := range quantTestScales {
			x := quantTestVec(rng, 32, nb, scale)
			got, want := make([]blockQ8, nb), make([]blockQ8, nb)
			k.quantQ8(got, x)
			quantizeQ8ActGo(want, x)
			for b := range nb {
				g, w := got[b], want[b]
				if math.Float32bits(g.d) != math.Float32bits(w.d) || g.sum != w.sum || g.qs != w.qs {
					t.Fatalf("scale %g block %d: d %g sum %d qs %v, plain Go d %g sum %d qs %v", scale, b, g.d, g.sum, g.qs, w.d, w.sum, w.qs)
				}
			}
		}
	})
}

// Every kernel set's activation quantizer for K-quant weights (quantQ8K)
// equals the plain-Go one bit for bit on quantTestVec's blocks and blocks
// whose first value of the largest magnitude is not the largest value, is
// the last, or has an opposite twin, and blocks whose sums reach ±2032.
func TestQuantQ8KKernels(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, k *kernelSet) {
		rng := rand.New(rand.NewPCG(73, 74))
		const nb = 24
		for _, scale := range quantTestScales {
			x := quantTestVec(rng, 256, nb, scale)
			for i := 256 * 9; i < 256*10; i++ {
				x[i] = float32(i%7) - 3 // the first of magnitude amax is −3, the last +3
			}
			x[256*11+255] = -1e4 * float32(scale) // the largest is the block's last
			x[256*12+17] = 1e4 * float32(scale)
			x[256*12+200] = -1e4 * float32(scale) // two of magnitude amax, opposite signs
			for i := 256 * 13; i < 256*14; i++ {
				x[i] = float32(scale) // all quantized to −127
				x[i+256] = -float32(scale)
			}
			got, want := make([]blockQ8K, nb), make([]blockQ8K, nb)
			k.quantQ8K(got, x)
			quantizeQ8KActGo(want, x)
			for b := range nb {
				g, w := got[b], want[b]
				if math.Float32bits(g.d) != math.Float32bits(w.d) || g.qs != w.qs || g.bsum16 != w.bsum16 || g.bsum32 != w.bsum32 {
					t.Fatalf("scale %g block %d: d %g bsum16 %v bsum32 %v, plain Go d %g bsum16 %v bsum32 %v (qs equal: %v)", scale, b, g.d, g.bsum16, g.bsum32, w.d, w.bsum16, w.bsum32, g.qs == w.qs)
				}
			}
		}
	})
}

// Every kernel set's packer of activations for the Q8_0 tile and decoding
// kernels (packQ8) equals the plain-Go one byte for byte on quantTestVec's
// blocks, for even and odd block counts.
func TestPackQ8Kernels(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, k *kernelSet) {
		rng := rand.New(rand.NewPCG(75, 76))
		for _, nb := range []int{1, 2, 9, 16, 28, 29} {
			for _, scale := range quantTestScales {
				x := quantTestVec(rng, 32, max(nb, 8), scale)[:32*nb]
				size := (nb + 1) / 2 * q8PairBytes
				got, want := make([]byte, size), make([]byte, size)
				for i := range got {
					got[i], want[i] = 0x5a, 0xa5 // both must write every byte
				}
				k.packQ8(got, x)
				packQ8ActGo(want, x)
				if !bytes.Equal(got, want) {
					for i := range got {
						if got[i] != want[i] {
							t.Fatalf("nb=%d scale %g: byte %d (pair %d, offset %d) = %#x, plain Go %#x", nb, scale, i, i/q8PairBytes, i%q8PairBytes, got[i], want[i])
						}
					}
				}
			}
		}
	})
}
