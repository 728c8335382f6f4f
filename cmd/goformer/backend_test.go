package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/goformer/goformer/backend/xla"
)

// TestGenerateBackends: greedy generation with --backend gomlx-go prints
// the native backend's text.
func TestGenerateBackends(t *testing.T) {
	gen := func(backend string) string {
		var out, errb bytes.Buffer
		args := []string{"generate", "--backend", backend, "--temperature", "0", "-n", "16", "--ignore-eos", "Once upon a time"}
		if err := run(context.Background(), args, &out, &errb); err != nil {
			t.Fatalf("%s: %v\n%s", backend, err, errb.String())
		}
		return out.String()
	}
	want, got := gen("native"), gen("gomlx-go")
	if want != got || len(want) < 20 {
		t.Fatalf("native %q\ngomlx-go %q", want, got)
	}
}

// TestBackendErrors: a bad --backend, or xla without a plugin, is a clear
// error before any model is loaded.
func TestBackendErrors(t *testing.T) {
	cases := []struct {
		backend string
		want    []string
	}{
		{"cuda", []string{"native, gomlx-go, xla[:PLUGIN] or xla-bf16[:PLUGIN]"}},
		{"native:4", []string{"native takes no argument"}},
		{"xla:/nonexistent/pjrt_c_api_cpu_plugin.so", []string{"/nonexistent/pjrt_c_api_cpu_plugin.so", "PJRT_PLUGIN_LIBRARY_PATH", "goformer xla install"}},
	}
	if !xla.Compiled {
		cases[2].want = []string{"not compiled", "cgo"}
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		err := run(context.Background(), []string{"generate", "--backend", c.backend, "-n", "2", "hi"}, &out, &errb)
		if err == nil {
			t.Errorf("--backend %s: no error", c.backend)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("--backend %s: error %q lacks %q", c.backend, err, w)
			}
		}
	}
}
