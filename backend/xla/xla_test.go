package xla_test

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goformer/goformer/backend/gomlx"
	"github.com/goformer/goformer/backend/xla"
)

// The plugin search path is read once at start-up, so the cases run in a
// child process with a controlled environment.
const childEnv = "GOFORMER_XLA_TEST_PLUGIN"

func TestMain(m *testing.M) {
	if plugin, ok := os.LookupEnv(childEnv); ok {
		b, err := xla.New(plugin, gomlx.Options{})
		if err == nil {
			b.Close()
			os.Stdout.WriteString("OK\n")
			os.Exit(0)
		}
		os.Stdout.WriteString("ERR " + err.Error() + "\n")
		if errors.Is(err, xla.ErrNoPlugin) {
			os.Stdout.WriteString("IS-ErrNoPlugin\n")
		}
		if errors.Is(err, xla.ErrNotCompiled) {
			os.Stdout.WriteString("IS-ErrNotCompiled\n")
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// child runs New(plugin) with an empty plugin directory, an empty HOME
// and no library path, and returns what it printed.
func child(t *testing.T, plugin string) (out, home string) {
	t.Helper()
	dir := t.TempDir()
	home = filepath.Join(dir, "home")
	empty := filepath.Join(dir, "plugins")
	for _, d := range []string{home, empty} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	// GOMLX_NO_AUTO_INSTALL is left out: goformer must not download even
	// when the user has not set it.
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "GOMLX_NO_AUTO_INSTALL=")
	})
	// Any download would go through this proxy, which only counts.
	proxy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var dials atomic.Int32
	go func() {
		for {
			c, err := proxy.Accept()
			if err != nil {
				return
			}
			dials.Add(1)
			c.Close()
		}
	}()
	defer proxy.Close()
	p := "http://" + proxy.Addr().String()
	env = slices.DeleteFunc(env, func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return strings.EqualFold(k, "no_proxy")
	})
	cmd.Env = append(env, childEnv+"="+plugin, "PJRT_PLUGIN_LIBRARY_PATH="+empty,
		"HOME="+home, "LD_LIBRARY_PATH=",
		"HTTPS_PROXY="+p, "https_proxy="+p, "HTTP_PROXY="+p, "http_proxy="+p)
	start := time.Now()
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, b)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("New took %v: did it try a download?", d)
	}
	if n := dials.Load(); n > 0 {
		t.Errorf("New made %d network connections (a plugin download?):\n%s", n, b)
	}
	return string(b), home
}

// TestMissingPlugin: asking for xla with no plugin installed is a clear
// error that says what to install and where, and downloads nothing (the
// auto-install of GoMLX would write under $HOME/.local/lib/go-xla).
func TestMissingPlugin(t *testing.T) {
	for _, plugin := range []string{"", "cpu", "cuda", "/nonexistent/pjrt_c_api_cpu_plugin.so"} {
		t.Run(plugin, func(t *testing.T) {
			out, home := child(t, plugin)
			t.Logf("%s", out)
			if !xla.Compiled {
				if !strings.Contains(out, "IS-ErrNotCompiled") || !strings.Contains(out, "cgo") {
					t.Fatalf("build without cgo: want ErrNotCompiled naming cgo, got %q", out)
				}
				return
			}
			for _, want := range []string{"ERR ", "IS-ErrNoPlugin", "PJRT_PLUGIN_LIBRARY_PATH", "goformer xla install", "jax-cuda13-pjrt", "absolute path"} {
				if !strings.Contains(out, want) {
					t.Errorf("error lacks %q:\n%s", want, out)
				}
			}
			if strings.HasPrefix(plugin, "/") && !strings.Contains(out, plugin) {
				t.Errorf("error does not name %s", plugin)
			}
			if plugin == "" && !strings.Contains(out, "no usable PJRT plugin found") {
				t.Errorf("error does not say none was found")
			}
			entries, err := os.ReadDir(home)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 0 {
				t.Errorf("HOME gained %v: something was installed", entries)
			}
		})
	}
}

// TestBrokenPlugin: a file that is not a PJRT plugin is refused clearly.
func TestBrokenPlugin(t *testing.T) {
	if !xla.Compiled {
		t.Skip("xla backend not compiled in (no cgo)")
	}
	bad := filepath.Join(t.TempDir(), "pjrt_c_api_cpu_plugin.so")
	if err := os.WriteFile(bad, []byte("not a shared library"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ := child(t, bad)
	t.Logf("%s", out)
	for _, want := range []string{"IS-ErrNoPlugin", bad, "PJRT_PLUGIN_LIBRARY_PATH"} {
		if !strings.Contains(out, want) {
			t.Errorf("error lacks %q:\n%s", want, out)
		}
	}
}
