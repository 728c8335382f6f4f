package model

import (
	"math"
	"sync"

	"github.com/goformer/goformer/kernels"
)

// attnTile is how many keys the native attention scores at a time: each
// query head keeps a running maximum, normalizer and weighted sum of values
// over the tiles (online softmax), so the scratch space is one tile whatever
// the context length.
const attnTile = 128

// attnJob is the state of one Attention call, read by its pool chunks. It
// lives in nativeOps and is reused, with its loop body bound once, so
// attention does not allocate per token.
type attnJob struct {
	q, out *nativeTensor
	kv     attnKV // the layer's cache
	ctx    int    // cache positions per sequence
	at     Attention
	batch  *Batch
	last   []int // non-causal: highest batch position of each sequence; nil when causal
	run    func(lo, hi int)
	// scratch holds *attnScratch, one per running chunk.
	scratch sync.Pool
}

// attnKV is one layer's keys and values: k and v in a float32 cache, k16
// and v16 (float16) in a float16 one (see nativeCache for the layout).
type attnKV struct {
	k, v     []float32
	k16, v16 []uint16
}

// rows returns n keys' and values' rows of hd from element off on, as
// float32: the cache itself, or the float16 cache's rows widened into sc's
// buffers.
func (kv attnKV) rows(sc *attnScratch, off, n, hd int) (k, v []float32) {
	if kv.k16 == nil {
		return kv.k[off:], kv.v[off:]
	}
	if len(sc.k) < n*hd {
		sc.k, sc.v = make([]float32, n*hd), make([]float32, n*hd)
	}
	kernels.F16ToF32(sc.k, kv.k16[off:off+n*hd])
	kernels.F16ToF32(sc.v, kv.v16[off:off+n*hd])
	return sc.k, sc.v
}

// attend computes out from queries q over the layer cache kv, which
// already holds the batch's keys and values. Work items are (token, kv head)
// pairs: the query heads sharing a kv head are done together.
func (o *nativeOps) attend(out, q *nativeTensor, kv attnKV, ctx int, at Attention, last []int) {
	j := &o.attn
	if j.run == nil {
		j.run = j.items
	}
	j.q, j.out, j.kv, j.ctx, j.at, j.batch, j.last = q, out, kv, ctx, at, o.batch, last
	o.n.pool.For(q.rows*at.KVHeads, j.run)
	j.q, j.out, j.kv, j.batch, j.last = nil, nil, attnKV{}, nil, nil
}

// items runs work items [lo, hi), counted from the last token backwards so
// that the longest (latest) rows of a causal prefill are handed out first.
func (j *attnJob) items(lo, hi int) {
	at := j.at
	hd, group := at.HeadDim, at.Heads/at.KVHeads
	sc, _ := j.scratch.Get().(*attnScratch)
	if sc == nil {
		sc = new(attnScratch)
	}
	defer j.scratch.Put(sc)
	n := j.q.rows * at.KVHeads
	for it := lo; it < hi; it++ {
		i, g := (n-1-it)/at.KVHeads, (n-1-it)%at.KVHeads
		pos := j.batch.Positions[i]
		start := 0
		if at.Window > 0 && pos-at.Window+1 > 0 {
			start = pos - at.Window + 1
		}
		if j.last != nil {
			pos = j.last[j.batch.Seq(i)]
		}
		s := j.batch.Seq(i)
		kb := (s*at.KVHeads + g) * j.ctx * hd // key t at kb + t·hd, its value likewise (see nativeCache)
		qi, oi := j.q.row(i), j.out.row(i)
		hb := attnHeads
		if hd > attnMaxDim {
			hb = 0 // too wide for the scratch: one head at a time
		}
		for h0 := 0; h0 < group; h0 += max(hb, 1) {
			h := g*group + h0
			if hb == 0 {
				attendHead(oi[h*hd:(h+1)*hd], qi[h*hd:(h+1)*hd], sc, j.kv, kb, start, pos, at.Scale, at.SoftCap)
				continue
			}
			nh := min(hb, group-h0)
			sc.heads(oi[h*hd:(h+nh)*hd], qi[h*hd:(h+nh)*hd], nh, hd, j.kv, kb, start, pos, at.Scale, at.SoftCap)
		}
	}
}

// Blocked attention scratch sizes: up to attnHeads query heads of up to
// attnMaxDim elements against attnTile keys at a time.
const (
	attnHeads  = 16
	attnMaxDim = 256
)

// attnScratch is one chunk's working memory for a block of query heads that
// share a kv head.
type attnScratch struct {
	q    [attnHeads * attnMaxDim]float32 // the queries, padded to a multiple of 4 rows with zeros
	s    [attnHeads * attnTile]float32   // scores, then probabilities: s[h·attnTile + t]
	o    [attnHeads * attnMaxDim]float32 // the weighted sums of values so far, o[h·hd + d]
	m, l [attnHeads]float32              // running maximum and normalizer per head
	// k, v hold a tile of keys and values widened from a float16 cache
	// (allocated at the first use, then kept with the scratch).
	k, v []float32
}

// heads computes nh query heads (q, out: nh rows of hd) against keys
// start..end (key t at element kb+t·hd of kv's keys, its value likewise)
// with online softmax over tiles of attnTile keys. The scores run four rows
// by four on the matrix kernels (kernels.DotRows), the weighted sums of
// value rows on kernels.WeightedRows.
func (sc *attnScratch) heads(out, q []float32, nh, hd int, kv attnKV, kb, start, end int, scale, softCap float32) {
	np := (nh + 3) &^ 3 // padding rows score 0, so they weigh the values by 0, and are ignored
	copy(sc.q[:nh*hd], q)
	clear(sc.q[nh*hd : np*hd])
	for h := range nh {
		sc.m[h], sc.l[h] = float32(math.Inf(-1)), 0
	}
	for t0 := start; t0 <= end; t0 += attnTile {
		n := min(attnTile, end+1-t0)
		kt, vt := kv.rows(sc, kb+t0*hd, n, hd)
		kernels.DotRows(sc.s[:], attnTile, sc.q[:], hd, np, kt, hd, n, hd)
		for h := range nh {
			s := sc.s[h*attnTile : h*attnTile+n]
			m := sc.m[h]
			var mx float32
			if softCap > 0 {
				mx = m
				for t, v := range s {
					v = softCap * float32(math.Tanh(float64(v*scale/softCap)))
					s[t] = v
					mx = max(mx, v)
				}
			} else {
				mx = kernels.ScaleMax(s, scale, m)
			}
			sum := kernels.ExpShiftSum(s, s, mx)
			c := float32(0) // rescales the earlier tiles' sums (none in the first)
			if t0 > start {
				c = kernels.Exp(m - mx)
				kernels.Scale(sc.o[h*hd:(h+1)*hd], c)
			}
			sc.m[h], sc.l[h] = mx, sc.l[h]*c+sum
		}
		kernels.WeightedRows(sc.o[:], hd, sc.s[:], attnTile, np, vt, hd, n, hd, t0 > start)
	}
	for h := range nh {
		oh := out[h*hd : (h+1)*hd]
		copy(oh, sc.o[h*hd:(h+1)*hd])
		kernels.Scale(oh, 1/sc.l[h])
	}
}

// attendHead writes into oh the softmax(q·k·scale)-weighted sum of the values
// at positions start..end, one head at a time (for heads wider than the
// blocked scratch): key t is element kb+t·hd of kv's keys on (hd of them),
// its value likewise. Keys are scored one at a time with a running maximum.
func attendHead(oh, qh []float32, sc *attnScratch, kv attnKV, kb, start, end int, scale, softCap float32) {
	hd := len(qh)
	clear(oh)
	m := float32(math.Inf(-1)) // running maximum score
	var l float32              // running Σ exp(score - m)
	for t := start; t <= end; t++ {
		kt, vt := kv.rows(sc, kb+t*hd, 1, hd)
		v := kernels.Dot(qh, kt[:hd]) * scale
		if softCap > 0 {
			v = softCap * float32(math.Tanh(float64(v/softCap)))
		}
		if v > m {
			if l != 0 {
				c := kernels.Exp(m - v)
				l *= c
				kernels.Scale(oh, c)
			}
			m = v
		}
		p := kernels.Exp(v - m)
		l += p
		kernels.AXPY(oh, p, vt[:hd])
	}
	kernels.Scale(oh, 1/l)
}
