package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSynthAndEmbed writes a tiny BERT checkpoint in both formats with
// goformer synth and embeds two texts from each: the vectors are unit
// length, one per text, and equal across formats.
func TestSynthAndEmbed(t *testing.T) {
	const tokDir = "../../../shared/tokenizers"
	if _, err := os.Stat(tokDir); err != nil {
		t.Skipf("shared tokenizers not found at %s: %v", tokDir, err)
	}
	dir := t.TempDir()
	var vecs [2][][]float64
	for i, format := range []string{"gguf", "hf"} {
		path := filepath.Join(dir, "bert."+format)
		var out, errOut bytes.Buffer
		args := []string{"synth", "--arch", "bert", "--shape", "tiny", "--dtype", "f32", "--format", format, "-o", path, "--tokenizers", tokDir}
		if err := run(context.Background(), args, &out, &errOut); err != nil {
			t.Fatalf("synth: %v\n%s", err, errOut.String())
		}
		out.Reset()
		if err := run(context.Background(), []string{"embed", "-m", path, "-t", "1", "hello world", "a second text"}, &out, &errOut); err != nil {
			t.Fatalf("embed: %v\n%s", err, errOut.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != 2 {
			t.Fatalf("%s: %d lines of output, want 2:\n%s", format, len(lines), out.String())
		}
		for _, l := range lines {
			var v []float64
			if err := json.Unmarshal([]byte(l), &v); err != nil {
				t.Fatalf("%s: %v: %q", format, err, l)
			}
			var n float64
			for _, x := range v {
				n += x * x
			}
			if math.Abs(math.Sqrt(n)-1) > 1e-5 || len(v) != 64 {
				t.Errorf("%s: %d values of norm %.7f, want 64 of norm 1", format, len(v), math.Sqrt(n))
			}
			vecs[i] = append(vecs[i], v)
		}
	}
	for k := range vecs[0] {
		for j := range vecs[0][k] {
			if math.Abs(vecs[0][k][j]-vecs[1][k][j]) > 1e-6 {
				t.Fatalf("text %d: GGUF and HF embeddings differ at %d: %g vs %g", k, j, vecs[0][k][j], vecs[1][k][j])
			}
		}
	}
	var errOut bytes.Buffer
	if err := run(context.Background(), []string{"synth", "--arch", "bert", "-o", filepath.Join(dir, "x")}, &bytes.Buffer{}, &errOut); err == nil {
		t.Error("synth without --shape or --config succeeded")
	}
}
