package goformer_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/goformer/goformer"
	"github.com/goformer/goformer/internal/defaultmodel"
	"github.com/goformer/goformer/model"
	"github.com/goformer/goformer/weights"
)

const storiesDir = "../shared/models/stories260K"

func sharedFile(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join(storiesDir, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("golden data %s not present (it lives in ../shared beside the repo): %v", p, err)
	}
	return p
}

type golden struct {
	ID        string `json:"id"`
	Prompt    string `json:"prompt"`
	PromptIDs []int  `json:"prompt_ids"`
	Generated []int  `json:"generated_ids"`
	Stop      string `json:"stop_reason"`
	Text      string `json:"text"`
	Sampler   struct {
		Temperature float32 `json:"temperature"`
		TopP        float32 `json:"topp"`
		Seed        *uint64 `json:"seed"`
		Steps       int     `json:"steps"`
		Mode        string  `json:"mode"`
	} `json:"sampler"`
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func loadDefault(t *testing.T, opts ...goformer.Option) *goformer.Model {
	t.Helper()
	m, err := goformer.Load("", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestLlama2cGenerations reproduces every llama2.c run.c generation recorded
// for stories260K: the prompt tokenization, the token ids (greedy and seeded
// top-p sampling, which uses run.c's RNG and sampler) and the decoded text.
func TestLlama2cGenerations(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(sharedFile(t, "generations"), "*.json"))
	if len(files) == 0 {
		t.Fatal("no generation goldens")
	}
	m := loadDefault(t)
	for _, f := range files {
		var g golden
		readJSON(t, f, &g)
		t.Run(g.ID, func(t *testing.T) {
			if got := m.Tokenizer().Encode(g.Prompt, true); !slices.Equal(got, g.PromptIDs) {
				t.Fatalf("Encode(%q) = %v, want %v", g.Prompt, got, g.PromptIDs)
			}
			o := goformer.GenerateOptions{MaxTokens: len(g.Generated), IgnoreEOS: true, Temperature: g.Sampler.Temperature}
			if g.Sampler.Temperature > 0 {
				o.TopP, o.Seed = g.Sampler.TopP, *g.Sampler.Seed
			}
			if g.Stop == "bos" {
				o.MaxTokens++ // run.c stops when it samples BOS; we must sample it too
			}
			var ids []int
			var text string
			for tok, err := range m.GenerateIDs(context.Background(), g.PromptIDs, o) {
				if err != nil {
					t.Fatal(err)
				}
				if tok.ID >= 0 {
					ids = append(ids, tok.ID)
				}
				text += tok.Text
			}
			want := g.Generated
			if g.Stop == "bos" {
				want = append(slices.Clone(want), 1)
				text = text[:len(text)-len(m.Tokenizer().Decode([]int{1}))]
			}
			if i := firstDiff(ids, want); i >= 0 {
				t.Fatalf("generated ids differ from run.c at index %d of %d:\n got %v\nwant %v", i, len(want), ids, want)
			}
			if text != g.Text {
				t.Errorf("streamed text differs:\n got %q\nwant %q", text, g.Text)
			}
		})
	}
}

func firstDiff(a, b []int) int {
	for i := range max(len(a), len(b)) {
		if i >= len(a) || i >= len(b) || a[i] != b[i] {
			return i
		}
	}
	return -1
}

type logitsGolden struct {
	Entries []struct {
		Pos     int       `json:"pos"`
		InputID int       `json:"input_id"`
		Argmax  int       `json:"argmax"`
		Logits  []float32 `json:"logits"`
	} `json:"positions"`
}

// TestLlama2cLogits compares every logit run.c computed, position by
// position, to 1e-4 absolute; once feeding one token per pass and once with
// the whole sequence prefilled in one pass.
func TestLlama2cLogits(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(sharedFile(t, "logits"), "*.logits.json"))
	if len(files) == 0 {
		t.Fatal("no logits goldens")
	}
	for _, f := range files {
		var g logitsGolden
		readJSON(t, f, &g)
		if len(g.Entries) == 0 {
			t.Fatalf("%s: no entries", f)
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			s := newSession(t)
			worst := 0.0
			for i, e := range g.Entries {
				if e.Pos != i {
					t.Fatalf("entry %d has pos %d", i, e.Pos)
				}
				logits, err := s.Eval(context.Background(), []int{e.InputID})
				if err != nil {
					t.Fatal(err)
				}
				worst = max(worst, compareLogits(t, e.Pos, logits, e.Logits))
				if model.Greedy(logits) != e.Argmax {
					t.Errorf("pos %d: argmax %d, run.c %d", e.Pos, model.Greedy(logits), e.Argmax)
				}
			}
			t.Logf("max |Δlogit| one token per pass: %.3g", worst)
			// Prefill all but the last in one pass: the last position's logits
			// must agree as well.
			s = newSession(t)
			var ids []int
			for _, e := range g.Entries {
				ids = append(ids, e.InputID)
			}
			logits, err := s.Eval(context.Background(), ids)
			if err != nil {
				t.Fatal(err)
			}
			last := g.Entries[len(g.Entries)-1]
			compareLogits(t, last.Pos, logits, last.Logits)
		})
	}
}

func compareLogits(t *testing.T, pos int, got, want []float32) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("pos %d: %d logits, want %d", pos, len(got), len(want))
	}
	worst := 0.0
	for i := range got {
		d := math.Abs(float64(got[i] - want[i]))
		worst = max(worst, d)
		if !(d <= 1e-4) {
			t.Fatalf("pos %d: logit[%d] = %v, run.c %v (|Δ| %.3g > 1e-4)", pos, i, got[i], want[i], d)
		}
	}
	return worst
}

// newSession runs the embedded model on its own backend, below the
// goformer API, to reach the logits.
func newSession(t *testing.T) *model.Session {
	t.Helper()
	f, err := weights.ReadGGUF(defaultmodel.Name, defaultmodel.GGUF)
	if err != nil {
		t.Fatal(err)
	}
	be := model.NewNative(0)
	t.Cleanup(func() { be.Close() })
	m, err := model.Load(f, be)
	if err != nil {
		t.Fatal(err)
	}
	s, err := model.NewSession(m, be, defaultmodel.Context)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
