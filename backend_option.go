package goformer

import "github.com/goformer/goformer/model"

// WithBackend runs the model on be instead of the native CPU backend (nil:
// native). The Model owns be from then on: it is closed when the Model
// closes, or when Load fails.
func WithBackend(be model.Backend) Option { return func(o *loadOptions) { o.backend = be } }
