package model

import (
	"math"

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
	kc, vc []float32 // the layer's cache
	ctx    int       // cache positions per sequence
	at     Attention
	batch  *Batch
	last   []int // non-causal: highest batch position of each sequence; nil when causal
	run    func(lo, hi int)
}

// attend computes out from queries q over the layer cache kc/vc, which
// already holds the batch's keys and values. Work items are (token, kv head)
// pairs: the query heads sharing a kv head are done together.
func (o *nativeOps) attend(out, q *nativeTensor, kc, vc []float32, ctx int, at Attention, last []int) {
	j := &o.attn
	if j.run == nil {
		j.run = j.items
	}
	j.q, j.out, j.kc, j.vc, j.ctx, j.at, j.batch, j.last = q, out, kc, vc, ctx, at, o.batch, last
	o.n.pool.For(q.rows*at.KVHeads, j.run)
	j.q, j.out, j.kc, j.vc, j.batch, j.last = nil, nil, nil, nil, nil, nil
}

// items runs work items [lo, hi), counted from the last token backwards so
// that the longest (latest) rows of a causal prefill are handed out first.
func (j *attnJob) items(lo, hi int) {
	var sc [attnTile]float32
	at := j.at
	hd, group := at.HeadDim, at.Heads/at.KVHeads
	kvDim := at.KVHeads * hd
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
		base := j.batch.Seq(i)*j.ctx*kvDim + g*hd
		qi, oi := j.q.row(i), j.out.row(i)
		for h := g * group; h < (g+1)*group; h++ {
			attendHead(oi[h*hd:(h+1)*hd], qi[h*hd:(h+1)*hd], j.kc, j.vc, base, kvDim, start, pos, at.Scale, at.SoftCap, sc[:])
		}
	}
}

// attendHead writes into oh the softmax(q·k·scale)-weighted sum of the values
// at positions start..end, where position t's key is kc[base+t·stride:][:hd]
// (likewise its value in vc). Keys are scored a tile (len(sc)) at a time
// with a running maximum (flash-attention style online softmax).
func attendHead(oh, qh, kc, vc []float32, base, stride, start, end int, scale, softCap float32, sc []float32) {
	hd := len(qh)
	clear(oh)
	m := float32(math.Inf(-1)) // running maximum score
	var l float32              // running Σ exp(score - m)
	for t0 := start; t0 <= end; t0 += len(sc) {
		s := sc[:min(len(sc), end+1-t0)]
		off := base + t0*stride
		mx := m
		for t := range s {
			k := off + t*stride
			v := kernels.Dot(qh, kc[k:k+hd]) * scale
			if softCap > 0 {
				v = softCap * float32(math.Tanh(float64(v/softCap)))
			}
			s[t] = v
			mx = max(mx, v)
		}
		if mx != m && l != 0 { // rescale what the earlier tiles summed
			c := kernels.Exp(m - mx)
			l *= c
			kernels.Scale(oh, c)
		}
		m = mx
		for t, v := range s {
			p := kernels.Exp(v - m)
			l += p
			k := off + t*stride
			kernels.AXPY(oh, p, vc[k:k+hd])
		}
	}
	kernels.Scale(oh, 1/l)
}
