//go:build hftokenizers && cgo

package hftok

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/goformer/goformer/tokenizer"
)

// TestParityWithGoTokenizer encodes every shared golden text with the Rust
// library and with goformer's pure-Go tokenizer: ids must be identical.
func TestParityWithGoTokenizer(t *testing.T) {
	for _, name := range []string{"llama3", "qwen3", "mistral", "gemma3", "bert-uncased"} {
		dir := filepath.Join("../../../shared/tokenizers", name)
		path := filepath.Join(dir, "tokenizer.json")
		if _, err := os.Stat(path); err != nil {
			t.Skipf("golden tokenizers live in %s: %v", dir, err)
		}
		rust, err := FromFile(path)
		if err != nil {
			t.Fatal(err)
		}
		gof, err := tokenizer.FromFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(filepath.Join(dir, "cases.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<24)
		n := 0
		for sc.Scan() {
			var c struct {
				Text string `json:"text"`
			}
			if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
				t.Fatal(err)
			}
			a, b := rust.Encode(c.Text, false), gof.Encode(c.Text, false)
			if !slices.Equal(a, b) {
				t.Errorf("%s %q: rust %v, goformer %v", name, c.Text, a, b)
			}
			n++
		}
		f.Close()
		rust.Close()
		t.Logf("%s: %d texts", name, n)
	}
}
