// Package hftok is an optional tokenizer backend over Hugging Face's Rust
// tokenizers library, through github.com/daulet/tokenizers (cgo).
//
// It is only built with the build tag hftokenizers and cgo, and needs the
// Rust-built static library libtokenizers.a on the linker path (see
// github.com/daulet/tokenizers: build it with cargo, or take a release
// archive, then `CGO_LDFLAGS=-L/dir/with/lib go build -tags hftokenizers`).
// The default goformer build never needs it: goformer's own tokenizer
// package is pure Go and is what everything uses. This backend exists for
// users who want the reference implementation itself, and for the parity
// test (hftok_test.go) that compares the two on the shared golden texts.
//
// Tokenizer implements tokenizer.Codec, the interface goformer's own
// *tokenizer.Tokenizer implements too.
package hftok
