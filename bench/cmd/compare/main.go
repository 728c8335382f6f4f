// Command compare runs `goformer bench` and llama.cpp (through the npm
// package node-llama-cpp, CPU build) on the same synthetic GGUF files, with
// the same threads, batch size and context, and prints one Markdown table of
// their throughputs, ratios and goformer's use of the machine's memory read
// bandwidth (measured here too). Run it from the repository root, on an
// otherwise idle machine:
//
//	bash bench/compare.sh [flags]
//
// It builds goformer, installs node-llama-cpp into bench/node_modules/peer
// when no peer is found ($GOFORMER_PEER, bench/node_modules/peer,
// /work/peer), writes the random-weight files it lacks into -dir and keeps
// them for later runs. Each run of each engine is a separate process; by
// default (-lockstep) the two engines' processes run at the same time and
// take turns repetition by repetition.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/goformer/goformer/bench/internal/synthfile"
	"github.com/goformer/goformer/weights"
)

type options struct {
	models, types  string
	p, n, r, t, c  int
	rounds         int
	lockstep       bool
	dir, peer      string
	shared         string
	mmap           bool
	kv             string
	bwBytes        int
	skipLlama      bool
	exactBF16      bool
	gfKV           string
	goformerBinary string
	timeout        time.Duration
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var o options
	flag.StringVar(&o.models, "models", "qwen2.5-0.5b,llama3.2-1b", "model shapes, comma-separated")
	flag.StringVar(&o.types, "types", "f32,bf16,q8_0,q4_k", "weight types, comma-separated")
	flag.IntVar(&o.p, "p", 512, "prompt-processing test length")
	flag.IntVar(&o.n, "n", 128, "generation test length")
	flag.IntVar(&o.r, "r", 3, "repetitions of each test in each round")
	flag.IntVar(&o.rounds, "rounds", 2, "rounds per file: each runs both engines in fresh processes (in lockstep, or one after the other in alternating order: goformer first, then llama.cpp first, ...); the table merges the rounds' repetitions")
	flag.BoolVar(&o.lockstep, "lockstep", true, "run both engines at once, loaded, taking turns repetition by repetition in alternating order (false: one engine's whole run after the other's)")
	flag.IntVar(&o.t, "t", 2, "threads, for both engines")
	flag.IntVar(&o.c, "c", 0, "context (KV cache positions) for both engines (0: p+n rounded up to a multiple of 256)")
	flag.StringVar(&o.dir, "dir", filepath.Join(os.TempDir(), "goformer-bench"), "folder for the synthetic files, the binary and raw results")
	flag.StringVar(&o.peer, "peer", os.Getenv("GOFORMER_PEER"), "folder holding node_modules/node-llama-cpp (default: bench/node_modules/peer, installed if missing, or /work/peer)")
	flag.StringVar(&o.shared, "shared", "../shared", "the shared test data folder (tokenizer vocabularies for the synthetic files)")
	flag.BoolVar(&o.mmap, "mmap", false, "memory-map the weights in both engines (default: read them into memory)")
	flag.StringVar(&o.kv, "kv", "f16", "llama.cpp KV cache type: f16 (its default) or f32 (goformer's)")
	flag.StringVar(&o.gfKV, "goformer-kv", "f32", "goformer KV cache type (--kv-cache): f32 (its default) or f16 (llama.cpp's)")
	flag.IntVar(&o.bwBytes, "bw-bytes", 1<<30, "buffer size of the memory bandwidth measurement")
	flag.BoolVar(&o.skipLlama, "no-llama", false, "run goformer only")
	flag.BoolVar(&o.exactBF16, "exact-bf16", false, "run goformer with --exact-bf16 (BF16 weights against exact float32 activations instead of bfloat16 ones, as llama.cpp computes)")
	flag.StringVar(&o.goformerBinary, "goformer", "", "use this goformer binary instead of building ./cmd/goformer")
	flag.DurationVar(&o.timeout, "timeout", 20*time.Minute, "limit on each engine run (one file, all its tests)")
	flag.Parse()
	if o.c == 0 {
		// llama.cpp rounds its context up to a multiple of 256; give both
		// engines that size.
		o.c = (o.p + o.n + 255) / 256 * 256
	}
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

// result is the part of a llama-bench JSON record the table uses.
type result struct {
	NPrompt  int       `json:"n_prompt"`
	NGen     int       `json:"n_gen"`
	NThreads int       `json:"n_threads"`
	AvgTs    float64   `json:"avg_ts"`
	StdTs    float64   `json:"stddev_ts"`
	Samples  []float64 `json:"samples_ts"`
	Size     int64     `json:"model_size"`
	Params   int64     `json:"model_n_params"`
	Type     string    `json:"model_type"`
	LoadNs   int64     `json:"load_ns"`
	KVBytes  int64     `json:"kv_cache_bytes"`
	PeakRSS  int64     `json:"peak_rss_bytes"`
	RSSReset bool      `json:"peak_rss_per_test"`
	FlashAtt any       `json:"flash_attn"`
	NCtx     int       `json:"n_ctx"`
	Partial  bool      `json:"partial"` // stopped before all repetitions ran
}

type row struct {
	file, shape, typ string
	fileSize         int64
	readBytes        int64 // weight bytes one decode step reads
	gf, lc           map[string]result
	mmapLoad         time.Duration
	nearBW           float64 // read bandwidth measured just before and after goformer's run
	tgRSS            result  // tg-only run for peak RSS
	errs             []string
}

func run(ctx context.Context, o options, stdout io.Writer) error {
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return err
	}
	start := time.Now()
	gfBin := o.goformerBinary
	if gfBin == "" {
		gfBin = filepath.Join(o.dir, "goformer")
		logf("building goformer into %s", gfBin)
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", gfBin, "./cmd/goformer").CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./cmd/goformer: %v\n%s", err, out)
		}
	}
	peer := ""
	if !o.skipLlama {
		var err error
		if peer, err = findPeer(ctx, o.peer); err != nil {
			return err
		}
	}
	files, err := makeFiles(ctx, o, gfBin)
	if err != nil {
		return err
	}

	logf("measuring memory read bandwidth (%d threads, %d MiB buffer)", o.t, o.bwBytes>>20)
	meter := newBWMeter(o.t, o.bwBytes)
	bw := meter.best(30 * len(meter.bufs))
	logf("memory read bandwidth: %.1f GB/s", bw/1e9)
	loadBefore := loadavg()

	var rows []*row
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		r := &row{file: f.path, shape: f.shape, typ: f.typ}
		rows = append(rows, r)
		if err := inspect(r); err != nil {
			r.errs = append(r.errs, err.Error())
			continue
		}
		common := []string{"-p", fmt.Sprint(o.p), "-n", fmt.Sprint(o.n), "-r", fmt.Sprint(o.r), "-t", fmt.Sprint(o.t), "-c", fmt.Sprint(o.c)}
		if o.exactBF16 {
			common = append(common, "--exact-bf16")
		}
		if o.gfKV != "f32" { // only then: binaries from before --kv-cache (-goformer) still run
			common = append(common, "--kv-cache", o.gfKV)
		}
		args := append([]string{"bench", "-m", f.path, "-o", "json", "-q"}, common...)
		if !o.mmap {
			args = append(args, "--no-mmap")
		}
		largs := []string{filepath.Join("bench", "llamacpp.mjs"), "--model", f.path, "--peer", peer, "--p", fmt.Sprint(o.p), "--n", fmt.Sprint(o.n),
			"--r", fmt.Sprint(o.r), "--t", fmt.Sprint(o.t), "--c", fmt.Sprint(o.c), "--kv", o.kv}
		if o.mmap {
			largs = append(largs, "--mmap")
		}
		// The machine's speed drifts by tens of percent over minutes, so
		// the engines take turns, in alternating order (ABBA for two
		// rounds), and each one's repetitions are merged over the rounds.
		for round := range max(1, o.rounds) {
			suffix := ""
			if round > 0 {
				suffix = fmt.Sprintf(".%d", round+1)
			}
			runGF := func() {
				logf("goformer %s (round %d)", filepath.Base(f.path), round+1)
				before := meter.best(nearPasses)
				m, err := runJSON(ctx, o.timeout, o.dir, "goformer"+suffix, f.path, gfBin, args...)
				if err != nil {
					r.errs = append(r.errs, "goformer: "+err.Error())
				}
				r.gf = mergeResults(r.gf, m)
				r.nearBW = max(r.nearBW, before, meter.best(nearPasses))
				logf("memory read bandwidth around that run: %.1f GB/s", r.nearBW/1e9)
			}
			runLC := func() {
				if o.skipLlama {
					return
				}
				logf("llama.cpp %s (round %d)", filepath.Base(f.path), round+1)
				m, err := runJSON(ctx, o.timeout, o.dir, "llamacpp"+suffix, f.path, "node", largs...)
				if err != nil {
					r.errs = append(r.errs, "llama.cpp: "+err.Error())
				}
				r.lc = mergeResults(r.lc, m)
			}
			switch {
			case o.lockstep && !o.skipLlama:
				logf("goformer and llama.cpp in lockstep on %s (round %d)", filepath.Base(f.path), round+1)
				before := meter.best(nearPasses)
				gi := round % 2 // goformer's place: it starts first in even rounds
				var who [2]string
				var argv [2][]string
				who[gi], who[1-gi] = "goformer"+suffix, "llamacpp"+suffix
				argv[gi] = append(append([]string{gfBin}, args...), "-step")
				argv[1-gi] = append(append([]string{"node"}, largs...), "--step")
				ms, errs := runLockstep(ctx, 2*o.timeout, o.dir, f.path, who, argv)
				r.gf = mergeResults(r.gf, ms[gi])
				r.lc = mergeResults(r.lc, ms[1-gi])
				if errs[gi] != nil {
					r.errs = append(r.errs, "goformer: "+errs[gi].Error())
				}
				if errs[1-gi] != nil {
					r.errs = append(r.errs, "llama.cpp: "+errs[1-gi].Error())
				}
				r.nearBW = max(r.nearBW, before, meter.best(nearPasses))
				logf("memory read bandwidth around that run: %.1f GB/s", r.nearBW/1e9)
			case round%2 == 0:
				runGF()
				runLC()
			default:
				runLC()
				runGF()
			}
		}
		// Peak RSS of generation alone, in a fresh process (the pp test's
		// larger activation buffers stay allocated in the first one). The
		// KV cache is allocated at its full size from the start, so a short
		// generation shows the same peak.
		rssGen := min(o.n, 16)
		rssArgs := []string{"bench", "-m", f.path, "-o", "json", "-q", "-p", "0", "-n", fmt.Sprint(rssGen), "-r", "1", "-t", fmt.Sprint(o.t), "-c", fmt.Sprint(o.c)}
		if !o.mmap {
			rssArgs = append(rssArgs, "--no-mmap")
		}
		if o.exactBF16 {
			rssArgs = append(rssArgs, "--exact-bf16")
		}
		if o.gfKV != "f32" {
			rssArgs = append(rssArgs, "--kv-cache", o.gfKV)
		}
		if m, err := runJSON(ctx, o.timeout, o.dir, "goformer-rss", f.path, gfBin, rssArgs...); err == nil {
			r.tgRSS = m[fmt.Sprintf("tg%d", rssGen)]
		} else {
			r.errs = append(r.errs, "goformer (tg peak RSS): "+err.Error())
		}
		// Load time with mmap (the page cache is warm by now).
		if m, err := runJSON(ctx, o.timeout, o.dir, "goformer-load", f.path, gfBin, "bench", "-m", f.path, "-o", "json", "-q", "-p", "0", "-n", "1", "-r", "1", "-t", fmt.Sprint(o.t)); err == nil {
			for _, x := range m {
				r.mmapLoad = time.Duration(x.LoadNs)
			}
		} else {
			r.errs = append(r.errs, "goformer (mmap load): "+err.Error())
		}
	}
	writeTable(stdout, o, rows, bw, loadBefore, loadavg(), time.Since(start))
	return nil
}

// mergeResults adds the repetitions of each test in b to those in a: the
// samples are concatenated, the mean and (sample) standard deviation
// recomputed, and the peak RSS is the larger one.
func mergeResults(a, b map[string]result) map[string]result {
	if a == nil {
		return b
	}
	for k, y := range b {
		x, ok := a[k]
		if !ok {
			a[k] = y
			continue
		}
		x.Samples = append(append([]float64(nil), x.Samples...), y.Samples...)
		var sum float64
		for _, v := range x.Samples {
			sum += v
		}
		x.AvgTs = sum / float64(len(x.Samples))
		var ss float64
		for _, v := range x.Samples {
			ss += (v - x.AvgTs) * (v - x.AvgTs)
		}
		x.StdTs = 0
		if len(x.Samples) > 1 {
			x.StdTs = math.Sqrt(ss / float64(len(x.Samples)-1))
		}
		x.PeakRSS = max(x.PeakRSS, y.PeakRSS)
		x.Partial = x.Partial || y.Partial
		a[k] = x
	}
	return a
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "compare: "+format+"\n", args...)
}

// findPeer returns a folder holding node_modules/node-llama-cpp, installing
// the package into bench/node_modules/peer when none is found.
func findPeer(ctx context.Context, flagDir string) (string, error) {
	has := func(d string) bool {
		_, err := os.Stat(filepath.Join(d, "node_modules", "node-llama-cpp", "dist", "index.js"))
		return err == nil
	}
	local := filepath.Join("bench", "node_modules", "peer")
	for _, d := range []string{flagDir, local, "/work/peer"} {
		if d != "" && has(d) {
			return filepath.Abs(d)
		}
	}
	if flagDir != "" {
		return "", fmt.Errorf("no node_modules/node-llama-cpp in %s", flagDir)
	}
	logf("installing node-llama-cpp into %s", local)
	if err := os.MkdirAll(local, 0o755); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "npm", "i", "-E", "--omit=optional", "--no-audit", "--no-fund", "--prefix", local,
		"node-llama-cpp@3.21.1", "@node-llama-cpp/linux-x64@3.21.1")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("npm install of node-llama-cpp: %w", err)
	}
	return filepath.Abs(local)
}

type file struct{ path, shape, typ string }

// makeFiles returns the synthetic files, writing those missing.
func makeFiles(ctx context.Context, o options, gfBin string) ([]file, error) {
	var out []file
	for _, m := range strings.Split(o.models, ",") {
		for _, t := range strings.Split(o.types, ",") {
			m, t = strings.TrimSpace(m), strings.ToLower(strings.TrimSpace(t))
			path := filepath.Join(o.dir, fmt.Sprintf("%s-%s.gguf", m, t))
			out = append(out, file{path: path, shape: m, typ: t})
			if _, err := os.Stat(path); err == nil {
				continue
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if err := synth(ctx, gfBin, m, t, path, o.shared); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// synth writes one file with `goformer synth` when the binary has that
// command, and with bench/internal/synthfile otherwise.
func synth(ctx context.Context, gfBin, shape, typ, path, shared string) error {
	help, _ := exec.CommandContext(ctx, gfBin, "help").CombinedOutput()
	if bytes.Contains(help, []byte("synth")) {
		logf("goformer synth %s %s", shape, typ)
		out, err := exec.CommandContext(ctx, gfBin, "synth", "-shape", shape, "-type", typ, "-o", path).CombinedOutput()
		if err == nil {
			return nil
		}
		logf("goformer synth failed (%v: %s); writing the file with bench/internal/synthfile", err, bytes.TrimSpace(out))
	}
	s, ok := synthfile.ShapeByName(shape)
	if !ok {
		return fmt.Errorf("unknown model shape %q", shape)
	}
	dt, err := synthfile.ParseType(typ)
	if err != nil {
		return err
	}
	logf("writing %s", path)
	return synthfile.Write(path, s, dt, filepath.Join(shared, "peer-vocab"), 1)
}

// inspect records the file size and the weight bytes a decode step reads:
// every tensor but the token embedding, which only has rows looked up —
// unless it is also the output projection (no output.weight).
func inspect(r *row) error {
	f, err := weights.Open(r.file, weights.Options{})
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := os.Stat(r.file)
	if err != nil {
		return err
	}
	r.fileSize = st.Size()
	_, hasOutput := f.Tensor("output.weight")
	for _, t := range f.Tensors {
		if t.Name == "token_embd.weight" && hasOutput {
			continue
		}
		r.readBytes += int64(len(t.Data))
	}
	return nil
}

// runJSON runs a command that prints llama-bench JSON and returns its
// records by test name; stderr goes to a log file in dir.
func runJSON(ctx context.Context, limit time.Duration, dir, who, model, name string, args ...string) (map[string]result, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	base := strings.TrimSuffix(filepath.Base(model), ".gguf")
	logPath := filepath.Join(dir, base+"."+who+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &out, logFile
	// At the time limit, interrupt first: goformer bench and llamacpp.mjs
	// then print the tests (and repetitions) they finished.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 15 * time.Second
	runErr := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		runErr = fmt.Errorf("stopped after %v", limit)
	}
	return parseResults(out.Bytes(), runErr, dir, base, who, logPath)
}

// parseResults saves an engine's llama-bench JSON output in dir and returns
// its records by test name; runErr is the engine run's error, if any.
func parseResults(out []byte, runErr error, dir, base, who, logPath string) (map[string]result, error) {
	if err := os.WriteFile(filepath.Join(dir, base+"."+who+".json"), out, 0o644); err != nil {
		return nil, err
	}
	var rs []result
	if err := json.Unmarshal(out, &rs); err != nil {
		if runErr != nil {
			return nil, fmt.Errorf("%v (log: %s)", runErr, logPath)
		}
		return nil, fmt.Errorf("output is not llama-bench JSON: %w", err)
	}
	m := map[string]result{}
	for _, r := range rs {
		if r.NPrompt > 0 {
			m[fmt.Sprintf("pp%d", r.NPrompt)] = r
		} else {
			m[fmt.Sprintf("tg%d", r.NGen)] = r
		}
	}
	if runErr != nil {
		return m, fmt.Errorf("%v, after %d finished or partial tests (log: %s)", runErr, len(rs), logPath)
	}
	return m, nil
}

// bwMeter measures memory read bandwidth in bytes/s: threads goroutines
// scan disjoint parts of a buffer far larger than the caches with the
// standard library's vectorized byte search and count (assembly), as one
// stream or eight interleaved ones, and the best pass of any wins (best of
// many, so that a pass undisturbed by other processes is likely among
// them). The buffer is Go memory on even passes and, where the platform
// has it, memory advised for transparent huge pages (as goformer reads
// weights into) on odd ones: the machine's bandwidth is the best either
// gives. The buffers are made once, so that the bandwidth can be measured
// again next to each file's run (the VM's speed drifts within the run).
type bwMeter struct {
	threads int
	bufs    [][]byte
}

func newBWMeter(threads, size int) *bwMeter {
	bufs := [][]byte{make([]byte, size)}
	if h := hugeBuffer(size); h != nil {
		bufs = append(bufs, h)
	}
	for _, buf := range bufs {
		for i := range buf {
			buf[i] = byte(i%251) | 1 // no zero byte: both scans read it all
		}
	}
	return &bwMeter{threads: threads, bufs: bufs}
}

// best returns the best of passes scans.
func (m *bwMeter) best(passes int) float64 {
	threads, bufs := m.threads, m.bufs
	scans := []func([]byte) int{
		func(b []byte) int { return bytes.IndexByte(b, 0) + 1 }, // 0: none
		func(b []byte) int { return bytes.Count(b, []byte{0}) },
		// Eight interleaved sequential streams, as a matrix-vector product
		// reading several rows at once (more prefetch streams in flight).
		func(b []byte) int {
			const streams, step = 8, 64 << 10
			n := len(b) / streams
			found := 0
			for off := 0; off < n; off += step {
				for k := range streams {
					found += bytes.IndexByte(b[k*n+off:k*n+min(off+step, n)], 0) + 1
				}
			}
			return found
		},
	}
	best := 0.0
	for i := range passes {
		scan := scans[i/len(bufs)%len(scans)]
		buf := bufs[i%len(bufs)]
		size := len(buf)
		var wg sync.WaitGroup
		part := size / threads
		found := make([]int, threads)
		t0 := time.Now()
		for k := range threads {
			wg.Add(1)
			go func() {
				defer wg.Done()
				found[k] = scan(buf[k*part : (k+1)*part])
			}()
		}
		wg.Wait()
		best = max(best, float64(part*threads)/time.Since(t0).Seconds())
		for _, f := range found {
			if f > 0 {
				panic("zero byte in the bandwidth buffer")
			}
		}
	}
	return best
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "?"
	}
	s := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		s += " (+ uncommitted changes)"
	}
	return s
}

// nearPasses is how many bandwidth passes are run right before and right
// after each file's goformer run.
const nearPasses = 12

func writeTable(w io.Writer, o options, rows []*row, bw float64, loadBefore, loadAfter string, took time.Duration) {
	pp, tg := fmt.Sprintf("pp%d", o.p), fmt.Sprintf("tg%d", o.n)
	mode := "weights read into memory (no mmap) in both engines"
	if o.mmap {
		mode = "weights memory-mapped in both engines"
	}
	if o.exactBF16 {
		mode += "; goformer with --exact-bf16"
	}
	fmt.Fprintf(w, "Machine: %s, %d threads; %s UTC; goformer %s; llama.cpp through node-llama-cpp 3.21.1 (CPU); load average %s before, %s after; %s.\n\n",
		cpuModel(), o.t, time.Now().UTC().Format("2006-01-02 15:04"), gitCommit(), loadBefore, loadAfter, took.Round(time.Second))
	rounds := max(1, o.rounds)
	turns := "the engines taking turns in alternating order"
	if o.lockstep && !o.skipLlama {
		turns = "both engines loaded at once and taking turns warm-up by warm-up and repetition by repetition, in alternating order (lockstep)"
	}
	fmt.Fprintf(w, "Settings: %s; batch 512; context %d; %d round(s) per file, %s, each round %d repetitions after a warm-up (t/s are mean ± std over all rounds' repetitions); goformer KV cache %s, llama.cpp KV cache %s. "+
		"Memory read bandwidth (%d threads): %.1f GB/s.\n\n", mode, o.c, rounds, turns, o.r, o.gfKV, o.kv, o.t, bw/1e9)
	fmt.Fprintf(w, "| file | weights | %s goformer t/s | %s llama.cpp t/s | %s ratio | %s goformer t/s | %s llama.cpp t/s | %s ratio | tg bandwidth use | load (mmap) | tg peak RSS / (file + KV) |\n", pp, pp, pp, tg, tg, tg)
	fmt.Fprintf(w, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	var notes []string
	for _, r := range rows {
		name := filepath.Base(r.file)
		if len(r.errs) > 0 {
			notes = append(notes, fmt.Sprintf("%s: %s", name, strings.Join(r.errs, "; ")))
		}
		g, gok := r.gf[pp]
		l, lok := r.lc[pp]
		gt, gtok := r.gf[tg]
		lt, ltok := r.lc[tg]
		cell := func(x result, ok bool) string {
			if !ok {
				return "—"
			}
			if x.Partial {
				return fmt.Sprintf("%.2f ± %.2f (%d of %d reps)", x.AvgTs, x.StdTs, len(x.Samples), rounds*o.r)
			}
			return fmt.Sprintf("%.2f ± %.2f", x.AvgTs, x.StdTs)
		}
		ratio := func(a, b result, aok, bok bool) string {
			if !aok || !bok || b.AvgTs == 0 {
				return "—"
			}
			return fmt.Sprintf("%.2f×", a.AvgTs/b.AvgTs)
		}
		bwUse, rss, load := "—", "—", "—"
		if used := float64(r.readBytes) * gt.AvgTs; gtok && r.nearBW > 0 && bw > 0 {
			bwUse = fmt.Sprintf("%.0f%% (%.1f of %.1f GB/s); %.0f%% of the run's best", 100*used/r.nearBW, used/1e9, r.nearBW/1e9, 100*used/bw)
		}
		if x := r.tgRSS; x.PeakRSS > 0 {
			rss = fmt.Sprintf("%.2f (%s / %s)", float64(x.PeakRSS)/float64(r.fileSize+x.KVBytes), mib(x.PeakRSS), mib(r.fileSize+x.KVBytes))
		}
		if r.mmapLoad > 0 {
			load = fmt.Sprintf("%.3f s", r.mmapLoad.Seconds())
		}
		typ := strings.ToUpper(r.typ)
		if gok {
			typ = g.Type
		} else if gtok {
			typ = gt.Type
		}
		fmt.Fprintf(w, "| %s | %s, %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", name, typ, mib(r.fileSize),
			cell(g, gok), cell(l, lok), ratio(g, l, gok, lok), cell(gt, gtok), cell(lt, ltok), ratio(gt, lt, gtok, ltok), bwUse, load, rss)
	}
	fmt.Fprintf(w, "\nRatios are goformer ÷ llama.cpp (higher is better for goformer). Bandwidth use = weight bytes read per decoded token × goformer's tg t/s ÷ the read bandwidth measured right before and after goformer's run of that file (best of %d passes each side; the machine's speed drifts during a run), and ÷ the best bandwidth measured at the start of the run. "+
		"Load is goformer's weights.Open + model.Load of the file memory-mapped, with a warm page cache. Peak RSS is goformer's VmHWM during a tg-only run in its own process (reset after loading), same weight loading mode.\n", nearPasses)
	for _, n := range notes {
		fmt.Fprintf(w, "\n- %s", n)
	}
	if len(notes) > 0 {
		fmt.Fprintln(w)
	}
}

func mib(n int64) string {
	return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
}
