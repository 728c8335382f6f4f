// Package xla runs goformer's model families through XLA: GoMLX graphs
// (package backend/gomlx) compiled and executed by a PJRT plugin, the CPU
// plugin or CUDA's on NVIDIA GPUs.
//
// Nothing is ever downloaded behind the user's back: GoMLX's automatic
// plugin installation is switched off when this package initializes, and
// only Install (goformer xla install) fetches plugins. A missing or broken
// plugin is an error that says what to install and where goformer looked:
// the directories in PJRT_PLUGIN_LIBRARY_PATH (":"-separated), else
// ~/.local/lib/go-xla, /usr/local/lib/go-xla and the system library
// directories; or give the plugin's absolute path (New("/path/to/plugin.so"),
// --backend xla:/path/to/plugin.so).
//
// The package needs cgo (and linux/amd64 or darwin). Built without it, New
// and Install return ErrNotCompiled and the rest of goformer works as usual.
package xla

import "errors"

// ErrNotCompiled is returned by New and Install in a build without cgo.
var ErrNotCompiled = errors.New("the xla backend is not compiled into this goformer: it needs cgo " +
	"(build with CGO_ENABLED=1 and a C compiler on linux/amd64 or darwin); " +
	"--backend gomlx-go runs the same graphs in pure Go, --backend native on goformer's own kernels")

// ErrNoPlugin is returned (wrapped, with the details) by New when no usable
// PJRT plugin is found.
var ErrNoPlugin = errors.New("no usable PJRT plugin")

// PluginHelp says how to make a plugin available.
const PluginHelp = `To run on XLA, goformer needs a PJRT plugin (a shared library):
  - CPU: run "goformer xla install" (downloads the CPU plugin into ~/.local/lib/go-xla), or
  - NVIDIA GPU: "goformer xla install --cuda", or use an existing one, e.g. the plugin inside
    jax's jax-cuda13-pjrt (or jax-cuda12-pjrt) Python package:
      --backend xla:$(python3 -c 'import jax_plugins.xla_cuda13 as p, os; print(os.path.dirname(p.__file__))')/xla_cuda_plugin.so
Then either set PJRT_PLUGIN_LIBRARY_PATH to the directory holding pjrt_c_api_<name>_plugin.so
(":"-separated for several) and pass --backend xla or xla:<name>, or pass the absolute path:
--backend xla:/path/to/plugin.so.`
