package goformer_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/goformer/goformer"
	"github.com/goformer/goformer/model"
	"github.com/goformer/goformer/synth"
	"github.com/goformer/goformer/weights"
)

// Embed on a tiny BERT written by synth gives unit vectors, one per text;
// decoder-only models give a clear error.
func TestEmbed(t *testing.T) {
	tokDir := "../shared/tokenizers"
	if _, err := os.Stat(filepath.Join(tokDir, "bert-uncased")); err != nil {
		t.Skipf("synth needs the shared tokenizers in %s: %v", tokDir, err)
	}
	path := filepath.Join(t.TempDir(), "bert.gguf")
	if err := synth.Write(path, synth.Options{Arch: "bert", Shape: "tiny", DType: weights.F32, Format: "gguf", Tokenizers: tokDir, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	m, err := goformer.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	vecs, n, err := m.Embed(context.Background(), []string{"A cat sat on the mat.", "Go is fun"})
	if err != nil {
		t.Fatal(err)
	}
	if len(vecs) != 2 || n < 6 {
		t.Fatalf("%d vectors from %d tokens", len(vecs), n)
	}
	for i, v := range vecs {
		var ss float64
		for _, x := range v {
			ss += float64(x) * float64(x)
		}
		if math.Abs(ss-1) > 1e-5 {
			t.Errorf("vector %d has squared norm %v", i, ss)
		}
	}
	if vecs[0][0] == vecs[1][0] {
		t.Error("different texts gave the same first component")
	}
	d, err := goformer.Load("")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, _, err := d.Embed(context.Background(), []string{"x"}); !errors.Is(err, model.ErrUnsupported) {
		t.Fatalf("decoder-only model: err = %v, want ErrUnsupported", err)
	}
}
