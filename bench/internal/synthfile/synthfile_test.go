package synthfile

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/goformer/goformer/model"
	"github.com/goformer/goformer/weights"
)

const vocabDir = "../../../../shared/peer-vocab"

func TestWriteLoads(t *testing.T) {
	if _, err := os.Stat(filepath.Join(vocabDir, "ggml-vocab-gpt-2.gguf")); err != nil {
		t.Skipf("needs %s: %v", vocabDir, err)
	}
	s := Shape{Name: "tiny", Arch: "llama", Vocab: 50257, Embed: 64, Layers: 2, Heads: 4, KVHeads: 2, FFN: 128,
		Context: 256, RopeBase: 10000, Eps: 1e-5, Llama3: true, VocabFile: "ggml-vocab-gpt-2.gguf"}
	for _, dt := range []weights.DType{weights.F32, weights.BF16, weights.Q8_0, weights.Q4_K} {
		t.Run(dt.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tiny.gguf")
			if err := Write(path, s, dt, vocabDir, 7); err != nil {
				t.Fatal(err)
			}
			f, err := weights.Open(path, weights.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if toks, _ := f.Meta.Strings("tokenizer.ggml.tokens"); len(toks) != s.Vocab {
				t.Errorf("%d tokens in the copied vocabulary, want %d", len(toks), s.Vocab)
			}
			q, _ := f.Tensor("blk.1.attn_q.weight")
			want := dt
			if dt == weights.Q4_K { // 64 columns are not a whole Q4_K block
				want = weights.Q4_0
			}
			if q.DType != want {
				t.Errorf("attn_q stored as %v, want %v", q.DType, want)
			}
			be := model.NewNative(1)
			defer be.Close()
			m, err := model.Load(f, be)
			if err != nil {
				t.Fatal(err)
			}
			if c := m.Config(); c.Vocab != s.Vocab || c.Layers != s.Layers || c.FFN != s.FFN {
				t.Errorf("config %+v does not match the shape %+v", c, s)
			}
			sess, err := model.NewSession(m, be, 16)
			if err != nil {
				t.Fatal(err)
			}
			logits, err := sess.Eval(context.Background(), []int{1, 500, 50000})
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range logits {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("logit %d = %v", i, v)
				}
			}
		})
	}
}

func TestParseType(t *testing.T) {
	for _, s := range []string{"f32", "BF16", "q8_0", "Q4_K", "f16"} {
		if _, err := ParseType(s); err != nil {
			t.Errorf("ParseType(%q): %v", s, err)
		}
	}
	if _, err := ParseType("q5_1"); err == nil {
		t.Error("ParseType(q5_1) succeeded")
	}
}
