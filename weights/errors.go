package weights

import (
	"errors"
	"fmt"
)

// Sentinel errors classify the errors this package returns; test for them
// with errors.Is. Every error from a reader is an *Error that wraps one of
// them (and, where there is one, the underlying error too).
var (
	// ErrMalformed marks input that does not follow its format.
	ErrMalformed = errors.New("malformed checkpoint")
	// ErrUnsupported marks well-formed input using a feature this package
	// does not read: a GGUF version, tensor type or safetensors dtype.
	ErrUnsupported = errors.New("unsupported checkpoint feature")
	// ErrTruncated marks input that ends before its structure does. It is
	// also a kind of ErrMalformed.
	ErrTruncated = fmt.Errorf("%w: unexpected end of file", ErrMalformed)
)

// Error describes a problem found in a checkpoint file.
type Error struct {
	// Format is the reader that found the problem: "gguf", "safetensors",
	// "safetensors index", "config", or "weights" for Open itself.
	Format string
	// File names the file (its path, or the name given to ReadGGUF or
	// ReadSafetensors).
	File string
	// Offset is the byte offset at which the problem was found, or -1 when
	// no single offset is meaningful.
	Offset int64
	// Msg says what is wrong.
	Msg string
	// Kind is ErrMalformed, ErrTruncated or ErrUnsupported.
	Kind error
	// Err is the underlying error, if any.
	Err error
}

// Error formats the problem as "format: file: at byte N: message: cause".
func (e *Error) Error() string {
	s := e.Format + ": " + e.File + ": "
	if e.Offset >= 0 {
		s += fmt.Sprintf("at byte %d: ", e.Offset)
	}
	s += e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the error's kind and its underlying error.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

func newError(format, file string, off int64, kind error, msg string, args ...any) *Error {
	return &Error{Format: format, File: file, Offset: off, Kind: kind, Msg: fmt.Sprintf(msg, args...)}
}

// quote returns s quoted for a message, shortened if it is long.
func quote(s string) string {
	const max = 80
	if len(s) > max {
		return fmt.Sprintf("%q...", s[:max])
	}
	return fmt.Sprintf("%q", s)
}
