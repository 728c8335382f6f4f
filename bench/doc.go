// Package bench is goformer's benchmark harness: llama-bench style
// measurements of prompt processing and generation throughput, and the
// scripts that compare goformer with llama.cpp on the same files.
package bench
