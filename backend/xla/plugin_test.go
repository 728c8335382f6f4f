package xla_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/goformer/goformer/backend/gomlx"
	"github.com/goformer/goformer/backend/xla"
	"github.com/goformer/goformer/internal/defaultmodel"
	"github.com/goformer/goformer/model"
	"github.com/goformer/goformer/synth"
	"github.com/goformer/goformer/weights"
)

// pluginEnv names the PJRT plugin (a name or an absolute path) the tests
// and benchmarks that need a real plugin use; they skip when it is unset.
const pluginEnv = "GOFORMER_XLA_PLUGIN"

func openXLA(tb testing.TB, o gomlx.Options) *gomlx.Backend {
	tb.Helper()
	plugin, ok := os.LookupEnv(pluginEnv)
	if !ok {
		tb.Skipf("%s not set: no PJRT plugin to test (set it to a plugin name or path)", pluginEnv)
	}
	be, err := xla.New(plugin, o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { be.Close() })
	return be
}

const sharedTokenizers = "../../../shared/tokenizers"

// checkpoints returns the embedded stories260K and, when the shared
// tokenizers are present, synth's tiny checkpoint of every family.
func checkpoints(t *testing.T) map[string]*weights.File {
	t.Helper()
	out := map[string]*weights.File{}
	f, err := weights.ReadGGUF(defaultmodel.Name, defaultmodel.GGUF)
	if err != nil {
		t.Fatal(err)
	}
	out["stories260K"] = f
	if _, err := os.Stat(sharedTokenizers); err != nil {
		t.Logf("shared tokenizers not found at %s: only stories260K", sharedTokenizers)
		return out
	}
	for _, arch := range synth.Arches {
		if arch == "bert" {
			continue
		}
		path := filepath.Join(t.TempDir(), arch+".gguf")
		o := synth.Options{Arch: arch, Shape: "tiny", DType: weights.BF16, Format: "gguf", Tokenizers: sharedTokenizers, Seed: 3}
		if err := synth.Write(path, o); err != nil {
			t.Fatalf("synth %s: %v", arch, err)
		}
		f, err := weights.Open(path, weights.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		out[arch] = f
	}
	return out
}

// TestPluginMatchesNative (needs GOFORMER_XLA_PLUGIN): on every tiny
// model, greedy generation through the plugin equals the native backend's,
// and the log-probabilities of the prompt and of each generated token are
// reported (and must agree within 1e-3).
func TestPluginMatchesNative(t *testing.T) {
	xb := openXLA(t, gomlx.Options{})
	nb := model.NewNative(0)
	defer nb.Close()
	for name, f := range checkpoints(t) {
		t.Run(name, func(t *testing.T) {
			mn, err := model.Load(f, nb)
			if err != nil {
				t.Fatal(err)
			}
			mx, err := model.Load(f, xb)
			if err != nil {
				t.Fatal(err)
			}
			prompt := []int{1, 403, 407, 261, 378, 300, 290, 281, 399, 270, 330, 311, 1, 5, 9, 33, 44, 55, 66, 77, 88}
			gen := func(m model.Model, be model.Backend) ([]int, []float32) {
				s, err := model.NewSession(m, be, 96)
				if err != nil {
					t.Fatal(err)
				}
				var ids []int
				var lps []float32
				o := model.GenerateOptions{MaxTokens: 24, IgnoreEOS: true, Logprobs: true, Echo: true}
				for st, err := range s.Generate(context.Background(), prompt, o, nil) {
					if err != nil {
						t.Fatalf("%s: %v", be.Name(), err)
					}
					if !st.Prompt {
						ids = append(ids, st.ID)
					}
					lps = append(lps, st.Logprob)
				}
				return ids, lps
			}
			wantIDs, wantLP := gen(mn, nb)
			gotIDs, gotLP := gen(mx, xb)
			var worst float64
			for i := range min(len(wantLP), len(gotLP)) {
				worst = max(worst, math.Abs(float64(wantLP[i]-gotLP[i])))
			}
			t.Logf("%s: greedy equal %v, max |Δ logprob| %.3g", xb.Name(), slices.Equal(wantIDs, gotIDs), worst)
			if !slices.Equal(wantIDs, gotIDs) {
				t.Errorf("greedy ids differ:\nnative %v\n%s %v", wantIDs, xb.Name(), gotIDs)
			}
			if worst > 1e-3 {
				t.Errorf("max |Δ logprob| %.3g > 1e-3", worst)
			}
		})
	}
}
