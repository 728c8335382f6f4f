package model

import (
	"math"
	"sort"
)

// SamplerOptions chooses how the next token is drawn from the logits.
//
// The pipeline is: logit bias → repetition, presence and frequency
// penalties → (temperature 0: argmax, lowest id on ties) → temperature →
// top-k → softmax → min-p → top-p → draw.
type SamplerOptions struct {
	Temperature float32
	TopK        int     // keep the K most likely tokens (0: all)
	TopP        float32 // nucleus: smallest set with probability > TopP (0 or ≥ 1: off)
	// MinP drops tokens less likely than MinP × the most likely one (0: off).
	MinP float32
	// RepeatPenalty divides positive (multiplies negative) logits of tokens
	// seen in the last RepeatLastN tokens (1 or 0: off).
	RepeatPenalty float32
	// PresencePenalty is subtracted once from the logit of every token seen
	// in the window; FrequencyPenalty once per occurrence (0: off).
	PresencePenalty  float32
	FrequencyPenalty float32
	// RepeatLastN is the penalty window in tokens (0: 64, -1: everything).
	RepeatLastN int
	// LogitBias is added to the logits of the given token ids (use -Inf to
	// ban a token).
	LogitBias map[int]float32
	Seed      uint64
}

func (o *SamplerOptions) penalized() bool {
	return (o.RepeatPenalty != 0 && o.RepeatPenalty != 1) || o.PresencePenalty != 0 || o.FrequencyPenalty != 0
}

// Sampler draws tokens. Its random generator is xorshift64* as llama2.c's
// run.c uses it (one 24-bit uniform float per drawn token), and with TopK off
// its top-p procedure follows run.c's, so a seeded run reproduces llama2.c.
type Sampler struct {
	opts    SamplerOptions
	state   uint64
	cand    []candidate
	history []int       // the penalty window, oldest first
	counts  map[int]int // occurrences in history
}

type candidate struct {
	id int
	p  float32
}

// NewSampler returns a sampler. Seed 0 is mapped to a fixed non-zero state
// (xorshift has no zero state).
func NewSampler(o SamplerOptions) *Sampler {
	s := &Sampler{opts: o, state: o.Seed}
	if s.state == 0 {
		s.state = 0x9E3779B97F4A7C15
	}
	return s
}

func (s *Sampler) u32() uint32 {
	s.state ^= s.state >> 12
	s.state ^= s.state << 25
	s.state ^= s.state >> 27
	return uint32((s.state * 0x2545F4914F6CDD1D) >> 32)
}

// coin is a uniform float32 in [0, 1) with 24 random bits.
func (s *Sampler) coin() float32 { return float32(s.u32()>>8) / 16777216.0 }

// Greedy returns the index of the largest logit (the first on ties).
func Greedy(logits []float32) int {
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	return best
}

// Accept records tokens (prompt or generated) for the penalties.
func (s *Sampler) Accept(ids ...int) {
	if !s.opts.penalized() {
		return
	}
	if s.counts == nil {
		s.counts = map[int]int{}
	}
	window := s.opts.RepeatLastN
	if window == 0 {
		window = 64
	}
	for _, id := range ids {
		s.history = append(s.history, id)
		s.counts[id]++
		if window > 0 && len(s.history) > window {
			old := s.history[0]
			s.history = s.history[1:]
			if s.counts[old]--; s.counts[old] == 0 {
				delete(s.counts, old)
			}
		}
	}
}

// Sample picks the next token. logits is modified.
func (s *Sampler) Sample(logits []float32) int {
	o := s.opts
	for id, b := range o.LogitBias {
		if id >= 0 && id < len(logits) {
			logits[id] += b
		}
	}
	if o.penalized() {
		for id, c := range s.counts {
			if id < 0 || id >= len(logits) {
				continue
			}
			if rp := o.RepeatPenalty; rp != 0 && rp != 1 {
				if logits[id] > 0 {
					logits[id] /= rp
				} else {
					logits[id] *= rp
				}
			}
			logits[id] -= float32(c)*o.FrequencyPenalty + o.PresencePenalty
		}
	}
	if o.Temperature <= 0 || len(logits) == 1 {
		return Greedy(logits)
	}
	for i := range logits {
		logits[i] /= o.Temperature
	}
	c := s.cand[:0]
	if o.TopK > 0 && o.TopK < len(logits) {
		c = topK(c, logits, o.TopK)
	} else {
		for i, v := range logits {
			c = append(c, candidate{i, v})
		}
	}
	s.cand = c
	// softmax over the candidates, in their order
	m := float32(math.Inf(-1))
	for _, x := range c {
		m = max(m, x.p)
	}
	var sum float32
	for i := range c {
		c[i].p = float32(math.Exp(float64(c[i].p - m)))
		sum += c[i].p
	}
	for i := range c {
		c[i].p /= sum
	}
	if o.MinP > 0 && o.MinP < 1 {
		pmax := float32(0)
		for _, x := range c {
			pmax = max(pmax, x.p)
		}
		kept := c[:0]
		sum = 0
		for _, x := range c {
			if x.p >= o.MinP*pmax {
				kept = append(kept, x)
				sum += x.p
			}
		}
		for i := range kept {
			kept[i].p /= sum
		}
		c = kept
	}
	coin := s.coin()
	if o.TopP <= 0 || o.TopP >= 1 {
		var cdf float32
		for _, x := range c {
			cdf += x.p
			if coin < cdf {
				return x.id
			}
		}
		return c[len(c)-1].id
	}
	// Nucleus: tokens below (1-p)/(n-1) cannot be in it, drop them first.
	cut := (1 - o.TopP) / float32(max(len(c)-1, 1))
	k := c[:0]
	for _, x := range c {
		if x.p >= cut {
			k = append(k, x)
		}
	}
	sort.SliceStable(k, func(i, j int) bool { return k[i].p > k[j].p })
	var cum float32
	last := len(k) - 1
	for i, x := range k {
		cum += x.p
		if cum > o.TopP {
			last = i
			break
		}
	}
	r := coin * cum
	var cdf float32
	for _, x := range k[:last+1] {
		cdf += x.p
		if r < cdf {
			return x.id
		}
	}
	return k[last].id
}

// topK appends the k largest logits to dst in descending order (ties: lower
// id first).
func topK(dst []candidate, logits []float32, k int) []candidate {
	for i, v := range logits {
		dst = append(dst, candidate{i, v})
	}
	sort.Slice(dst, func(i, j int) bool {
		if dst[i].p != dst[j].p {
			return dst[i].p > dst[j].p
		}
		return dst[i].id < dst[j].id
	})
	return dst[:k]
}
