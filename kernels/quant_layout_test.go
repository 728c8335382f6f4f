package kernels

import (
	"math"
	"testing"

	"github.com/goformer/goformer/weights"
)

// Known-answer tests: blocks built byte by byte from the GGUF layout, with
// the expected values worked out by hand, so that a layout mistake in the
// encoder, the decoder or a dot-product kernel fails here.

type knownBlock struct {
	typ  weights.DType
	data []byte
	want map[int]float32 // element index → value
}

func knownBlocks() []knownBlock {
	var ks []knownBlock

	// Q8_0: d = 0.5, q[j] = j-16; second block d = -2, q[0] = -128.
	q8 := make([]byte, 2*34)
	q8[0], q8[1] = 0x00, 0x38
	for j := range 32 {
		q8[2+j] = byte(int8(j - 16))
	}
	q8[34], q8[35] = 0x00, 0xc0
	q8[36] = 0x80
	ks = append(ks, knownBlock{weights.Q8_0, q8, map[int]float32{0: -8, 16: 0, 31: 7.5, 32: 256, 33: 0}})

	// Q4_0: d = 2; qs[0] = 0x1f (element 0 = 15-8, element 16 = 1-8);
	// qs[15] = 0x80 (element 15 = 0-8, element 31 = 8-8); the rest 0x88.
	q4 := make([]byte, 18)
	q4[0], q4[1] = 0x00, 0x40
	for j := range 16 {
		q4[2+j] = 0x88
	}
	q4[2], q4[17] = 0x1f, 0x80
	ks = append(ks, knownBlock{weights.Q4_0, q4, map[int]float32{0: 14, 16: -14, 15: -16, 31: 0, 5: 0}})

	// Q4_K: d = 1, dmin = 0.5, sc = [1 2 3 4 17 33 50 63], m = [5 6 7 8 20 40 60 63]
	// packed by hand into the 12 scale bytes.
	qk := make([]byte, 144)
	qk[0], qk[1], qk[2], qk[3] = 0x00, 0x3c, 0x00, 0x38
	copy(qk[4:16], []byte{65, 130, 195, 196, 69, 134, 199, 200, 65, 129, 194, 255})
	qk[16+0] = 0x3a   // element 0 (sub-block 0) = 10, element 32 (sub-block 1) = 3
	qk[16+127] = 0xf7 // element 223 (sub-block 6) = 7, element 255 (sub-block 7) = 15
	ks = append(ks, knownBlock{weights.Q4_K, qk, map[int]float32{
		0:   1*1*10 - 0.5*5,
		32:  1*2*3 - 0.5*6,
		1:   -0.5 * 5,
		100: -0.5 * 8, // sub-block 3 (m = 8), q = 0
		70:  -0.5 * 7, // sub-block 2
		128: -0.5 * 20,
		160: -0.5 * 40,
		223: 50*7 - 0.5*60,
		255: 63*15 - 0.5*63,
	}})

	// Q6_K: d = 0.25, sc[k] = k-8, all q = 0 (value 0.25·sc·(-32)) except:
	// e=0 q=63; e=37 q=37; e=71 q=16; e=255 q=50.
	q6 := make([]byte, 210)
	for k := range 16 {
		q6[192+k] = byte(int8(k - 8))
	}
	q6[208], q6[209] = 0x00, 0x34
	q6[0] |= 0x0f        // e=0: h=0 g=0 l=0: low nibble of ql[0]
	q6[128+0] |= 3       // … high bits in qh[0] bits 0-1
	q6[37] |= 0x05       // e=37: g=1 l=5: low nibble of ql[32+5]
	q6[128+5] |= 2 << 2  // … qh[5] bits 2-3
	q6[128+7] |= 1 << 4  // e=71: g=2 l=7: high nibble of ql[7] = 0, qh[7] bits 4-5 = 1
	q6[127] |= 0x20      // e=255: h=1 g=3 l=31: high nibble of ql[64+32+31] = 2
	q6[128+63] |= 3 << 6 // … qh[32+31] bits 6-7 = 3
	ks = append(ks, knownBlock{weights.Q6_K, q6, map[int]float32{
		0:   0.25 * -8 * 31,
		37:  0.25 * -6 * 5,
		71:  0.25 * -4 * -16,
		255: 0.25 * 7 * 18,
		146: 0.25 * 1 * -32,
		129: 0,
		1:   0.25 * -8 * -32,
	}})
	return ks
}

func TestKnownBlocks(t *testing.T) {
	for _, k := range knownBlocks() {
		n := len(k.data) / k.typ.BlockBytes() * k.typ.BlockElems()
		got := Dequantize(k.typ, k.data, n)
		for e, want := range k.want {
			if got[e] != want {
				t.Errorf("%v: element %d = %g, want %g", k.typ, e, got[e], want)
			}
		}
		// Every kernel path recovers each element with a one-hot input (to
		// 2⁻¹¹ where the 8-bit activations of 32-element blocks carry their
		// scale 1/127 as float16, as llama.cpp's do).
		w := Mat{Type: k.typ, Rows: 1, Cols: n, Data: k.data}
		forEachPath(t, func(t *testing.T, path string, q8 bool) {
			tol := 1e-6
			if q8 && k.typ.BlockElems() == 32 {
				tol = 0x1p-11
			}
			x := make([]float32, n)
			out := make([]float32, 1)
			for e := range n {
				x[e] = 1
				MatVec(nil, out, w, x)
				x[e] = 0
				if math.Abs(float64(out[0]-got[e])) > tol*math.Abs(float64(got[e])) {
					t.Fatalf("%v %s: one-hot %d gives %g, want %g", k.typ, path, e, out[0], got[e])
				}
			}
		})
		// Re-encoding the decoded values reproduces them.
		re, err := Quantize(k.typ, got)
		if err != nil {
			t.Fatal(err)
		}
		back := Dequantize(k.typ, re, n)
		for e := range n {
			if d := math.Abs(float64(back[e] - got[e])); d > 0.04*maxAbs(got) {
				t.Fatalf("%v: re-encode element %d: %g -> %g", k.typ, e, got[e], back[e])
			}
		}
	}
}

func maxAbs(v []float32) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, math.Abs(float64(x)))
	}
	return m
}

// TestQ4KScalePacking checks every scale/min value in every position.
func TestQ4KScalePacking(t *testing.T) {
	for v := range 64 {
		for j := range 8 {
			var sc, m [8]uint8
			sc[j], m[(j+3)%8] = uint8(v), uint8(63-v)
			var s [12]byte
			q4KPackScales(s[:], sc, m)
			gs, gm := q4KScales(s[:])
			if gs != sc || gm != m {
				t.Fatalf("v=%d j=%d: %v %v -> %v %v", v, j, sc, m, gs, gm)
			}
		}
	}
}

// TestDequantizeRowPanics checks the length checks.
func TestDequantizeRowPanics(t *testing.T) {
	for i, f := range []func(){
		func() { DequantizeRow(make([]float32, 32), weights.Q8_0, make([]byte, 33)) },
		func() { DequantizeRow(make([]float32, 31), weights.Q8_0, make([]byte, 34)) },
		func() { DequantizeRow(make([]float32, 1), weights.I8, make([]byte, 1)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("case %d: no panic", i)
				}
			}()
			f()
		}()
	}
}
