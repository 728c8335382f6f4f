//go:build cgo && ((linux && amd64) || darwin)

package xla

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCUDADataDir: for jax's wheel layout (site-packages/jax_plugins/
// xla_cuda13/xla_cuda_plugin.so beside site-packages/nvidia/cu13/nvvm)
// XLA_FLAGS gets the toolkit directory; a directory already given is kept.
func TestCUDADataDir(t *testing.T) {
	site := t.TempDir()
	plugin := filepath.Join(site, "jax_plugins", "xla_cuda13", "xla_cuda_plugin.so")
	for _, d := range []string{filepath.Dir(plugin), filepath.Join(site, "nvidia", "cu13", "nvvm", "libdevice")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("XLA_FLAGS", "--xla_dump_to=/tmp/x")
	setCUDADataDir(plugin)
	want := "--xla_dump_to=/tmp/x --xla_gpu_cuda_data_dir=" + filepath.Join(site, "nvidia", "cu13")
	if got := os.Getenv("XLA_FLAGS"); got != want {
		t.Fatalf("XLA_FLAGS = %q, want %q", got, want)
	}
	t.Setenv("XLA_FLAGS", "--xla_gpu_cuda_data_dir=/opt/cuda")
	setCUDADataDir(plugin)
	if got := os.Getenv("XLA_FLAGS"); got != "--xla_gpu_cuda_data_dir=/opt/cuda" {
		t.Fatalf("XLA_FLAGS = %q: a given directory was replaced", got)
	}
}
