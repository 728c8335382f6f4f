package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// Result is one test in llama-bench's JSON shape (the keys llama-bench
// writes for a CPU run, so tools written for llama-bench read it), plus
// goformer's own measurements after them.
type Result struct {
	BuildCommit  string    `json:"build_commit"`
	BuildNumber  int       `json:"build_number"`
	CPUInfo      string    `json:"cpu_info"`
	GPUInfo      string    `json:"gpu_info"`
	Backends     string    `json:"backends"`
	ModelFile    string    `json:"model_filename"`
	ModelType    string    `json:"model_type"`
	ModelSize    int64     `json:"model_size"`
	ModelParams  int64     `json:"model_n_params"`
	NBatch       int       `json:"n_batch"`
	NUBatch      int       `json:"n_ubatch"`
	NThreads     int       `json:"n_threads"`
	TypeK        string    `json:"type_k"`
	TypeV        string    `json:"type_v"`
	NGPULayers   int       `json:"n_gpu_layers"`
	FlashAttn    bool      `json:"flash_attn"`
	UseMmap      bool      `json:"use_mmap"`
	Embeddings   bool      `json:"embeddings"`
	NPrompt      int       `json:"n_prompt"`
	NGen         int       `json:"n_gen"`
	NDepth       int       `json:"n_depth"`
	TestTime     string    `json:"test_time"`
	AvgNs        int64     `json:"avg_ns"`
	StddevNs     int64     `json:"stddev_ns"`
	AvgTs        float64   `json:"avg_ts"`
	StddevTs     float64   `json:"stddev_ts"`
	SamplesNs    []int64   `json:"samples_ns"`
	SamplesTs    []float64 `json:"samples_ts"`
	NCtx         int       `json:"n_ctx"`
	LoadNs       int64     `json:"load_ns"`
	KVCacheBytes int64     `json:"kv_cache_bytes"`
	// PeakRSSBytes is the peak resident set size during this test.
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
	// PeakRSSPerTest says PeakRSSBytes was reset at the test's start
	// (otherwise it covers the process up to the test's end).
	PeakRSSPerTest bool `json:"peak_rss_per_test"`
	// Partial marks a test stopped before all its repetitions ran.
	Partial bool `json:"partial,omitempty"`
}

// Results converts the report to llama-bench records, one per test.
func (r *Report) Results() []Result {
	commit := buildCommit()
	out := make([]Result, 0, len(r.Tests))
	for _, t := range r.Tests {
		ts := t.TokensPerSecond()
		avgTs, stdTs := MeanStd(ts)
		ns := make([]float64, len(t.Samples))
		samplesNs := make([]int64, len(t.Samples))
		for i, d := range t.Samples {
			ns[i] = float64(d.Nanoseconds())
			samplesNs[i] = d.Nanoseconds()
		}
		avgNs, stdNs := MeanStd(ns)
		m := r.Model
		out = append(out, Result{
			BuildCommit:    commit,
			CPUInfo:        cpuInfo(),
			Backends:       backendLabel(m.Backend),
			ModelFile:      m.Filename,
			ModelType:      m.Type(),
			ModelSize:      m.Size,
			ModelParams:    m.Params,
			NBatch:         512,
			NUBatch:        512,
			NThreads:       m.Threads,
			TypeK:          m.kvType(),
			TypeV:          m.kvType(),
			UseMmap:        m.UseMmap,
			NPrompt:        t.Prompt,
			NGen:           t.Gen,
			TestTime:       t.Time.UTC().Format(time.RFC3339),
			AvgNs:          int64(avgNs),
			StddevNs:       int64(stdNs),
			AvgTs:          avgTs,
			StddevTs:       stdTs,
			SamplesNs:      samplesNs,
			SamplesTs:      ts,
			NCtx:           m.Context,
			LoadNs:         m.LoadTime.Nanoseconds(),
			KVCacheBytes:   m.KVBytes,
			PeakRSSBytes:   t.PeakRSS,
			PeakRSSPerTest: t.PeakRSSReset,
			Partial:        t.Partial,
		})
	}
	return out
}

// WriteJSON writes the report as llama-bench's -o json does: a JSON array
// with one object per test.
func (r *Report) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(r.Results(), "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// WriteMarkdown writes the report as llama-bench's default table, followed
// by a line with the load time, weight loading mode and KV cache size.
func (r *Report) WriteMarkdown(w io.Writer) error {
	m := r.Model
	var b strings.Builder
	b.WriteString("| model | size | params | backend | threads | test | t/s | peak RSS |\n")
	b.WriteString("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |\n")
	for _, t := range r.Tests {
		mean, std := MeanStd(t.TokensPerSecond())
		name := t.Name()
		if t.Partial {
			name += fmt.Sprintf(" (stopped after %d reps)", len(t.Samples))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | goformer %s | %d | %s | %.2f ± %.2f | %s |\n",
			m.Type(), bytesLabel(m.Size), paramsLabel(m.Params), backendLabel(m.Backend), m.Threads, name, mean, std, bytesLabel(t.PeakRSS))
	}
	mode := "mmap"
	if !m.UseMmap {
		mode = "read into memory"
	}
	fmt.Fprintf(&b, "\n%s: loaded in %.3f s (%s), KV cache %s (%s, %d positions), %d reps\n",
		m.Filename, m.LoadTime.Seconds(), mode, bytesLabel(m.KVBytes), m.kvType(), m.Context, reps(r.Tests))
	_, err := io.WriteString(w, b.String())
	return err
}

func reps(ts []Test) int {
	if len(ts) == 0 {
		return 0
	}
	return len(ts[0].Samples)
}

func bytesLabel(n int64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
}

func paramsLabel(n int64) string {
	if n >= 1e9 {
		return fmt.Sprintf("%.2f B", float64(n)/1e9)
	}
	return fmt.Sprintf("%.2f M", float64(n)/1e6)
}

func buildCommit() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 7 {
			return s.Value[:7]
		}
	}
	return ""
}

func cpuInfo() string {
	if s := cpuModel(); s != "" {
		return s
	}
	return runtime.GOARCH
}

// backendLabel names the backend as llama-bench's "backends" column does:
// CPU for goformer's native kernels, else the backend's own name.
func backendLabel(name string) string {
	if name == "" || name == "native" {
		return "CPU"
	}
	return name
}

// kvType is m.KVType, "f32" where unset.
func (m ModelInfo) kvType() string {
	if m.KVType == "" {
		return "f32"
	}
	return m.KVType
}
