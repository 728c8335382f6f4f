package model

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/goformer/goformer/weights"
)

// Model is a loaded transformer family bound to a backend.
type Model interface {
	// Config returns the hyper-parameters the generation loop needs.
	Config() Config
	// Forward describes one pass over ops.Batch() and returns the logits of
	// the rows in Batch().Outputs: [len(Outputs), Vocab].
	Forward(ops Ops) Tensor
}

// Config is what every family shares with the generation loop.
type Config struct {
	Arch      string // registry name the model was loaded as
	Vocab     int
	Context   int // trained context length
	Layers    int
	Embed     int
	Heads     int
	KVHeads   int
	HeadDim   int
	FFN       int
	Params    int64 // total parameter count
	WeightTyp string
}

// CacheSpec returns the KV cache layout for seqs sequences of n positions.
func (c Config) CacheSpec(n, seqs int) CacheSpec {
	return CacheSpec{Layers: c.Layers, Context: n, KVDim: c.KVHeads * c.HeadDim, KVHeads: c.KVHeads, HeadDim: c.HeadDim, Sequences: max(seqs, 1)}
}

// Loader binds a family's weights from a checkpoint.
type Loader func(s *Source) (Model, error)

// Registry maps architecture names (GGUF general.architecture and Hugging
// Face config "architectures" entries) to loaders.
type Registry struct{ m map[string]Loader }

// Register adds a loader under one or more names.
func (r *Registry) Register(l Loader, names ...string) {
	if r.m == nil {
		r.m = map[string]Loader{}
	}
	for _, n := range names {
		r.m[n] = l
	}
}

// Names lists the registered architecture names.
func (r *Registry) Names() []string {
	var out []string
	for n := range r.m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Families is the registry of every family compiled into goformer. It is
// filled by the family files' init functions and never changes afterwards.
var Families Registry

// ErrUnsupported marks a checkpoint goformer refuses to run.
var ErrUnsupported = errors.New("unsupported model")

// Load binds the model in f to be, choosing the family by the checkpoint's
// architecture name.
func Load(f *weights.File, be Backend) (Model, error) {
	s := &Source{File: f, Backend: be}
	switch f.Format {
	case weights.FormatGGUF:
		arch, ok := f.Meta.String("general.architecture")
		if !ok {
			return nil, fmt.Errorf("%s: metadata key general.architecture missing", f.Path)
		}
		s.Arch, s.Meta = arch, f.Meta
	default:
		if f.Config == nil {
			return nil, fmt.Errorf("%s: no config.json", f.Path)
		}
		archs, ok := f.Config.Strings("architectures")
		if !ok || len(archs) == 0 {
			return nil, fmt.Errorf("%s: config.json has no \"architectures\" list", f.Path)
		}
		s.Arch, s.Meta, s.HF = archs[0], f.Config, true
	}
	l, ok := Families.m[s.Arch]
	if !ok {
		return nil, fmt.Errorf("%s: %w: architecture %q (supported: %s)", f.Path, ErrUnsupported, s.Arch, strings.Join(Families.Names(), ", "))
	}
	m, err := l(s)
	if err != nil {
		return nil, err
	}
	if err := s.checkAllUsed(); err != nil {
		return nil, err
	}
	return m, nil
}

// Source is what a family's loader reads: hyper-parameters and tensors,
// spelled the GGUF way or the Hugging Face way depending on HF.
type Source struct {
	File    *weights.File
	Backend Backend
	Arch    string
	HF      bool // Hugging Face directory (config.json names) rather than GGUF
	Meta    weights.Metadata
	used    map[string]bool
	params  int64
	types   map[weights.DType]int64
}

// Params returns the number of parameters bound so far.
func (s *Source) Params() int64 { return s.params }

// WeightType names the dominant stored type of the bound matrices.
func (s *Source) WeightType() string {
	best, n := weights.Invalid, int64(-1)
	for t, c := range s.types {
		if c > n || (c == n && t < best) {
			best, n = t, c
		}
	}
	return best.String()
}

// Weight binds the named tensor, checking its shape (outermost-first). An
// absent tensor is an error naming it.
func (s *Source) Weight(name string, shape ...int) (Weight, error) {
	w, ok, err := s.OptWeight(name, shape...)
	if err == nil && !ok {
		err = fmt.Errorf("%s: missing tensor %q", s.File.Path, name)
	}
	return w, err
}

// OptWeight binds the named tensor if present.
func (s *Source) OptWeight(name string, shape ...int) (Weight, bool, error) {
	t, ok := s.File.Tensor(name)
	if !ok {
		return nil, false, nil
	}
	if !slices.Equal(t.Shape, shape) {
		return nil, false, fmt.Errorf("%s: tensor %q has shape %v, the config implies %v", s.File.Path, name, t.Shape, shape)
	}
	w, err := s.Backend.Bind(t)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", s.File.Path, err)
	}
	if s.used == nil {
		s.used, s.types = map[string]bool{}, map[weights.DType]int64{}
	}
	s.used[name] = true
	n := int64(t.Elements())
	s.params += n
	if len(shape) == 2 {
		s.types[t.DType] += n
	}
	return w, true, nil
}

// MarkUnused records tensors a family deliberately ignores (e.g. a rotary
// frequency table it recomputes).
func (s *Source) MarkUnused(names ...string) {
	if s.used == nil {
		s.used, s.types = map[string]bool{}, map[weights.DType]int64{}
	}
	for _, n := range names {
		s.used[n] = true
	}
}

// checkAllUsed refuses checkpoints with tensors the family did not bind:
// they usually mean a variant the family does not implement.
func (s *Source) checkAllUsed() error {
	var extra []string
	for _, t := range s.File.Tensors {
		if !s.used[t.Name] {
			extra = append(extra, t.Name)
		}
	}
	if len(extra) == 0 {
		return nil
	}
	if len(extra) > 5 {
		extra = append(extra[:5], fmt.Sprintf("and %d more", len(extra)-5))
	}
	return fmt.Errorf("%s: %w: %s checkpoint has tensors goformer does not use: %s", s.File.Path, ErrUnsupported, s.Arch, strings.Join(extra, ", "))
}

// Hyper reads hyper-parameters, remembering the first error so a loader can
// read them all and check once.
type Hyper struct {
	s   *Source
	Err error
}

// Hyper returns a reader of the source's hyper-parameters.
func (s *Source) Hyper() *Hyper { return &Hyper{s: s} }

func (h *Hyper) where() string {
	if h.s.HF {
		return h.s.File.Path + ": config.json"
	}
	return h.s.File.Path
}

func (h *Hyper) fail(format string, args ...any) {
	if h.Err == nil {
		h.Err = fmt.Errorf("%s: "+format, append([]any{h.where()}, args...)...)
	}
}

// Int reads a required positive integer.
func (h *Hyper) Int(key string) int {
	v, ok := h.s.Meta.Int(key)
	if !ok {
		if _, present := h.s.Meta[key]; present {
			h.fail("key %q is %v, want an integer", key, h.s.Meta[key])
		} else {
			h.fail("missing key %q", key)
		}
		return 0
	}
	if v <= 0 || v > math.MaxInt32 {
		h.fail("key %q = %d out of range", key, v)
		return 0
	}
	return int(v)
}

// IntOr reads an optional positive integer.
func (h *Hyper) IntOr(key string, def int) int {
	if v, present := h.s.Meta[key]; !present || v == nil {
		return def
	}
	return h.Int(key)
}

// Float reads a required number.
func (h *Hyper) Float(key string) float64 {
	v, ok := h.s.Meta.Float(key)
	if !ok {
		h.fail("missing or non-numeric key %q", key)
	}
	return v
}

// FloatOr reads an optional number.
func (h *Hyper) FloatOr(key string, def float64) float64 {
	if v, present := h.s.Meta[key]; !present || v == nil {
		return def
	}
	return h.Float(key)
}

// BoolOr reads an optional boolean.
func (h *Hyper) BoolOr(key string, def bool) bool {
	v, present := h.s.Meta[key]
	if !present || v == nil {
		return def
	}
	b, ok := v.(bool)
	if !ok {
		h.fail("key %q is %v, want a boolean", key, v)
	}
	return b
}

// Check records an error when cond is false.
func (h *Hyper) Check(cond bool, format string, args ...any) {
	if !cond {
		h.fail(format, args...)
	}
}
