package pretok

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// peerDir holds llama.cpp's tokenizer test vocabularies (see its README).
const peerDir = "../../../shared/peer-vocab"

// ggufVocab is the part of a GGUF tokenizer this test needs.
type ggufVocab struct {
	pre    string
	model  string
	tokens map[string]int
	ranks  map[[2]string]int
	types  []int32
	user   []string // USER_DEFINED tokens (HF added tokens, matched before pre-tokenization)
}

// readGGUFVocab reads tokenizer metadata from a GGUF file (a minimal reader
// for test purposes: metadata only, little-endian, version 2 or 3).
func readGGUFVocab(path string) (*ggufVocab, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var hdr struct {
		Magic   [4]byte
		Version uint32
		NTensor uint64
		NKV     uint64
	}
	if err := binary.Read(r, binary.LittleEndian, &hdr); err != nil {
		return nil, err
	}
	if string(hdr.Magic[:]) != "GGUF" || hdr.Version < 2 {
		return nil, fmt.Errorf("%s: not a GGUF v2+ file", path)
	}
	u32 := func() uint32 { var v uint32; binary.Read(r, binary.LittleEndian, &v); return v }
	u64 := func() uint64 { var v uint64; binary.Read(r, binary.LittleEndian, &v); return v }
	str := func() (string, error) {
		n := u64()
		if n > 1<<30 {
			return "", fmt.Errorf("bad string length %d", n)
		}
		b := make([]byte, n)
		_, err := io.ReadFull(r, b)
		return string(b), err
	}
	sizes := map[uint32]int{0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
	v := &ggufVocab{tokens: map[string]int{}, ranks: map[[2]string]int{}}
	var skip func(t uint32) error
	skip = func(t uint32) error {
		if n, ok := sizes[t]; ok {
			_, err := r.Discard(n)
			return err
		}
		switch t {
		case 8:
			_, err := str()
			return err
		case 9:
			et, n := u32(), u64()
			for range n {
				if err := skip(et); err != nil {
					return err
				}
			}
			return nil
		}
		return fmt.Errorf("unknown GGUF type %d", t)
	}
	for range hdr.NKV {
		key, err := str()
		if err != nil {
			return nil, err
		}
		t := u32()
		switch {
		case t == 8 && (key == "tokenizer.ggml.pre" || key == "tokenizer.ggml.model"):
			s, err := str()
			if err != nil {
				return nil, err
			}
			if key == "tokenizer.ggml.pre" {
				v.pre = s
			} else {
				v.model = s
				if s != "gpt2" {
					return v, nil // not byte-level BPE: nothing more to read
				}
			}
		case t == 9 && key == "tokenizer.ggml.token_type":
			et, n := u32(), u64()
			if et != 5 {
				return nil, fmt.Errorf("%s: element type %d", key, et)
			}
			v.types = make([]int32, n)
			if err := binary.Read(r, binary.LittleEndian, v.types); err != nil {
				return nil, err
			}
		case t == 9 && (key == "tokenizer.ggml.tokens" || key == "tokenizer.ggml.merges"):
			et, n := u32(), u64()
			if et != 8 {
				return nil, fmt.Errorf("%s: element type %d", key, et)
			}
			for i := range int(n) {
				s, err := str()
				if err != nil {
					return nil, err
				}
				if key == "tokenizer.ggml.tokens" {
					if _, dup := v.tokens[s]; !dup {
						v.tokens[s] = i
					}
				} else if a, b, ok := strings.Cut(s, " "); ok {
					v.ranks[[2]string{a, b}] = i
				}
			}
		default:
			if err := skip(t); err != nil {
				return nil, err
			}
		}
	}
	for tok, id := range v.tokens {
		if id < len(v.types) && v.types[id] == 4 {
			v.user = append(v.user, tok) // stored as plain text

		}
	}
	return v, nil
}

// splitUser splits text around the longest user-defined token at the
// leftmost position, as HF does with added tokens.
func (v *ggufVocab) splitUser(text string) (segs []string, isUser []bool) {
	start := 0
	for i := 0; i < len(text); {
		best := ""
		for _, u := range v.user {
			if len(u) > len(best) && strings.HasPrefix(text[i:], u) {
				best = u
			}
		}
		if best == "" {
			i++
			continue
		}
		if i > start {
			segs, isUser = append(segs, text[start:i]), append(isUser, false)
		}
		segs, isUser = append(segs, best), append(isUser, true)
		i += len(best)
		start = i
	}
	if start < len(text) {
		segs, isUser = append(segs, text[start:]), append(isUser, false)
	}
	return segs, isUser
}

// byteRunes is GPT-2's byte-to-unicode table.
var byteRunes = func() [256]rune {
	var t [256]rune
	n := 0
	for b := range 256 {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			t[b] = rune(b)
		} else {
			t[b] = rune(256 + n)
			n++
		}
	}
	return t
}()

// bpe encodes one pre-token with byte-level BPE.
func (v *ggufVocab) bpe(piece string, ignoreMerges bool) ([]int, error) {
	var enc strings.Builder
	for i := 0; i < len(piece); i++ {
		enc.WriteRune(byteRunes[piece[i]])
	}
	if id, ok := v.tokens[enc.String()]; ok && ignoreMerges {
		return []int{id}, nil
	}
	var syms []string
	for _, r := range enc.String() {
		syms = append(syms, string(r))
	}
	for len(syms) > 1 {
		best, at := -1, -1
		for i := 0; i+1 < len(syms); i++ {
			if rk, ok := v.ranks[[2]string{syms[i], syms[i+1]}]; ok && (best < 0 || rk < best) {
				best, at = rk, i
			}
		}
		if at < 0 {
			break
		}
		syms[at] += syms[at+1]
		syms = slices.Delete(syms, at+1, at+2)
	}
	ids := make([]int, len(syms))
	for i, s := range syms {
		id, ok := v.tokens[s]
		if !ok {
			return nil, fmt.Errorf("symbol %q not in vocabulary", s)
		}
		ids[i] = id
	}
	return ids, nil
}

// TestPeerVocabularies pre-tokenizes llama.cpp's test strings with
// ForGGUFPre(tokenizer.ggml.pre), encodes the pieces with a reference
// byte-level BPE and compares with the ids HF transformers produced.
func TestPeerVocabularies(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(peerDir, "*.gguf"))
	if len(files) == 0 {
		t.Skipf("no peer vocabularies in %s", peerDir)
	}
	if testing.Short() {
		t.Skip("short mode")
	}
	for _, path := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(path), "ggml-vocab-"), ".gguf")
		t.Run(name, func(t *testing.T) {
			v, err := readGGUFVocab(path)
			if err != nil {
				t.Fatal(err)
			}
			if v.model != "gpt2" {
				t.Skipf("tokenizer.ggml.model %q is not byte-level BPE", v.model)
			}
			sp, err := ForGGUFPre(v.pre)
			if err != nil {
				t.Fatal(err)
			}
			inp, err1 := os.ReadFile(path + ".inp")
			out, err2 := os.ReadFile(path + ".out")
			if err1 != nil || err2 != nil {
				t.Skip("no .inp/.out")
			}
			tests := strings.Split(string(inp), "\n__ggml_vocab_test__\n")
			if tests[len(tests)-1] == "" {
				tests = tests[:len(tests)-1]
			}
			lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
			if len(lines) != len(tests) {
				t.Fatalf("%d tests, %d result lines", len(tests), len(lines))
			}
			ignore := v.pre == "llama-bpe" || v.pre == "llama3"
			bad := 0
			for k, text := range tests {
				var want []int
				for _, f := range strings.Fields(lines[k]) {
					id, _ := strconv.Atoi(f)
					want = append(want, id)
				}
				var got []int
				var ps []string
				segs, user := v.splitUser(text)
				for j, seg := range segs {
					if user[j] {
						ps = append(ps, seg)
						continue
					}
					ps = Strings(sp, seg, ps)
				}
				for _, p := range ps {
					if id, ok := v.tokens[p]; ok && slices.Contains(v.user, p) {
						got = append(got, id)
						continue
					}
					ids, err := v.bpe(p, ignore)
					if err != nil {
						t.Fatalf("%q: %v", text, err)
					}
					got = append(got, ids...)
				}
				if !slices.Equal(got, want) {
					bad++
					t.Errorf("%s %q:\n pieces %q\n got  %v\n want %v", v.pre, text, ps, got, want)
				}
			}
			t.Logf("%s: %d/%d strings match", v.pre, len(tests)-bad, len(tests))
		})
	}
}
