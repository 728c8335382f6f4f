#!/usr/bin/env bash
# Compares goformer with llama.cpp on synthetic GGUF files at real shapes and
# prints a Markdown table (see bench/README.md). Flags go to bench/cmd/compare:
#   bash bench/compare.sh                                  # qwen2.5-0.5b + llama3.2-1b × f32,bf16,q8_0,q4_k
#   bash bench/compare.sh -models qwen2.5-0.5b -types q8_0 -r 2
# Needs Go, Node.js and npm (node-llama-cpp is installed into bench/node_modules/peer
# when $GOFORMER_PEER does not point at an install). Takes 10-12 minutes per round (-rounds, default 2) for the
# default set on a 2-core machine; run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d "${TMPDIR:-/tmp}/goformer-compare.XXXXXX")
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/compare" ./bench/cmd/compare
"$bin/compare" "$@"
