package tokenizer

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"unicode/utf8"
)

// precompiledNormalizer is SentencePiece's precompiled character map
// (normalizer_spec.precompiled_charsmap, Hugging Face "Precompiled"): a
// double-array trie (darts-clone layout) from input byte sequences to
// replacement strings. At each position the longest matching key is
// replaced; text no key matches is copied one character at a time.
type precompiledNormalizer struct {
	units  []uint32
	strs   []byte // NUL-terminated replacement strings
	maxKey int
}

func newPrecompiledFromBase64(s string) (*precompiledNormalizer, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	return newPrecompiled(b)
}

func newPrecompiled(b []byte) (*precompiledNormalizer, error) {
	if len(b) < 4 {
		return nil, errors.New("precompiled charsmap too short")
	}
	size := binary.LittleEndian.Uint32(b)
	if size%4 != 0 || uint64(size) > uint64(len(b)-4) || size < 4 {
		return nil, errors.New("precompiled charsmap: bad trie size")
	}
	p := &precompiledNormalizer{units: make([]uint32, size/4), strs: b[4+size:]}
	for i := range p.units {
		p.units[i] = binary.LittleEndian.Uint32(b[4+4*i:])
	}
	return p, nil
}

func dartsOffset(u uint32) uint32 { return (u >> 10) << ((u & (1 << 9)) >> 6) }
func dartsLabel(u uint32) uint32  { return u & ((1 << 31) | 0xFF) }
func dartsHasLeaf(u uint32) bool  { return (u>>8)&1 == 1 }
func dartsValue(u uint32) uint32  { return u & ((1 << 31) - 1) }

// longest returns the replacement for the longest key that prefixes s and
// the key's length, or ok=false.
func (p *precompiledNormalizer) longest(s string) (rep string, n int, ok bool) {
	units := p.units
	pos := uint32(0)
	if len(units) == 0 {
		return "", 0, false
	}
	pos ^= dartsOffset(units[0])
	for i := 0; i < len(s); i++ {
		c := uint32(s[i])
		pos ^= c
		if pos >= uint32(len(units)) {
			break
		}
		u := units[pos]
		if dartsLabel(u) != c {
			break
		}
		pos ^= dartsOffset(u)
		if pos >= uint32(len(units)) {
			break
		}
		if dartsHasLeaf(u) {
			v := dartsValue(units[pos])
			if int(v) < len(p.strs) {
				end := strings.IndexByte(string(p.strs[v:]), 0)
				if end < 0 {
					end = len(p.strs) - int(v)
				}
				rep, n, ok = string(p.strs[v:int(v)+end]), i+1, true
			}
		}
	}
	return rep, n, ok
}

func (p *precompiledNormalizer) normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	changed := false
	for i := 0; i < len(s); {
		if rep, n, ok := p.longest(s[i:]); ok {
			b.WriteString(rep)
			i += n
			changed = true
			continue
		}
		_, w := utf8.DecodeRuneInString(s[i:])
		b.WriteString(s[i : i+w])
		i += w
	}
	if !changed {
		return s
	}
	return b.String()
}
