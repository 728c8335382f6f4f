package model

import (
	"testing"

	"github.com/goformer/goformer/internal/defaultmodel"
	"github.com/goformer/goformer/weights"
)

// TestArenaKeepReusesLayerMemory checks that EndLayer gives a layer's
// activations back: a prefill needs the same arena whether the model has 5
// layers or the same 5 layers run 4 times over, and its results do not
// change.
func TestArenaKeepReusesLayerMemory(t *testing.T) {
	m, be := nativeDefault(t)
	l := m.(*Llama)
	tokens := make([]int, 200)
	pos := make([]int, len(tokens))
	for i := range tokens {
		tokens[i], pos[i] = (i*37)%m.Config().Vocab, i
	}
	peak := func() (int, []float32) {
		spec := l.cfg.CacheSpec(256, 1)
		spec.Layers = len(l.layers)
		cache, err := be.NewCache(spec)
		if err != nil {
			t.Fatal(err)
		}
		out, err := be.Forward(cache, &Batch{Tokens: tokens, Positions: pos, Outputs: []int{len(tokens) - 1}}, l.Forward)
		if err != nil {
			t.Fatal(err)
		}
		return be.ar.peak, append([]float32(nil), out...)
	}
	small, want := peak()
	layers := l.layers
	for range 3 {
		l.layers = append(l.layers, layers...) // more layers, same per-layer sizes
	}
	big, _ := peak()
	l.layers = layers
	if big > small+small/4 {
		t.Errorf("arena peak %d floats with %d layers, %d with %d: EndLayer does not reuse memory", big, 4*len(layers), small, len(layers))
	}
	again, got := peak()
	if again > small {
		t.Errorf("arena peak grew from %d to %d floats on the same pass", small, again)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("logit %d: %v after the arena was reused, %v before", i, got[i], want[i])
		}
	}
}

// TestNativeDecodeNoAlloc checks that a decoding step of the native backend
// (embedding, norms, RoPE, attention, matrix products, element-wise ops,
// logits) allocates nothing once warmed up.
func TestNativeDecodeNoAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	m, be := nativeDefault(t)
	cache, err := be.NewCache(m.Config().CacheSpec(256, 1))
	if err != nil {
		t.Fatal(err)
	}
	b := &Batch{Tokens: []int{5}, Positions: []int{0}, Outputs: []int{0}}
	p := 0
	step := func() {
		b.Positions[0] = p % 200
		if _, err := be.Forward(cache, b, m.Forward); err != nil {
			t.Fatal(err)
		}
		p++
	}
	step()
	if a := testing.AllocsPerRun(50, step); a != 0 {
		t.Fatalf("a decoding step allocates %v times", a)
	}
}

// nativeDefault loads the embedded model on a 2-thread native backend.
func nativeDefault(t *testing.T) (Model, *Native) {
	t.Helper()
	f, err := weights.ReadGGUF(defaultmodel.Name, defaultmodel.GGUF)
	if err != nil {
		t.Fatal(err)
	}
	be := NewNative(2)
	t.Cleanup(func() { be.Close() })
	m, err := Load(f, be)
	if err != nil {
		t.Fatal(err)
	}
	return m, be
}
