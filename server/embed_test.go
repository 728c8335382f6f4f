package server

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/goformer/goformer"
	"github.com/goformer/goformer/synth"
	"github.com/goformer/goformer/weights"
)

// TestEmbeddingsWithClient serves a tiny BERT (written by synth) and asks
// for embeddings through the official client: one unit vector per input,
// equal to the library's Model.Embed, usage counting the tokens.
func TestEmbeddingsWithClient(t *testing.T) {
	tokDir := "../../shared/tokenizers"
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
	t.Cleanup(func() { m.Close() })
	s, err := New(m, Config{ModelName: "tiny-bert", Embed: m.Embed, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ts := startTestServer(t, s)
	inputs := []string{"A cat sat on the mat.", "Go is fun"}
	res, err := ts.client.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model: "tiny-bert",
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: inputs},
	})
	if err != nil {
		t.Fatal(err)
	}
	want, n, err := m.Embed(context.Background(), inputs)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Data) != len(inputs) || res.Usage.PromptTokens != int64(n) {
		t.Fatalf("%d embeddings, %d prompt tokens; want %d, %d", len(res.Data), res.Usage.PromptTokens, len(inputs), n)
	}
	for i, d := range res.Data {
		if int(d.Index) != i || len(d.Embedding) != len(want[i]) {
			t.Fatalf("embedding %d: index %d, %d dims, want %d", i, d.Index, len(d.Embedding), len(want[i]))
		}
		var ss float64
		for j, x := range d.Embedding {
			ss += x * x
			if math.Abs(x-float64(want[i][j])) > 1e-6 {
				t.Fatalf("embedding %d[%d] = %v, library %v", i, j, x, want[i][j])
			}
		}
		if math.Abs(ss-1) > 1e-5 {
			t.Errorf("embedding %d has squared norm %v", i, ss)
		}
	}
}
