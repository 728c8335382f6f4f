package model

import (
	"testing"

	"github.com/goformer/goformer/internal/defaultmodel"
	"github.com/goformer/goformer/weights"
)

// TestGroupedLinears: Llama declares q/k/v and gate/up as groups, the
// native backend computes a group at its first one-row Linear and hands
// out the kept results at the others' calls, and decoding gives the same
// logits bit for bit as on a backend that does not group.
func TestGroupedLinears(t *testing.T) {
	m, be := nativeDefault(t)
	l := m.(*Llama)
	ly := l.layers[0]
	for _, w := range []Weight{ly.wq, ly.wk, ly.wv} {
		if g := w.(*nativeWeight).group; len(g) != 3 {
			t.Fatalf("%s: group of %d, want q, k, v", w.(*nativeWeight).name, len(g))
		}
	}
	if g := ly.gate.(*nativeWeight).group; len(g) != 2 || g[1] != ly.up {
		t.Fatalf("gate grouped with %d matrices, want gate, up", len(g))
	}

	// The mechanism, one layer's inputs by hand.
	cache, err := be.NewCache(l.cfg.CacheSpec(16, 1))
	if err != nil {
		t.Fatal(err)
	}
	_, err = be.Forward(cache, &Batch{Tokens: []int{5}, Positions: []int{0}, Outputs: []int{0}}, func(ops Ops) Tensor {
		h := ops.Embed(l.embed)
		q := ops.Linear(h, ly.wq, nil)
		o := ops.(*nativeOps)
		kept := 0
		for _, k := range o.kept {
			if k.x == h && (k.w == ly.wk || k.w == ly.wv) {
				kept++
			}
		}
		if kept != 2 {
			t.Errorf("after Linear(h, wq): %d of k, v kept, want 2", kept)
		}
		k := ops.Linear(h, ly.wk, nil)
		ops.Linear(h, ly.wv, nil)
		for _, e := range o.kept {
			if e.x != nil {
				t.Errorf("%s still kept after its Linear", e.w.name)
			}
		}
		k2 := ops.Linear(h, ly.wk, nil) // nothing kept: computed again, same numbers
		for i, v := range nt(k).d {
			if nt(k2).d[i] != v {
				t.Fatalf("k[%d]: %v kept, %v computed alone", i, v, nt(k2).d[i])
			}
		}
		return q
	})
	if err != nil {
		t.Fatal(err)
	}

	// The whole model against an ungrouped backend.
	f, err := weights.ReadGGUF(defaultmodel.Name, defaultmodel.GGUF)
	if err != nil {
		t.Fatal(err)
	}
	plain := NewNative(2)
	defer plain.Close()
	pm, err := Load(f, struct{ Backend }{plain}) // hides GroupWeights
	if err != nil {
		t.Fatal(err)
	}
	if pm.(*Llama).layers[0].wq.(*nativeWeight).group != nil {
		t.Fatal("weights grouped on a backend without GroupWeights")
	}
	decode := func(m Model, be Backend) [][]float32 {
		cache, err := be.NewCache(m.Config().CacheSpec(32, 1))
		if err != nil {
			t.Fatal(err)
		}
		var all [][]float32
		prompt := []int{1, 7, 42, 9}
		pos := []int{0, 1, 2, 3}
		out, err := be.Forward(cache, &Batch{Tokens: prompt, Positions: pos, Outputs: []int{3}}, m.Forward)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, append([]float32(nil), out...))
		for i := range 8 {
			out, err = be.Forward(cache, &Batch{Tokens: []int{(i*31 + 3) % m.Config().Vocab}, Positions: []int{4 + i}, Outputs: []int{0}}, m.Forward)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, append([]float32(nil), out...))
		}
		return all
	}
	want, got := decode(pm, plain), decode(m, be)
	for s := range want {
		for i := range want[s] {
			if got[s][i] != want[s][i] {
				t.Fatalf("step %d logit %d: %v grouped, %v ungrouped", s, i, got[s][i], want[s][i])
			}
		}
	}
}
