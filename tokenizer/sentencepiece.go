package tokenizer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
)

// FromSentencePieceFile loads a SentencePiece model (tokenizer.model).
func FromSentencePieceFile(path string) (*Tokenizer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := FromSentencePiece(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// SentencePiece piece types.
const (
	spNormal      = 1
	spUnknown     = 2
	spControl     = 3
	spUserDefined = 4
	spUnused      = 5
	spByte        = 6
)

// spModel is the part of a SentencePiece ModelProto used here.
type spModel struct {
	pieces []string
	scores []float32
	types  []int

	modelType      int // 1 unigram, 2 BPE, 3 word, 4 char
	byteFallback   bool
	unkID, bosID   int
	eosID, padID   int
	charsmap       []byte
	addDummyPrefix bool
	removeExtraWS  bool
	escapeWS       bool
	wsSuffix       bool // treat_whitespace_as_suffix
}

// FromSentencePiece builds a tokenizer from the bytes of a SentencePiece
// model protobuf, with SentencePiece's semantics: the normalizer spec
// (precompiled character map, extra-whitespace removal, dummy prefix,
// whitespace escaped as "▁"), BPE or Unigram over the piece scores, byte
// fallback, user-defined pieces matched in the normalized text. Control
// pieces (<s>, </s>) are not matched in text unless EncodeSpecial is used.
// BOS is added by Encode(text, true) when the model defines one.
func FromSentencePiece(data []byte) (*Tokenizer, error) {
	m, err := parseSPModel(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: SentencePiece model: %w", err)
	}
	n := len(m.pieces)
	if n == 0 {
		return nil, errors.New("tokenizer: SentencePiece model has no pieces")
	}
	t := &Tokenizer{vocab: m.pieces, fam: famSPM, bos: -1, eos: -1, unk: -1, pad: -1}
	t.attr = make([]tokenAttr, n)
	for i, typ := range m.types {
		switch typ {
		case spUnknown:
			t.attr[i] = attrUnknown
		case spControl:
			t.attr[i] = attrControl
		case spUserDefined:
			t.attr[i] = attrUserDefined
		case spUnused:
			t.attr[i] = attrUnused
		case spByte:
			t.attr[i] = attrByte
		default:
			t.attr[i] = attrNormal
		}
	}
	t.toID = make(map[string]int, n)
	for id, s := range m.pieces {
		if _, dup := t.toID[s]; !dup {
			t.toID[s] = id
		}
	}
	inRange := func(id int) int {
		if id >= 0 && id < n {
			return id
		}
		return -1
	}
	t.unk, t.bos, t.eos, t.pad = inRange(m.unkID), inRange(m.bosID), inRange(m.eosID), inRange(m.padID)
	t.addBOS = t.bos >= 0
	t.spacePrefix = m.addDummyPrefix

	var norm seqNormalizer
	if len(m.charsmap) > 0 {
		p, err := newPrecompiled(m.charsmap)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: SentencePiece precompiled_charsmap: %w", err)
		}
		norm = append(norm, p)
	}
	if m.removeExtraWS {
		norm = append(norm, extraSpaceNormalizer{})
	}
	if m.addDummyPrefix {
		if m.wsSuffix {
			norm = append(norm, appendNormalizer{" "})
		} else {
			norm = append(norm, prependNormalizer{" "})
		}
	}
	if m.escapeWS {
		norm = append(norm, replaceNormalizer{replacer{literal: " ", content: "\u2581"}})
	}
	t.norm = norm

	switch m.modelType {
	case 2: // BPE
		bm := &bpeModel{vocab: t.toID, unk: t.unk, cache: newWordCache(), byteFallback: m.byteFallback}
		bm.merges = spmMerges(t.vocab, m.scores, t.attr, t.toID)
		for b := range bm.byteIDs {
			bm.byteIDs[b] = -1
			if id, ok := t.toID[byteTokenName(byte(b))]; ok && t.attr[id]&attrByte != 0 {
				bm.byteIDs[b] = int32(id)
			}
		}
		bm.setupChunking(t.vocab)
		t.model = bm
	case 1, 0: // Unigram (the default)
		sc := make([]float64, n)
		for i, s := range m.scores {
			sc[i] = float64(s)
		}
		um := newUnigram(t.vocab, sc, t.unk, m.byteFallback, func(id int) bool {
			return t.attr[id]&attrNormal != 0
		})
		t.model = um
	default:
		return nil, fmt.Errorf("tokenizer: SentencePiece model type %d (word/char) is not supported", m.modelType)
	}
	t.parseAdded = matchUserDefined
	var added []addedToken
	for id, a := range t.attr {
		if a&(attrControl|attrUserDefined) == 0 || t.vocab[id] == "" {
			continue
		}
		ud := a&attrUserDefined != 0
		added = append(added, addedToken{id: id, content: t.vocab[id], special: !ud, normalized: ud})
	}
	t.added = newAddedVocab(added)
	t.setEOG()
	t.finish()
	return t, nil
}

// appendNormalizer appends a string to non-empty text.
type appendNormalizer struct{ suffix string }

func (p appendNormalizer) normalize(s string) string {
	if s == "" {
		return s
	}
	return s + p.suffix
}

// protobuf wire reading.

type pbReader struct {
	b   []byte
	err error
}

func (r *pbReader) varint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *pbReader) fail(msg string) {
	if r.err == nil {
		r.err = errors.New(msg)
	}
	r.b = nil
}

// next returns the next field: number, wire type, and for length-delimited
// fields the payload, for varints the value, for fixed32 the bits.
func (r *pbReader) next() (field int, wt int, val uint64, payload []byte, ok bool) {
	if len(r.b) == 0 || r.err != nil {
		return 0, 0, 0, nil, false
	}
	key := r.varint()
	if r.err != nil {
		return 0, 0, 0, nil, false
	}
	field, wt = int(key>>3), int(key&7)
	switch wt {
	case 0:
		val = r.varint()
	case 1:
		if len(r.b) < 8 {
			r.fail("truncated fixed64")
			return 0, 0, 0, nil, false
		}
		val = binary.LittleEndian.Uint64(r.b)
		r.b = r.b[8:]
	case 2:
		l := r.varint()
		if r.err != nil || l > uint64(len(r.b)) {
			r.fail("truncated length-delimited field")
			return 0, 0, 0, nil, false
		}
		payload = r.b[:l]
		r.b = r.b[l:]
	case 5:
		if len(r.b) < 4 {
			r.fail("truncated fixed32")
			return 0, 0, 0, nil, false
		}
		val = uint64(binary.LittleEndian.Uint32(r.b))
		r.b = r.b[4:]
	default:
		r.fail(fmt.Sprintf("unsupported wire type %d", wt))
		return 0, 0, 0, nil, false
	}
	if r.err != nil {
		return 0, 0, 0, nil, false
	}
	return field, wt, val, payload, true
}

func parseSPModel(data []byte) (*spModel, error) {
	m := &spModel{modelType: 1, unkID: 0, bosID: 1, eosID: 2, padID: -1,
		addDummyPrefix: true, removeExtraWS: true, escapeWS: true}
	r := &pbReader{b: data}
	for {
		f, wt, _, payload, ok := r.next()
		if !ok {
			break
		}
		if wt != 2 {
			continue
		}
		switch f {
		case 1: // SentencePiece
			piece, score, typ := "", float32(0), spNormal
			pr := &pbReader{b: payload}
			for {
				f, wt, v, p, ok := pr.next()
				if !ok {
					break
				}
				switch {
				case f == 1 && wt == 2:
					piece = string(p)
				case f == 2 && wt == 5:
					score = math.Float32frombits(uint32(v))
				case f == 3 && wt == 0:
					typ = int(v)
				}
			}
			if pr.err != nil {
				return nil, fmt.Errorf("piece %d: %w", len(m.pieces), pr.err)
			}
			m.pieces = append(m.pieces, piece)
			m.scores = append(m.scores, score)
			m.types = append(m.types, typ)
		case 2: // TrainerSpec
			tr := &pbReader{b: payload}
			for {
				f, wt, v, _, ok := tr.next()
				if !ok {
					break
				}
				if wt != 0 {
					continue
				}
				switch f {
				case 3:
					m.modelType = int(v)
				case 24:
					m.wsSuffix = v != 0
				case 35:
					m.byteFallback = v != 0
				case 40:
					m.unkID = int(int32(v))
				case 41:
					m.bosID = int(int32(v))
				case 42:
					m.eosID = int(int32(v))
				case 43:
					m.padID = int(int32(v))
				}
			}
			if tr.err != nil {
				return nil, fmt.Errorf("trainer_spec: %w", tr.err)
			}
		case 3: // NormalizerSpec
			nr := &pbReader{b: payload}
			for {
				f, wt, v, p, ok := nr.next()
				if !ok {
					break
				}
				switch {
				case f == 2 && wt == 2:
					m.charsmap = p
				case f == 3 && wt == 0:
					m.addDummyPrefix = v != 0
				case f == 4 && wt == 0:
					m.removeExtraWS = v != 0
				case f == 5 && wt == 0:
					m.escapeWS = v != 0
				}
			}
			if nr.err != nil {
				return nil, fmt.Errorf("normalizer_spec: %w", nr.err)
			}
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	return m, nil
}
