//go:build !(cgo && ((linux && amd64) || darwin))

package xla

import "github.com/goformer/goformer/backend/gomlx"

// Compiled reports whether this build includes the XLA backend.
const Compiled = false

// New reports ErrNotCompiled: this build has no XLA backend.
func New(plugin string, o gomlx.Options) (*gomlx.Backend, error) { return nil, ErrNotCompiled }

// Install reports ErrNotCompiled: this build has no XLA backend.
func Install(dir string, cuda bool) error { return ErrNotCompiled }
