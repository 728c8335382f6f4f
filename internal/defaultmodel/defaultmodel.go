// Package defaultmodel embeds the model goformer runs when no -m is given:
// karpathy's stories260K (MIT), a 260K-parameter Llama trained on
// TinyStories, as GGUF F32 (see ../../shared/models/stories260K/README.md for
// its provenance and sha256).
package defaultmodel

import _ "embed"

// Name identifies the embedded model in messages.
const Name = "stories260K.gguf (embedded)"

// GGUF is the model file.
//
//go:embed stories260K.gguf
var GGUF []byte

// Context is the length stories260K was trained with; its GGUF says 2048, a
// converter default.
const Context = 512
