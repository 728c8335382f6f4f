package model

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// OpProfile adds up the wall time of each op of the native backend's
// single-token (decoding) passes, for finding where a token's time goes
// outside the matrix products (goformer bench --op-profile). Set
// Native.Profile to one before the passes; it is not safe for concurrent
// Forward calls. Linear is keyed by its weight's name without the layer
// prefix ("blk.N."), so a grouped product (q, k and v computed together)
// shows under its first weight, its partners at nearly nothing. "(between
// ops)" is the time spent in family code between two ops.
type OpProfile struct {
	passes int
	last   time.Time
	stats  map[string]*opStat
}

type opStat struct {
	d     time.Duration
	calls int
}

func (p *OpProfile) add(name string, start time.Time) {
	now := time.Now()
	if p.stats == nil {
		p.stats = map[string]*opStat{}
	}
	s := p.stats[name]
	if s == nil {
		s = new(opStat)
		p.stats[name] = s
	}
	s.d += now.Sub(start)
	s.calls++
	p.last = now
}

// Report writes a table of the ops, the most time first: µs per pass, share
// of all the ops' time, calls per pass.
func (p *OpProfile) Report(w io.Writer) error {
	if p.passes == 0 {
		_, err := fmt.Fprintln(w, "op profile: no single-token passes")
		return err
	}
	var total time.Duration
	names := make([]string, 0, len(p.stats))
	for n, s := range p.stats {
		names = append(names, n)
		total += s.d
	}
	slices.SortFunc(names, func(a, b string) int { return int(p.stats[b].d - p.stats[a].d) })
	per := func(d time.Duration) float64 { return float64(d) / 1e3 / float64(p.passes) }
	if _, err := fmt.Fprintf(w, "op profile: %d single-token passes, %.1f µs per pass\n| op | µs per pass | share | calls per pass |\n| --- | ---: | ---: | ---: |\n", p.passes, per(total)); err != nil {
		return err
	}
	for _, n := range names {
		s := p.stats[n]
		if _, err := fmt.Fprintf(w, "| %s | %.1f | %.2f%% | %.1f |\n", n, per(s.d), 100*float64(s.d)/float64(total), float64(s.calls)/float64(p.passes)); err != nil {
			return err
		}
	}
	return nil
}

// profiledOps times each call of the ops it wraps into its OpProfile.
type profiledOps struct {
	ops Ops
	p   *OpProfile
}

// op starts timing an op: it books the time since the previous op ended
// as time between ops.
func (o profiledOps) op() time.Time {
	o.p.add("(between ops)", o.p.last)
	return time.Now()
}

func layerless(name string) string {
	if rest, ok := strings.CutPrefix(name, "blk."); ok {
		if _, after, ok := strings.Cut(rest, "."); ok {
			return after
		}
	}
	return name
}

func (o profiledOps) Batch() *Batch { return o.ops.Batch() }
func (o profiledOps) Embed(t Weight) Tensor {
	s := o.op()
	defer o.p.add("embed", s)
	return o.ops.Embed(t)
}
func (o profiledOps) PosEmbed(t Weight) Tensor {
	s := o.op()
	defer o.p.add("posembed", s)
	return o.ops.PosEmbed(t)
}
func (o profiledOps) Linear(x Tensor, w, b Weight) Tensor {
	s := o.op()
	defer o.p.add("linear "+layerless(nw(w).name), s)
	return o.ops.Linear(x, w, b)
}
func (o profiledOps) RMSNorm(x Tensor, w Weight, eps float32, addOne bool) Tensor {
	s := o.op()
	defer o.p.add("rmsnorm", s)
	return o.ops.RMSNorm(x, w, eps, addOne)
}
func (o profiledOps) LayerNorm(x Tensor, w, b Weight, eps float32) Tensor {
	s := o.op()
	defer o.p.add("layernorm", s)
	return o.ops.LayerNorm(x, w, b, eps)
}
func (o profiledOps) Add(a, b Tensor) Tensor {
	s := o.op()
	defer o.p.add("add", s)
	return o.ops.Add(a, b)
}
func (o profiledOps) Mul(a, b Tensor) Tensor {
	s := o.op()
	defer o.p.add("mul", s)
	return o.ops.Mul(a, b)
}
func (o profiledOps) Scale(x Tensor, f float32) Tensor {
	s := o.op()
	defer o.p.add("scale", s)
	return o.ops.Scale(x, f)
}
func (o profiledOps) SiLU(x Tensor) Tensor {
	s := o.op()
	defer o.p.add("silu", s)
	return o.ops.SiLU(x)
}
func (o profiledOps) GELU(x Tensor, tanhApprox bool) Tensor {
	s := o.op()
	defer o.p.add("gelu", s)
	return o.ops.GELU(x, tanhApprox)
}
func (o profiledOps) RoPE(x Tensor, r RoPE) Tensor {
	s := o.op()
	defer o.p.add("rope", s)
	return o.ops.RoPE(x, r)
}
func (o profiledOps) Attention(layer int, q, k, v Tensor, a Attention) Tensor {
	s := o.op()
	defer o.p.add("attention", s)
	return o.ops.Attention(layer, q, k, v, a)
}
func (o profiledOps) Outputs(x Tensor) Tensor {
	s := o.op()
	defer o.p.add("outputs", s)
	return o.ops.Outputs(x)
}
func (o profiledOps) SoftCap(x Tensor, c float32) Tensor {
	s := o.op()
	defer o.p.add("softcap", s)
	return o.ops.SoftCap(x, c)
}
func (o profiledOps) EndLayer(x Tensor) Tensor {
	s := o.op()
	defer o.p.add("endlayer", s)
	return o.ops.EndLayer(x)
}
