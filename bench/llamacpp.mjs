// llamacpp.mjs measures llama.cpp the way llama-bench does, through the npm
// package node-llama-cpp (CPU build), and prints llama-bench's JSON: a list
// with one object per test.
//
//   node bench/llamacpp.mjs --model F.gguf [--p 512] [--n 128] [--r 3] [--t 2]
//        [--c CONTEXT] [--mmap] [--kv f16|f32] [--peer DIR] [--step]
//
// ppN: N random token ids decoded from an empty KV cache in batches of 512
// (logits of the last token only); tgN: N single-token decodes from an empty
// cache, each computing logits. One warm-up run precedes each test. Tokens go
// straight to the native context (initBatch/addToBatch/decodeBatch, the
// llama_decode calls llama-bench makes): no sampling, no detokenization.
//
// --step: before each warm-up and repetition, write "step TEST REP/REPS" (REP
// 0: the warm-up) to stderr and wait for a line on stdin, as `goformer bench
// -step` does, so that bench/cmd/compare can run the two in lockstep.
//
// The package is looked up in --peer DIR, $GOFORMER_PEER, bench/node_modules
// or /work/peer (each a folder holding node_modules/node-llama-cpp).
import {existsSync} from "node:fs";
import {join, dirname, basename} from "node:path";
import {fileURLToPath, pathToFileURL} from "node:url";
import {cpus} from "node:os";
import {createInterface} from "node:readline";

function parseArgs(argv) {
    const o = {p: "512", n: "128", r: 3, t: 2, c: 0, mmap: false, kv: "f16", peer: "", step: false};
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i].replace(/^--?/, "");
        if (a === "mmap") { o.mmap = true; continue; }
        if (a === "no-mmap") { o.mmap = false; continue; }
        if (a === "step") { o.step = true; continue; }
        if (i + 1 >= argv.length) throw new Error(`flag --${a} needs a value`);
        o[a] = argv[++i];
    }
    if (!o.model) throw new Error("--model is required");
    const list = (s, flag) => String(s).split(",").map((x) => {
        const v = Number(x.trim());
        if (!Number.isInteger(v) || v < 0) throw new Error(`--${flag}: ${JSON.stringify(x)} is not a non-negative integer`);
        return v;
    });
    o.p = list(o.p, "p").filter((v) => v > 0);
    o.n = list(o.n, "n").filter((v) => v > 0);
    o.r = Number(o.r); o.t = Number(o.t); o.c = Number(o.c);
    if (!(o.r >= 1) || !(o.t >= 1)) throw new Error("--r and --t must be at least 1");
    if (o.kv !== "f16" && o.kv !== "f32") throw new Error(`--kv ${o.kv}: want f16 or f32`);
    return o;
}

function findPeer(flag) {
    const here = dirname(fileURLToPath(import.meta.url));
    const dirs = [flag, process.env.GOFORMER_PEER, join(here, "node_modules", "peer"), "/work/peer"].filter(Boolean);
    for (const d of dirs) {
        const index = join(d, "node_modules", "node-llama-cpp", "dist", "index.js");
        if (existsSync(index)) return index;
    }
    throw new Error(`node-llama-cpp not found in ${dirs.join(", ")} (install: npm i -E --omit=optional node-llama-cpp@3.21.1 @node-llama-cpp/linux-x64@3.21.1)`);
}

const meanStd = (xs) => {
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    if (xs.length < 2) return [mean, 0];
    const ss = xs.reduce((a, x) => a + (x - mean) ** 2, 0);
    return [mean, Math.sqrt(ss / (xs.length - 1))];
};

// A small deterministic generator for token ids (xorshift32).
function rng(seed) {
    let s = seed >>> 0 || 1;
    return (n) => {
        s ^= s << 13; s >>>= 0;
        s ^= s >>> 17;
        s ^= s << 5; s >>>= 0;
        return s % n;
    };
}

const o = parseArgs(process.argv.slice(2));
const {getLlama} = await import(pathToFileURL(findPeer(o.peer)).href);
const llama = await getLlama({gpu: false, build: "never", maxThreads: o.t, logLevel: "error"});
const t0 = performance.now();
const model = await llama.loadModel({modelPath: o.model, useMmap: o.mmap, gpuLayers: 0});
const loadNs = Math.round((performance.now() - t0) * 1e6);
const longest = Math.max(0, ...o.p, ...o.n);
const context = await model.createContext({
    contextSize: o.c > 0 ? o.c : longest,
    batchSize: 512,
    sequences: 1,
    threads: {ideal: o.t, min: o.t},
    experimentalKvCacheKeyType: o.kv.toUpperCase(),
    experimentalKvCacheValueType: o.kv.toUpperCase(),
});
const seq = context.getSequence();
const ctx = context._ctx; // the native context: llama_decode without the JS queue
const id = seq._sequenceId;
ctx.setThreads(o.t);
const tensors = model.fileInfo.fullTensorInfo ?? [];
const embd = tensors.find((t) => t.name === "token_embd.weight");
if (embd == null) throw new Error(`${o.model}: no token_embd.weight tensor`);
const nTokens = Number(embd.dimensions[1]); // ggml order: [embed, vocab]
let nParams = 0;
for (const t of tensors) nParams += t.dimensions.reduce((a, b) => a * Number(b), 1);
const next = rng(1234);

function clear() {
    ctx.removeTokenCellsFromSequence(id, 0, -1);
}

async function decode(tokens, pos, logitsLast) {
    ctx.initBatch(tokens.length);
    ctx.addToBatch(id, pos, Uint32Array.from(tokens), Uint32Array.from(logitsLast ? [tokens.length - 1] : []));
    await ctx.decodeBatch();
}

async function pp(n) {
    const tokens = Array.from({length: n}, () => next(nTokens));
    clear();
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i += 512) {
        const chunk = tokens.slice(i, i + 512);
        await decode(chunk, i, i + chunk.length === n);
    }
    return Number(process.hrtime.bigint() - start);
}

async function tg(n) {
    const tokens = Array.from({length: n}, () => next(nTokens));
    clear();
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await decode([tokens[i]], i, true);
    return Number(process.hrtime.bigint() - start);
}

// The lockstep gate (--step): lines from stdin, each releasing one step;
// once stdin ends, steps no longer wait.
let stepLines = 0, stepEnded = false, stepWake = null;
if (o.step) {
    const rl = createInterface({input: process.stdin});
    rl.on("line", () => { stepLines++; stepWake?.(); });
    rl.on("close", () => { stepEnded = true; stepWake?.(); });
}
async function step(name, rep) {
    if (!o.step) return;
    process.stderr.write(`step ${name} ${rep}/${o.r}\n`);
    while (stepLines === 0 && !stepEnded) await new Promise((resolve) => { stepWake = resolve; });
    stepWake = null;
    if (stepLines > 0) stepLines--;
}

const tests = [...o.p.map((p) => ({p, g: 0})), ...o.n.map((g) => ({p: 0, g}))];
const results = [];

function record(p, g, testTime, samplesNs, partial) {
    const samplesTs = samplesNs.map((ns) => (1e9 * (p + g)) / ns);
    const [avgNs, stdNs] = meanStd(samplesNs);
    const [avgTs, stdTs] = meanStd(samplesTs);
    const r = {
        build_commit: `llama.cpp ${llama.llamaCppRelease?.release ?? "?"} (node-llama-cpp, ${llama.buildType})`,
        cpu_info: cpus()[0]?.model ?? "",
        gpu_info: "",
        backends: "CPU",
        model_filename: basename(o.model),
        model_type: `${model.fileInfo.metadata?.general?.architecture ?? ""} ${model.typeDescription ?? ""}`.trim(),
        model_size: Number(model.size),
        model_n_params: nParams,
        n_batch: 512,
        n_ubatch: 512,
        n_threads: ctx.getThreads(),
        type_k: o.kv,
        type_v: o.kv,
        n_gpu_layers: 0,
        flash_attn: context.flashAttention,
        use_mmap: o.mmap,
        n_prompt: p,
        n_gen: g,
        n_depth: 0,
        n_ctx: context.contextSize,
        test_time: testTime,
        avg_ns: Math.round(avgNs),
        stddev_ns: Math.round(stdNs),
        avg_ts: avgTs,
        stddev_ts: stdTs,
        samples_ns: samplesNs,
        samples_ts: samplesTs,
        load_ns: loadNs,
    };
    if (partial) r.partial = true; // stopped before all repetitions ran
    return r;
}

// On SIGINT or SIGTERM (a time limit), print the finished tests and the
// repetitions of the current one that completed, then exit.
let current = null;
const stopped = () => {
    const out = [...results];
    if (current != null && current.samplesNs.length > 0)
        out.push(record(current.p, current.g, current.testTime, current.samplesNs, true));
    process.stdout.write(JSON.stringify(out, null, 2) + "\n", () => process.exit(0));
};
process.on("SIGINT", stopped);
process.on("SIGTERM", stopped);

for (const {p, g} of tests) {
    const run = p > 0 ? () => pp(p) : () => tg(g);
    const testTime = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    current = {p, g, testTime, samplesNs: []};
    const name = p > 0 ? "pp" + p : "tg" + g;
    await step(name, 0);
    await (p > 0 ? pp(p) : tg(1)); // warm-up, as llama-bench does
    for (let r = 0; r < o.r; r++) {
        if (o.step) await step(name, r + 1);
        else process.stderr.write(`llama.cpp: ${name} ${r + 1}/${o.r}\n`);
        current.samplesNs.push(await run());
    }
    results.push(record(p, g, testTime, current.samplesNs, false));
    current = null;
}

process.stdout.write(JSON.stringify(results, null, 2) + "\n");
if (o.step) process.stdin.destroy(); // the gate's reader would keep the process alive
await context.dispose();
await model.dispose();
await llama.dispose();
