package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestRunEmbedded(t *testing.T) {
	r, err := Run(context.Background(), Options{Prompts: []int{16, 0}, Gens: []int{4}, Reps: 2, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Tests) != 2 || r.Tests[0].Name() != "pp16" || r.Tests[1].Name() != "tg4" {
		t.Fatalf("tests %+v, want pp16 then tg4", r.Tests)
	}
	if r.Model.Arch != "llama" || r.Model.Params < 200_000 || r.Model.Params > 300_000 {
		t.Errorf("model %+v: want a llama of about 260K parameters", r.Model)
	}
	for _, tt := range r.Tests {
		if len(tt.Samples) != 2 {
			t.Errorf("%s: %d samples, want 2", tt.Name(), len(tt.Samples))
		}
		for _, ts := range tt.TokensPerSecond() {
			if !(ts > 0) {
				t.Errorf("%s: %v tok/s", tt.Name(), ts)
			}
		}
	}
	var md bytes.Buffer
	if err := r.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| model |", "| pp16 |", "| tg4 |", "KV cache"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
}

func TestRunErrors(t *testing.T) {
	ctx := context.Background()
	for _, o := range []Options{
		{Prompts: []int{0}, Gens: []int{0}, Reps: 1},
		{Prompts: []int{8}, Reps: 0},
		{Prompts: []int{-1}, Reps: 1},
		{Prompts: []int{64}, Reps: 1, Context: 32},
		{Path: "testdata/does-not-exist.gguf", Prompts: []int{8}, Reps: 1},
	} {
		if _, err := Run(ctx, o); err == nil {
			t.Errorf("Run(%+v) succeeded, want an error", o)
		}
	}
}

func TestMeanStd(t *testing.T) {
	m, s := MeanStd([]float64{2, 4, 4, 4, 5, 5, 7, 9})
	// Sample standard deviation (n-1) as llama-bench reports.
	if m != 5 || s < 2.1380 || s > 2.1381 {
		t.Errorf("MeanStd = %v, %v; want 5, 2.13809", m, s)
	}
	if m, s := MeanStd([]float64{3}); m != 3 || s != 0 {
		t.Errorf("MeanStd of one = %v, %v", m, s)
	}
}

func TestParseList(t *testing.T) {
	got, err := ParseList("128, 512,0")
	if err != nil || len(got) != 3 || got[0] != 128 || got[1] != 512 || got[2] != 0 {
		t.Errorf("ParseList = %v, %v", got, err)
	}
	for _, bad := range []string{"", "12,", "-5", "1e3", "x"} {
		if _, err := ParseList(bad); err == nil {
			t.Errorf("ParseList(%q) succeeded", bad)
		}
	}
}

func TestResultsJSON(t *testing.T) {
	r, err := Run(context.Background(), Options{Prompts: []int{8}, Gens: []int{3}, Reps: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("%v:\n%s", err, buf.String())
	}
	if len(got) != 2 {
		t.Fatalf("%d objects, want 2", len(got))
	}
	if got[0]["n_prompt"] != 8.0 || got[0]["n_gen"] != 0.0 || got[1]["n_prompt"] != 0.0 || got[1]["n_gen"] != 3.0 {
		t.Errorf("n_prompt/n_gen wrong: %v", got)
	}
}

func TestRunCancelledKeepsFinished(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := Options{Prompts: []int{8}, Gens: []int{4}, Reps: 3, Threads: 1}
	o.Progress = func(test string, rep, reps int) {
		if test == "tg4" && rep == 2 {
			cancel() // the second repetition of tg4 will stop
		}
	}
	r, err := Run(ctx, o)
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if r == nil || len(r.Tests) != 2 {
		t.Fatalf("report %+v, want pp8 and a partial tg4", r)
	}
	if r.Tests[0].Partial || len(r.Tests[0].Samples) != 3 {
		t.Errorf("pp8: partial %v with %d samples, want complete with 3", r.Tests[0].Partial, len(r.Tests[0].Samples))
	}
	if !r.Tests[1].Partial || len(r.Tests[1].Samples) != 1 {
		t.Errorf("tg4: partial %v with %d samples, want partial with 1", r.Tests[1].Partial, len(r.Tests[1].Samples))
	}
	if res := r.Results(); !res[1].Partial || res[0].Partial {
		t.Errorf("JSON partial flags %v, %v; want false, true", res[0].Partial, res[1].Partial)
	}
}
