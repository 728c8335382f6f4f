// llamacpp.mjs runs a GGUF model in llama.cpp, through the npm package
// node-llama-cpp (CPU build, 2 threads, F32 KV cache), on given token ids
// and prints JSON on stdout, for goformer's peer comparison tests:
//
//   node peer/llamacpp.mjs REQUEST.json
//
// REQUEST: {"model": PATH, "tokens": [ids], "k": K, "generate": N,
//           "context": C, "embed": false}
//
// Reply for decoders: {"candidates": C, "positions": [[[id, logprob] × K] per
// prompt token], "greedy": [N ids]}, where positions[i] holds the K most
// likely next tokens after tokens[0..i] with their natural-log
// probabilities (from llama.cpp's distribution over C candidates, which
// must be the whole vocabulary), and greedy is the
// argmax continuation. With "embed": true: {"embedding": [floats]} — the
// pooled embedding llama.cpp computes for the tokens.
//
// The package is looked up in $GOFORMER_PEER (a folder holding
// node_modules/node-llama-cpp, or node_modules itself), ../peer or /work/peer.
import {existsSync, readFileSync} from "node:fs";
import {join, dirname, resolve} from "node:path";
import {fileURLToPath, pathToFileURL} from "node:url";

function findPeer() {
    const here = dirname(fileURLToPath(import.meta.url));
    const env = process.env.GOFORMER_PEER;
    const dirs = [env, env && dirname(env), resolve(here, "..", "..", "peer"), "/work/peer"].filter(Boolean);
    for (const d of dirs) {
        const index = join(d, "node_modules", "node-llama-cpp", "dist", "index.js");
        if (existsSync(index)) return index;
    }
    throw new Error(`node-llama-cpp not found in ${dirs.join(", ")}`);
}

// The request may also be a list of such objects: one process then answers
// all of them (a JSON list), which saves llama.cpp's start-up per model.
const request = JSON.parse(readFileSync(process.argv[2], "utf8"));
const {getLlama, LlamaLogLevel} = await import(pathToFileURL(findPeer()).href);
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error, maxThreads: 2});

async function answer(req) {
    const model = await llama.loadModel({modelPath: req.model, gpuLayers: 0});
    const contextSize = req.context || 256;
    let out;
    if (req.embed) {
        const ctx = await model.createEmbeddingContext({contextSize, threads: 2, batchSize: contextSize});
        const e = await ctx.getEmbeddingFor(req.tokens);
        out = {embedding: Array.from(e.vector)};
        await ctx.dispose();
    } else {
        // F32 KV cache and no flash attention: llama.cpp's CPU flash
        // attention and F16 caches round keys and values to half precision.
        const ctx = await model.createContext({
            contextSize, batchSize: contextSize, threads: 2, sequences: 1, flashAttention: false,
            experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32",
        });
        const seq = ctx.getSequence();
        const k = req.k || 5;
        let candidates = Infinity;
        const top = (probs) => {
            candidates = Math.min(candidates, probs.size);
            const res = [];
            for (const [id, p] of probs) {
                if (res.length >= k) break;
                res.push([id, Math.log(p)]);
            }
            return res;
        };
        const res = await seq.controlledEvaluate(req.tokens.map((t) => [t, {generateNext: {probabilities: true}}]));
        const positions = res.map((r) => top(r.next.probabilities));
        const greedy = [];
        let next = positions[positions.length - 1][0][0];
        for (let i = 0; i < (req.generate || 0); i++) {
            greedy.push(next);
            const [r] = (await seq.controlledEvaluate([[next, {generateNext: {probabilities: true}}]])).slice(-1);
            next = top(r.next.probabilities)[0][0];
        }
        out = {candidates, positions, greedy};
        await ctx.dispose();
    }
    await model.dispose();
    return out;
}

const replies = [];
for (const req of Array.isArray(request) ? request : [request]) replies.push(await answer(req));
process.stdout.write(JSON.stringify(Array.isArray(request) ? replies : replies[0]) + "\n");
await llama.dispose();
