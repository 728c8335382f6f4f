package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestBenchMarkdown(t *testing.T) {
	out, _, err := runCLI(t, "bench", "-p", "16", "-n", "4", "-r", "2", "-t", "1", "-q")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 4 || !strings.HasPrefix(lines[0], "| model |") || !strings.Contains(lines[1], "---") {
		t.Fatalf("not a Markdown table:\n%s", out)
	}
	for i, test := range []string{"| pp16 |", "| tg4 |"} {
		if !strings.Contains(lines[2+i], test) || !strings.Contains(lines[2+i], " ± ") {
			t.Errorf("row %d = %q, want the %s test with mean ± std", i, lines[2+i], test)
		}
	}
	if !strings.Contains(out, "loaded in") {
		t.Errorf("no load time line:\n%s", out)
	}
}

func TestBenchJSON(t *testing.T) {
	out, _, err := runCLI(t, "bench", "-p", "8,0,12", "-n", "3", "-r", "2", "-t", "2", "-o", "json", "-q")
	if err != nil {
		t.Fatal(err)
	}
	var recs []map[string]any
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	want := [][2]float64{{8, 0}, {12, 0}, {0, 3}}
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d:\n%s", len(recs), len(want), out)
	}
	for i, r := range recs {
		// The keys tools written for llama-bench read.
		for _, k := range []string{"n_prompt", "n_gen", "n_threads", "model_size", "model_n_params", "avg_ts", "stddev_ts", "samples_ts", "model_type", "test_time"} {
			if _, ok := r[k]; !ok {
				t.Errorf("record %d lacks %q", i, k)
			}
		}
		if r["n_prompt"] != want[i][0] || r["n_gen"] != want[i][1] {
			t.Errorf("record %d: n_prompt %v n_gen %v, want %v", i, r["n_prompt"], r["n_gen"], want[i])
		}
		if r["n_threads"] != 2.0 {
			t.Errorf("record %d: n_threads %v, want 2", i, r["n_threads"])
		}
		samples, _ := r["samples_ts"].([]any)
		if len(samples) != 2 {
			t.Errorf("record %d: samples_ts %v, want 2 samples", i, r["samples_ts"])
		}
		if avg, _ := r["avg_ts"].(float64); !(avg > 0) {
			t.Errorf("record %d: avg_ts %v", i, r["avg_ts"])
		}
		if p, _ := r["model_n_params"].(float64); p < 200e3 || p > 300e3 {
			t.Errorf("record %d: model_n_params %v, want the embedded model's ~260K", i, r["model_n_params"])
		}
	}
}

func TestBenchBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "-p", "x"},
		{"bench", "-n", "-3"},
		{"bench", "-r", "0"},
		{"bench", "-o", "csv"},
		{"bench", "-p", "0", "-n", "0"},
		{"bench", "-m", "testdata/no-such-model.gguf", "-p", "4", "-n", "0"},
		{"bench", "stray"},
	} {
		if _, _, err := runCLI(t, args...); err == nil {
			t.Errorf("%v succeeded, want an error", args)
		}
	}
}

// TestBenchF16Cache: --kv-cache f16 runs, and the JSON reports the cache's
// type and its size at 2 bytes per element (stories260K: 5 layers, 4 kv
// heads of 8 = 32 per layer for keys and for values, a context of 8, the
// longest test: 2·2·5·8·32 bytes).
func TestBenchF16Cache(t *testing.T) {
	out, _, err := runCLI(t, "bench", "-p", "8", "-n", "8", "-r", "1", "-t", "2", "-o", "json", "-q", "--kv-cache", "f16")
	if err != nil {
		t.Fatal(err)
	}
	var recs []map[string]any
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	for _, r := range recs {
		if r["type_k"] != "f16" || r["type_v"] != "f16" {
			t.Errorf("type_k %v, type_v %v, want f16", r["type_k"], r["type_v"])
		}
		if got, want := r["kv_cache_bytes"], float64(2*2*5*8*32); got != want {
			t.Errorf("kv_cache_bytes %v, want %v", got, want)
		}
	}
}
