package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestAgainstJSReference compares the encoding of the benchmark corpus with
// ids produced by @lenml/tokenizers (directory in GOFORMER_JSREF, files
// ids-<tokenizer>.json); skipped without it.
func TestAgainstJSReference(t *testing.T) {
	dir := os.Getenv("GOFORMER_JSREF")
	if dir == "" {
		t.Skip("set GOFORMER_JSREF to a directory of ids-<name>.json files")
	}
	text := benchCorpus(t)
	for _, name := range []string{"llama3", "qwen3", "mistral", "gemma3", "bert-uncased"} {
		b, err := os.ReadFile(filepath.Join(dir, "ids-"+name+".json"))
		if err != nil {
			continue
		}
		var want []int
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		got := goldenTok(t, name).Encode(text, false)
		n := min(len(got), len(want))
		first := -1
		for i := 0; i < n; i++ {
			if got[i] != want[i] {
				first = i
				break
			}
		}
		if first < 0 && len(got) != len(want) {
			first = n
		}
		if first >= 0 {
			lo := max(0, first-5)
			t.Errorf("%s: %d vs %d ids, first difference at %d: got %v want %v", name, len(got), len(want), first,
				got[lo:min(len(got), first+5)], want[lo:min(len(want), first+5)])
		} else {
			t.Logf("%s: %d ids identical", name, len(got))
		}
	}
}
