//go:build cgo && ((linux && amd64) || darwin)

package xla

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gomlx/go-xla/pkg/installer"
	"github.com/gomlx/go-xla/pkg/pjrt"
	xlabackend "github.com/gomlx/gomlx/backends/xla"

	"github.com/goformer/goformer/backend/gomlx"
)

// Compiled reports whether this build includes the XLA backend.
const Compiled = true

func init() {
	// Never download a plugin implicitly (GoMLX's default is to do so on
	// first use); Install does it when asked.
	xlabackend.EnableAutoInstall(false)
}

// New opens a PJRT plugin and returns a Backend on it, named "xla-<name>"
// unless o names it. plugin is a plugin name ("cpu", "cuda":
// pjrt_c_api_<name>_plugin.so in the search path), an absolute path to the
// plugin's shared library, or "" for the first available (cuda before cpu).
func New(plugin string, o gomlx.Options) (b *gomlx.Backend, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("xla backend: plugin %q: %v\n%s", plugin, r, PluginHelp)
		}
	}()
	name := plugin
	if filepath.IsAbs(plugin) {
		st, err := os.Stat(plugin)
		if err != nil {
			return nil, fmt.Errorf("xla backend: %w: %v\n%s", ErrNoPlugin, err, PluginHelp)
		}
		if st.IsDir() {
			return nil, fmt.Errorf("xla backend: %w: %s is a directory; give the plugin file, or set PJRT_PLUGIN_LIBRARY_PATH=%s\n%s", ErrNoPlugin, plugin, plugin, PluginHelp)
		}
		name = strings.TrimSuffix(filepath.Base(plugin), filepath.Ext(plugin))
	} else {
		avail := xlabackend.GetAvailablePlugins()
		where := "PJRT_PLUGIN_LIBRARY_PATH=" + os.Getenv("PJRT_PLUGIN_LIBRARY_PATH")
		if _, set := os.LookupEnv("PJRT_PLUGIN_LIBRARY_PATH"); !set {
			where = "PJRT_PLUGIN_LIBRARY_PATH unset: searched ~/.local/lib/go-xla, /usr/local/lib/go-xla and the system library directories"
		}
		switch {
		case len(avail) == 0:
			return nil, fmt.Errorf("xla backend: %w found (%s)\n%s", ErrNoPlugin, where, PluginHelp)
		case plugin == "":
			plugin = avail[0]
			name = plugin
		case !slices.Contains(avail, plugin):
			return nil, fmt.Errorf("xla backend: %w named %q found (available: %s; %s)\n%s", ErrNoPlugin, plugin, strings.Join(avail, ", "), where, PluginHelp)
		}
	}
	if path := pluginPath(plugin); path != "" && strings.Contains(strings.ToLower(filepath.Base(path)), "cuda") {
		setCUDADataDir(path)
	}
	eng, err := xlabackend.NewWithOptions(plugin, nil)
	if err != nil {
		return nil, fmt.Errorf("xla backend: %w: plugin %q failed to start: %v\n%s", ErrNoPlugin, plugin, err, PluginHelp)
	}
	if o.Name == "" {
		o.Name = "xla-" + name
	}
	return gomlx.New(eng, o), nil
}

// Install downloads the PJRT plugins for this machine (the CPU plugin, and
// with cuda the CUDA plugin and NVIDIA libraries) into dir ("" for
// ~/.local/lib/go-xla; the CUDA plugin goes to its nvidia/ subdirectory).
// It is the one place goformer downloads plugins.
func Install(dir string, cuda bool) error {
	if dir == "" {
		lib, err := installer.DefaultHomeLibPath()
		if err != nil {
			return fmt.Errorf("xla install: %w", err)
		}
		dir = filepath.Join(lib, "go-xla")
	}
	if err := installer.CPUAutoInstall(dir, true, installer.Normal); err != nil {
		return fmt.Errorf("xla install (cpu): %w", err)
	}
	if cuda {
		if err := installer.CudaInstall("cuda13", "latest", dir, true, installer.Normal); err != nil {
			return fmt.Errorf("xla install (cuda): %w", err)
		}
	}
	return nil
}

// pluginPath is the file of a plugin given by name or path ("" if unknown).
func pluginPath(plugin string) string {
	if filepath.IsAbs(plugin) {
		return plugin
	}
	return pjrt.AvailablePlugins()[plugin]
}

// setCUDADataDir points XLA at the CUDA toolkit files (libdevice, ptxas)
// that NVIDIA's wheels put beside a CUDA plugin, unless XLA_FLAGS already
// names a directory. go-xla v0.1.4 otherwise sets --xla_gpu_cuda_data_dir
// to a directory of its author's machine.
func setCUDADataDir(plugin string) {
	flags := os.Getenv("XLA_FLAGS")
	if strings.Contains(flags, "--xla_gpu_cuda_data_dir") {
		return
	}
	// The plugin's RPATH looks in ../nvidia and ../../nvidia for the
	// libraries; the toolkit directory is the one holding nvvm/libdevice.
	var dir string
	for _, nv := range []string{"../nvidia", "../../nvidia"} {
		root := filepath.Join(filepath.Dir(plugin), nv)
		for _, sub := range []string{"cu13", "cuda_nvcc", "cu12", "."} {
			if st, err := os.Stat(filepath.Join(root, sub, "nvvm", "libdevice")); err == nil && st.IsDir() {
				dir = filepath.Clean(filepath.Join(root, sub))
				break
			}
		}
		if dir == "" {
			if st, err := os.Stat(root); err == nil && st.IsDir() {
				dir = filepath.Clean(root)
			}
		}
		if dir != "" {
			break
		}
	}
	if dir == "" {
		return
	}
	os.Setenv("XLA_FLAGS", strings.TrimSpace(flags+" --xla_gpu_cuda_data_dir="+dir))
}
