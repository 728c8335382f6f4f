package pretok

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

const tokDir = "../../../shared/tokenizers"

// loadTokenizerJSON reads the byte-level BPE model, added tokens and first
// Split pattern of a tokenizer.json.
func loadTokenizerJSON(t *testing.T, path string) (*ggufVocab, string, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("no %s", path)
	}
	var tj struct {
		AddedTokens []struct {
			ID      int    `json:"id"`
			Content string `json:"content"`
		} `json:"added_tokens"`
		PreTokenizer struct {
			Pretokenizers []struct {
				Type    string `json:"type"`
				Pattern struct {
					Regex string `json:"Regex"`
				} `json:"pattern"`
			} `json:"pretokenizers"`
		} `json:"pre_tokenizer"`
		Model struct {
			Vocab        map[string]int  `json:"vocab"`
			Merges       json.RawMessage `json:"merges"`
			IgnoreMerges bool            `json:"ignore_merges"`
		} `json:"model"`
	}
	if err := json.Unmarshal(b, &tj); err != nil {
		t.Fatal(err)
	}
	v := &ggufVocab{tokens: tj.Model.Vocab, ranks: map[[2]string]int{}}
	var ms []string
	if json.Unmarshal(tj.Model.Merges, &ms) == nil {
		for i, m := range ms {
			a, c, _ := strings.Cut(m, " ")
			v.ranks[[2]string{a, c}] = i
		}
	} else {
		var mp [][2]string
		if err := json.Unmarshal(tj.Model.Merges, &mp); err != nil {
			t.Fatal(err)
		}
		for i, m := range mp {
			v.ranks[m] = i
		}
	}
	for _, a := range tj.AddedTokens {
		v.user = append(v.user, a.Content)
		v.tokens[a.Content] = a.ID
	}
	pat := ""
	for _, p := range tj.PreTokenizer.Pretokenizers {
		if p.Type == "Split" {
			pat = p.Pattern.Regex
			break
		}
	}
	return v, pat, tj.Model.IgnoreMerges
}

// loadGPT2 reads encoder.json and vocab.bpe.
func loadGPT2(t *testing.T, dir string) *ggufVocab {
	b, err := os.ReadFile(filepath.Join(dir, "encoder.json"))
	if err != nil {
		t.Skipf("no gpt2 encoder: %v", err)
	}
	v := &ggufVocab{ranks: map[[2]string]int{}}
	if err := json.Unmarshal(b, &v.tokens); err != nil {
		t.Fatal(err)
	}
	mb, err := os.ReadFile(filepath.Join(dir, "vocab.bpe"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(mb), "\n")
	rank := 0
	for _, l := range lines[1:] {
		if a, c, ok := strings.Cut(l, " "); ok {
			v.ranks[[2]string{a, c}] = rank
			rank++
		}
	}
	return v
}

// mayChangeUnderNFC is a conservative test for text that NFC could alter
// (combining marks, Hangul jamo, compatibility singletons).
func mayChangeUnderNFC(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.M, r) || (r >= 0x1100 && r <= 0x11FF) || (r >= 0x0340 && r <= 0x0390) ||
			(r >= 0x1F00 && r <= 0x1FFF) || (r >= 0x2000 && r <= 0x2FFF) || (r >= 0xF900 && r <= 0xFAFF) ||
			(r >= 0x2F800 && r <= 0x2FA1F) || (r >= 0x0900 && r <= 0x0DFF) || r == 0xFFFD {
			return true
		}
	}
	return false
}

// TestHFGoldens encodes the shared HF goldens with New(<Split pattern>) and
// a reference byte-level BPE.
func TestHFGoldens(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	for _, name := range []string{"gpt2", "llama3", "qwen3"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(tokDir, name)
			var v *ggufVocab
			pat, ignore, nfc := PatternGPT2, false, false
			if name == "gpt2" {
				v = loadGPT2(t, dir)
			} else {
				v, pat, ignore = loadTokenizerJSON(t, filepath.Join(dir, "tokenizer.json"))
				nfc = name == "qwen3"
			}
			sp, err := New(pat)
			if err != nil {
				t.Fatal(err)
			}
			if !IsHandWritten(sp) {
				t.Errorf("pattern %q not recognised as hand-written", pat)
			}
			f, err := os.Open(filepath.Join(dir, "cases.jsonl"))
			if err != nil {
				t.Skip(err)
			}
			defer f.Close()
			sc := bufio.NewScanner(f)
			sc.Buffer(nil, 1<<24)
			n, bad, skipped := 0, 0, 0
			for sc.Scan() {
				var c struct {
					Text string `json:"text"`
					IDs  []int  `json:"ids"`
				}
				if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
					t.Fatal(err)
				}
				if nfc && mayChangeUnderNFC(c.Text) {
					skipped++
					continue
				}
				n++
				var ps []string
				segs, user := []string{c.Text}, []bool{false}
				if name != "gpt2" {
					segs, user = v.splitUser(c.Text)
				}
				var got []int
				for j, seg := range segs {
					if user[j] {
						got = append(got, v.tokens[seg])
						continue
					}
					ps = Strings(sp, seg, ps[:0])
					for _, p := range ps {
						ids, err := v.bpe(p, ignore)
						if err != nil {
							t.Fatalf("%q: %v", c.Text, err)
						}
						got = append(got, ids...)
					}
				}
				if !slices.Equal(got, c.IDs) {
					bad++
					t.Errorf("%q:\n pieces %q\n got  %v\n want %v", c.Text, Strings(sp, c.Text, nil), got, c.IDs)
				}
			}
			t.Logf("%s: %d/%d cases match (%d skipped: NFC)", name, n-bad, n, skipped)
		})
	}
}

// TestDeepSeekLLMClass checks the transcription of DeepSeek LLM's letter
// class: every range must be ordered and hold only cased letters (Lu, Ll,
// Lt), which catches code points altered by Unicode normalization.
func TestDeepSeekLLMClass(t *testing.T) {
	p := ggufDSLLM[1]
	body := strings.TrimSuffix(strings.TrimPrefix(p, `\s?[`), "]+")
	var rs []rune
	for i := 0; i < len(body); {
		if strings.HasPrefix(body[i:], `\x{`) {
			j := strings.IndexByte(body[i:], '}')
			var r rune
			fmt.Sscanf(body[i+3:i+j], "%X", &r)
			rs = append(rs, r)
			i += j + 1
			continue
		}
		r, w := utf8.DecodeRuneInString(body[i:])
		rs = append(rs, r)
		i += w
	}
	cased := func(r rune) bool { return unicode.In(r, unicode.Lu, unicode.Ll, unicode.Lt) }
	n := 0
	for k := 0; k < len(rs); k++ {
		lo, hi := rs[k], rs[k]
		if k+2 < len(rs) && rs[k+1] == '-' {
			hi = rs[k+2]
			k += 2
		}
		if lo > hi {
			t.Errorf("reversed range %U-%U", lo, hi)
		}
		for r := lo; r <= hi; r++ {
			n++
			if !cased(r) {
				t.Errorf("%U (%c) in range %U-%U is not a cased letter", r, r, lo, hi)
			}
		}
	}
	if n < 1000 {
		t.Errorf("only %d code points", n)
	}
}
