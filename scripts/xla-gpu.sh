#!/usr/bin/env bash
# xla-gpu.sh — goformer through XLA's CUDA PJRT plugin on an NVIDIA GPU,
# next to the native CPU backend, in one run on one machine:
#   1. greedy generation and log-probabilities of the tiny models (the
#      embedded stories260K and synth's tiny checkpoint of every family) on
#      the GPU must equal the CPU backend's (go test TestPluginMatchesNative),
#      and 'goformer generate' prints the same text on both;
#   2. decode and 512-token prefill tokens/s on the llama3.2-1b synthetic
#      shape (bf16), native CPU and CUDA in the same process (go test -bench;
#      CUDA with float32 products, and with bfloat16 products: xla-bf16),
#      and goformer bench's CPU figures for the same file.
#
# Usage: scripts/xla-gpu.sh [PLUGIN]
#   PLUGIN is the CUDA PJRT plugin's path; by default $GOFORMER_CUDA_PLUGIN,
#   else the xla_cuda_plugin.so of jax's jax-cuda13-pjrt (or -cuda12-) Python
#   package, found by path. Nothing is downloaded.
#   scripts/xla-gpu.sh build   only builds the binaries into .xla-gpu/ (for
#   a GPU machine without Go: copy the tree with .xla-gpu/ and run there).
# Environment: OUT (results directory, default .xla-gpu/out), SHAPE
# (default llama3.2-1b), DECODE_N (default 64), PREFILL_N (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin=$root/.xla-gpu
out=${OUT:-$bin/out}
shape=${SHAPE:-llama3.2-1b}
mkdir -p "$bin" "$out"

build() {
	echo "== building into $bin"
	go build -o "$bin/goformer" ./cmd/goformer
	go test -c -o "$bin/xla.test" ./backend/xla
}
if [ "${1:-}" = build ]; then
	build
	exit 0
fi
if command -v go >/dev/null; then
	build
elif [ ! -x "$bin/goformer" ] || [ ! -x "$bin/xla.test" ]; then
	echo "no Go toolchain and no prebuilt $bin/goformer, $bin/xla.test: run 'scripts/xla-gpu.sh build' first" >&2
	exit 1
fi

# --- the plugin, found by path ------------------------------------------
plugin=${1:-${GOFORMER_CUDA_PLUGIN:-}}
if [ -z "$plugin" ]; then
	for py in python3 python; do
		command -v "$py" >/dev/null || continue
		plugin=$("$py" - <<'PY' 2>/dev/null || true
import glob, os, site, sys
dirs = list(sys.path)
try:
    dirs += site.getsitepackages() + [site.getusersitepackages()]
except Exception:
    pass
for d in dirs:
    for v in ("xla_cuda13", "xla_cuda12"):
        for p in glob.glob(os.path.join(d, "jax_plugins", v, "xla_cuda_plugin.so")):
            print(p); sys.exit(0)
PY
)
		[ -n "$plugin" ] && break
	done
fi
if [ -z "$plugin" ]; then
	plugin=$(find / -xdev -path '*jax_plugins/xla_cuda1[23]/xla_cuda_plugin.so' 2>/dev/null | head -1 || true)
fi
if [ -z "$plugin" ] || [ ! -f "$plugin" ]; then
	echo "CUDA PJRT plugin not found: pip install jax-cuda13-pjrt (or pass its xla_cuda_plugin.so path as the argument)" >&2
	exit 1
fi
echo "== plugin: $plugin"
# The plugin loads CUDA libraries from the nvidia-* wheels beside it.
site=$(dirname "$(dirname "$(dirname "$plugin")")")
libs=$(find "$site/nvidia" -maxdepth 2 -type d -name lib 2>/dev/null | tr '\n' ':' || true)
export LD_LIBRARY_PATH="${libs}${LD_LIBRARY_PATH:-}"
# XLA compiles kernels with ptxas and libdevice from the nvcc wheel
# (goformer also points XLA_FLAGS at that directory by itself).
ptxas=$(find "$site/nvidia" -maxdepth 3 -type f -name ptxas 2>/dev/null | head -1 || true)
[ -n "$ptxas" ] && export PATH="$(dirname "$ptxas"):$PATH"
export GOMLX_NO_AUTO_INSTALL=1 # belt and braces: goformer never auto-installs anyway
export GOFORMER_XLA_PLUGIN=$plugin
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"

# --- 1. tiny models: GPU equals CPU --------------------------------------
echo "== tiny models: greedy and log-probabilities, native vs CUDA"
# Full float32 products for the comparison (cuBLAS may otherwise use TF32
# for float32 matrix products on Ampere and later).
(cd backend/xla && NVIDIA_TF32_OVERRIDE=0 "$bin/xla.test" -test.run 'TestPluginMatchesNative' -test.v) 2>&1 | tee "$out/equality.txt"
prompt="Once upon a time"
"$bin/goformer" generate --temperature 0 -n 48 --ignore-eos "$prompt" >"$out/gen-native.txt"
NVIDIA_TF32_OVERRIDE=0 "$bin/goformer" generate --backend "xla:$plugin" --temperature 0 -n 48 --ignore-eos "$prompt" >"$out/gen-cuda.txt"
if cmp -s "$out/gen-native.txt" "$out/gen-cuda.txt"; then
	echo "generate (stories260K, greedy): CUDA text equals native"
else
	echo "generate (stories260K, greedy): CUDA text DIFFERS from native"; diff "$out/gen-native.txt" "$out/gen-cuda.txt" || true
fi

# --- 2. speed on the synthetic shape -------------------------------------
model=$bin/$shape-bf16.gguf
if [ ! -f "$model" ]; then
	echo "== writing the synthetic $shape checkpoint (bf16)"
	"$bin/goformer" synth --arch llama --shape "$shape" --dtype bf16 --tokenizers "$root/../shared/tokenizers" -o "$model" ||
		"$bin/goformer" synth --arch llama --shape "$shape" --dtype bf16 --tokenizers "$root/shared/tokenizers" -o "$model"
fi
echo "== tokens/s on $shape (bf16): native CPU and CUDA, same process"
(cd backend/xla && GOFORMER_BENCH_MODEL=$model "$bin/xla.test" -test.run '^$' \
	-test.bench 'Decode' -test.benchtime "${DECODE_N:-64}x") 2>&1 | tee "$out/bench-decode.txt"
(cd backend/xla && GOFORMER_BENCH_MODEL=$model "$bin/xla.test" -test.run '^$' \
	-test.bench 'Prefill' -test.benchtime "${PREFILL_N:-3}x") 2>&1 | tee "$out/bench-prefill.txt"
echo "== goformer bench (native CPU) on the same file"
"$bin/goformer" bench -m "$model" -p 512 -n 64 -r 2 2>&1 | tee "$out/goformer-bench-native.txt"
if "$bin/goformer" bench -h 2>&1 | grep -q -- '-backend'; then
	echo "== goformer bench --backend xla"
	"$bin/goformer" bench -m "$model" -p 512 -n 64 -r 2 --backend "xla:$plugin" 2>&1 | tee "$out/goformer-bench-cuda.txt"
fi

# --- summary -------------------------------------------------------------
echo
echo "== summary ($shape bf16; $(cat "$out/gpu.txt" 2>/dev/null || echo 'GPU unknown'); CPU: $(nproc) threads)"
cat "$out/bench-decode.txt" "$out/bench-prefill.txt" | awk '
	/^Benchmark/ { for (i = 1; i <= NF; i++) if ($(i+1) == "tokens/s") { split($1, p, "/"); sub(/-[0-9]+$/, "", p[2]); t[p[1] "/" p[2]] = $i } }
	END {
		for (k in t) printf "%-28s %12.1f tokens/s\n", k, t[k]
		if (t["BenchmarkDecode/native"] > 0 && t["BenchmarkDecode/xla"] > 0) printf "decode  CUDA/CPU ratio: %.2fx\n", t["BenchmarkDecode/xla"] / t["BenchmarkDecode/native"]
		if (t["BenchmarkPrefill/native"] > 0 && t["BenchmarkPrefill/xla"] > 0) printf "prefill CUDA/CPU ratio: %.2fx\n", t["BenchmarkPrefill/xla"] / t["BenchmarkPrefill/native"]
		if (t["BenchmarkDecode/native"] > 0 && t["BenchmarkDecode/xla-bf16"] > 0) printf "decode  CUDA(bf16 products)/CPU ratio: %.2fx\n", t["BenchmarkDecode/xla-bf16"] / t["BenchmarkDecode/native"]
		if (t["BenchmarkPrefill/native"] > 0 && t["BenchmarkPrefill/xla-bf16"] > 0) printf "prefill CUDA(bf16 products)/CPU ratio: %.2fx\n", t["BenchmarkPrefill/xla-bf16"] / t["BenchmarkPrefill/native"]
	}' | tee "$out/summary.txt"
