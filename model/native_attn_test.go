package model

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/goformer/goformer/kernels"
)

// refAttention is plain causal softmax attention in float64 over the cache
// rows [start, end] of one sequence (the definition the tiled, online-softmax
// native attention must match).
func refAttention(q []float32, keys, vals [][]float32, scale, softCap float64) []float64 {
	s := make([]float64, len(keys))
	m := math.Inf(-1)
	for t, k := range keys {
		var d float64
		for c := range q {
			d += float64(q[c]) * float64(k[c])
		}
		d *= scale
		if softCap > 0 {
			d = softCap * math.Tanh(d/softCap)
		}
		s[t] = d
		m = max(m, d)
	}
	var sum float64
	for t := range s {
		s[t] = math.Exp(s[t] - m)
		sum += s[t]
	}
	out := make([]float64, len(q))
	for t, v := range vals {
		for c := range out {
			out[c] += s[t] / sum * float64(v[c])
		}
	}
	return out
}

func randTensor(rng *rand.Rand, rows, cols int, scale float64) *nativeTensor {
	t := &nativeTensor{rows: rows, cols: cols, d: make([]float32, rows*cols)}
	for i := range t.d {
		t.d[i] = float32(rng.NormFloat64() * scale)
	}
	return t
}

// attnCase is an attention shape for TestNativeAttentionMatchesReference.
type attnCase struct {
	name                    string
	heads, kvHeads, headDim int
	window                  int
	softCap                 float32
	prompt, decode, seqs    int
}

func TestNativeAttentionMatchesReference(t *testing.T) {
	cases := []attnCase{
		{name: "gqa", heads: 14, kvHeads: 2, headDim: 64, prompt: 300, decode: 3, seqs: 1},
		{name: "mha-odd-dim", heads: 3, kvHeads: 3, headDim: 20, prompt: 129, decode: 2, seqs: 2},
		{name: "window-softcap", heads: 4, kvHeads: 2, headDim: 16, window: 37, softCap: 5, prompt: 200, decode: 2, seqs: 1},
		{name: "wide-head", heads: 2, kvHeads: 1, headDim: 288, prompt: 20, decode: 2, seqs: 1}, // one head at a time
	}
	for _, c := range cases {
		testNativeAttention(t, c, false)
		testNativeAttention(t, c, true)
	}
}

// testNativeAttention runs one case of TestNativeAttentionMatchesReference;
// with f16 the cache holds float16 keys and values, and the reference
// attends over the same keys and values rounded to float16.
func testNativeAttention(t *testing.T, c attnCase, f16 bool) {
	name := c.name
	if f16 {
		name += "/f16-cache"
	}
	t.Run(name, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, uint64(c.heads)))
		n := NewNative(2)
		n.F16Cache = f16
		defer n.Close()
		ctxLen := c.prompt + c.decode
		kvDim := c.kvHeads * c.headDim
		cache, err := n.NewCache(CacheSpec{Layers: 1, Context: ctxLen, KVDim: kvDim, KVHeads: c.kvHeads, HeadDim: c.headDim, Sequences: c.seqs})
		if err != nil {
			t.Fatal(err)
		}
		at := Attention{Heads: c.heads, KVHeads: c.kvHeads, HeadDim: c.headDim, Scale: float32(1 / math.Sqrt(float64(c.headDim))), Window: c.window, SoftCap: c.softCap}
		// history[s][p] = key and value rows of sequence s at position p.
		keys := make([][][]float32, c.seqs)
		vals := make([][][]float32, c.seqs)
		step := func(b *Batch) {
			rows := len(b.Tokens)
			q := randTensor(rng, rows, c.heads*c.headDim, 1)
			k := randTensor(rng, rows, kvDim, 1)
			v := randTensor(rng, rows, kvDim, 1)
			for i := range rows {
				s := b.Seq(i)
				kr, vr := k.row(i), v.row(i)
				if f16 {
					kr, vr = roundF16(kr), roundF16(vr)
				}
				keys[s] = append(keys[s], kr)
				vals[s] = append(vals[s], vr)
			}
			got, err := n.Forward(cache, b, func(o Ops) Tensor { return o.Attention(0, q, k, v, at) })
			if err != nil {
				t.Fatal(err)
			}
			for i := range rows {
				s, p := b.Seq(i), b.Positions[i]
				start := 0
				if c.window > 0 {
					start = max(0, p-c.window+1)
				}
				for h := range c.heads {
					g := h / (c.heads / c.kvHeads)
					var ks, vs [][]float32
					for tp := start; tp <= p; tp++ {
						ks = append(ks, keys[s][tp][g*c.headDim:(g+1)*c.headDim])
						vs = append(vs, vals[s][tp][g*c.headDim:(g+1)*c.headDim])
					}
					want := refAttention(q.row(i)[h*c.headDim:(h+1)*c.headDim], ks, vs, float64(at.Scale), float64(c.softCap))
					for d, w := range want {
						g := got[i*c.heads*c.headDim+h*c.headDim+d]
						if math.Abs(float64(g)-w) > 1e-5*(1+math.Abs(w)) {
							t.Fatalf("token %d (seq %d pos %d) head %d [%d]: %g, want %g", i, s, p, h, d, g, w)
						}
					}
				}
			}
		}
		// Prefill every sequence in one batch, interleaved, then decode.
		b := &Batch{}
		for p := range c.prompt {
			for s := range c.seqs {
				b.Tokens = append(b.Tokens, 0)
				b.Positions = append(b.Positions, p)
				b.Seqs = append(b.Seqs, s)
			}
		}
		step(b)
		for p := c.prompt; p < ctxLen; p++ {
			for s := range c.seqs {
				step(&Batch{Tokens: []int{0}, Positions: []int{p}, Seqs: []int{s}})
			}
		}
	})
}

// roundF16 returns x's values rounded to float16.
func roundF16(x []float32) []float32 {
	h := make([]uint16, len(x))
	kernels.F32ToF16(h, x)
	r := make([]float32, len(x))
	kernels.F16ToF32(r, h)
	return r
}

// TestNativeAttentionDecodeNoAlloc checks that one decoding step of
// attention over the KV cache allocates nothing.
func TestNativeAttentionDecodeNoAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector (sync.Pool drops items)")
	}
	for _, f16 := range []bool{false, true} {
		testAttentionNoAlloc(t, f16)
	}
}

func testAttentionNoAlloc(t *testing.T, f16 bool) {
	n := NewNative(2)
	n.F16Cache = f16
	defer n.Close()
	const heads, kvHeads, hd, ctxLen = 14, 2, 64, 512
	cache, err := n.NewCache(CacheSpec{Layers: 2, Context: ctxLen, KVDim: kvHeads * hd, KVHeads: kvHeads, HeadDim: hd})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	q := randTensor(rng, 1, heads*hd, 1)
	k := randTensor(rng, 1, kvHeads*hd, 1)
	v := randTensor(rng, 1, kvHeads*hd, 1)
	at := Attention{Heads: heads, KVHeads: kvHeads, HeadDim: hd, Scale: 0.125}
	b := &Batch{Tokens: []int{0}, Positions: []int{400}}
	o := &n.ops
	o.batch, o.cache = b, cache.(*nativeCache)
	defer func() { o.batch, o.cache = nil, nil }()
	step := func() {
		n.ar.reset()
		o.Attention(0, q, k, v, at)
		o.Attention(1, q, k, v, at)
	}
	step()
	if a := testing.AllocsPerRun(50, step); a != 0 {
		t.Fatalf("attention (f16 cache %v) allocates %v times per decoding step", f16, a)
	}
}

// BenchmarkNativeAttention times attention at qwen2.5-0.5b's shape (14
// query heads over 2 kv heads) and llama3.2-1b's (32 over 8): one decoding
// step at positions 64 and 1023, and a 512-token prefill, with a float32
// and a float16 cache.
func BenchmarkNativeAttention(b *testing.B) {
	for _, sh := range []struct {
		name               string
		heads, kvHeads, hd int
		f16                bool
	}{{"qwen2.5-0.5b", 14, 2, 64, false}, {"llama3.2-1b", 32, 8, 64, false}, {"qwen2.5-0.5b-f16cache", 14, 2, 64, true}, {"llama3.2-1b-f16cache", 32, 8, 64, true}} {
		b.Run(sh.name, func(b *testing.B) {
			const ctxLen = 1024
			n := NewNative(2)
			n.F16Cache = sh.f16
			defer n.Close()
			cache, err := n.NewCache(CacheSpec{Layers: 1, Context: ctxLen, KVDim: sh.kvHeads * sh.hd, KVHeads: sh.kvHeads, HeadDim: sh.hd})
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 1))
			at := Attention{Heads: sh.heads, KVHeads: sh.kvHeads, HeadDim: sh.hd, Scale: 0.125}
			run := func(b *testing.B, rows, pos0 int) {
				q := randTensor(rng, rows, sh.heads*sh.hd, 1)
				k := randTensor(rng, rows, sh.kvHeads*sh.hd, 1)
				v := randTensor(rng, rows, sh.kvHeads*sh.hd, 1)
				batch := &Batch{Tokens: make([]int, rows), Positions: make([]int, rows)}
				for i := range rows {
					batch.Positions[i] = pos0 + i
				}
				o := &n.ops
				o.batch, o.cache = batch, cache.(*nativeCache)
				for b.Loop() {
					n.ar.reset()
					o.Attention(0, q, k, v, at)
				}
				o.batch, o.cache = nil, nil
			}
			b.Run("decode@64", func(b *testing.B) { run(b, 1, 64) })
			b.Run("decode@1023", func(b *testing.B) { run(b, 1, ctxLen-1) })
			b.Run("prefill512", func(b *testing.B) { run(b, 512, 0) })
		})
	}
}

// TestNativeAttentionPrefillMemory checks that prefill attention needs no
// memory that grows with the context: a 2048-token prefill allocates
// nothing on the heap once warm (scores are kept one key tile at a time).
func TestNativeAttentionPrefillMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	n := NewNative(2)
	defer n.Close()
	const heads, kvHeads, hd, rows = 4, 1, 32, 2048
	cache, err := n.NewCache(CacheSpec{Layers: 1, Context: rows, KVDim: kvHeads * hd, KVHeads: kvHeads, HeadDim: hd})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2, 2))
	q := randTensor(rng, rows, heads*hd, 1)
	k := randTensor(rng, rows, kvHeads*hd, 1)
	v := randTensor(rng, rows, kvHeads*hd, 1)
	b := &Batch{Tokens: make([]int, rows), Positions: make([]int, rows)}
	for i := range rows {
		b.Positions[i] = i
	}
	o := &n.ops
	o.batch, o.cache = b, cache.(*nativeCache)
	defer func() { o.batch, o.cache = nil, nil }()
	step := func() {
		n.ar.reset()
		o.Attention(0, q, k, v, Attention{Heads: heads, KVHeads: kvHeads, HeadDim: hd, Scale: 0.2})
	}
	step()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	step()
	runtime.ReadMemStats(&after)
	// A rows×rows score matrix would be 16 MiB; allow a few scratch blocks
	// (a GC may empty the scratch pool).
	if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
		t.Fatalf("a %d-token prefill allocated %d bytes", rows, d)
	}
}
