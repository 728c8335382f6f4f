package weights

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// WriteSafetensors writes tensors, in order and packed without gaps, as a
// safetensors file with meta (if non-empty) as its __metadata__. The header
// is padded with spaces so that the data starts 8-byte aligned. Quantized
// dtypes have no safetensors spelling and are refused.
func WriteSafetensors(w io.Writer, tensors []*Tensor, meta map[string]string) error {
	var h strings.Builder
	h.WriteByte('{')
	if len(meta) > 0 {
		m, err := json.Marshal(meta) // sorted keys
		if err != nil {
			return fmt.Errorf("safetensors: write: %w", err)
		}
		h.WriteString(`"` + metadataKey + `":`)
		h.Write(m)
	}
	seen := make(map[string]bool, len(tensors))
	var offset uint64
	for i, t := range tensors {
		if t.Name == metadataKey || seen[t.Name] {
			return fmt.Errorf("safetensors: write: tensor name %q is reserved or repeated", t.Name)
		}
		seen[t.Name] = true
		if _, ok := safetensorsDTypes[t.DType.String()]; !ok || !t.DType.Valid() {
			return fmt.Errorf("safetensors: write: tensor %q: safetensors cannot store dtype %s", t.Name, t.DType)
		}
		if err := checkTensorSize(t); err != nil {
			return fmt.Errorf("safetensors: write: %w", err)
		}
		if i > 0 || len(meta) > 0 {
			h.WriteByte(',')
		}
		name, _ := json.Marshal(t.Name) // marshaling a string cannot fail
		h.Write(name)
		h.WriteString(`:{"dtype":"` + t.DType.String() + `","shape":[`)
		for j, d := range t.Shape {
			if j > 0 {
				h.WriteByte(',')
			}
			h.WriteString(strconv.Itoa(d))
		}
		end := offset + uint64(len(t.Data))
		fmt.Fprintf(&h, `],"data_offsets":[%d,%d]}`, offset, end)
		offset = end
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}

	bw := bufio.NewWriterSize(w, 1<<16)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(h.Len()))
	bw.Write(n[:])
	bw.WriteString(h.String())
	for _, t := range tensors {
		bw.Write(t.Data)
	}
	if err := bw.Flush(); err != nil { // bufio keeps the first write error
		return fmt.Errorf("safetensors: write: %w", err)
	}
	return nil
}
