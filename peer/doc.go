// Package peer holds goformer's comparisons with independent engines: its
// tests run llama.cpp (the npm package node-llama-cpp 3.21.1, CPU build)
// through llamacpp.mjs on synthetic checkpoints of every family and compare
// next-token log-probabilities, greedy continuations and embeddings with
// goformer's. They skip when node or the package is missing; set
// GOFORMER_PEER to the node_modules folder holding node-llama-cpp, or install
// it in ../peer beside the repository:
//
//	npm i -E --omit=optional node-llama-cpp@3.21.1 @node-llama-cpp/linux-x64@3.21.1
package peer
