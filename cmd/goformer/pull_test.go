package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/goformer/goformer/hub"
	"github.com/goformer/goformer/hub/hubtest"
	"github.com/goformer/goformer/internal/defaultmodel"
)

// hubEnvForTest points the HF variables at a fresh cache and the fake hub.
func hubEnvForTest(t *testing.T, srv *hubtest.Server) string {
	home := filepath.Join(t.TempDir(), "hf")
	t.Setenv("HF_HOME", home)
	t.Setenv("HF_ENDPOINT", srv.URL)
	for _, k := range []string{"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "HF_TOKEN_PATH"} {
		t.Setenv(k, "")
	}
	return filepath.Join(home, "hub")
}

// From nothing to text in two commands: pull a GGUF repository from the
// (fake) hub, then generate with -m ORG/NAME; the greedy tokens are
// llama2.c's for the same model.
func TestPullThenGenerate(t *testing.T) {
	srv := hubtest.New(t)
	srv.AddRepo("karpathy/stories260K-GGUF", "main", map[string][]byte{
		"stories260K.gguf": defaultmodel.GGUF,
		"README.md":        []byte("# stories260K\n"),
	})
	cache := hubEnvForTest(t, srv)

	out, stderr, err := runCLI(t, "pull", "karpathy/stories260K-GGUF")
	if err != nil {
		t.Fatalf("pull: %v\n%s", err, stderr)
	}
	path := strings.TrimSuffix(out, "\n")
	if !strings.HasPrefix(path, filepath.Join(cache, "models--karpathy--stories260K-GGUF", "snapshots")) || filepath.Base(path) != "stories260K.gguf" || stderr != "" {
		t.Fatalf("pull printed %q (stderr %q), want only the cached GGUF path (no progress when stdout is not a terminal)", out, stderr)
	}
	if b, err := os.ReadFile(path); err != nil || !bytes.Equal(b, defaultmodel.GGUF) {
		t.Fatalf("pulled file differs: %v", err)
	}

	n := len(srv.Requests())
	out, _, err = runCLI(t, "generate", "-m", "karpathy/stories260K-GGUF", "--temperature", "0", "-n", "10", "--json", "Once upon a time")
	if err != nil {
		t.Fatal(err)
	}
	var ids []int
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var tok struct{ ID *int }
		if json.Unmarshal([]byte(l), &tok) == nil && tok.ID != nil {
			ids = append(ids, *tok.ID)
		}
	}
	if !slices.Equal(ids, runCGreedy) {
		t.Errorf("generate -m ORG/NAME: ids %v, want %v", ids, runCGreedy)
	}
	out, _, err = runCLI(t, "tokenize", "-m", "karpathy/stories260K-GGUF/stories260K.gguf:main", "--json", "Once upon a time")
	want, _, _ := runCLI(t, "tokenize", "--json", "Once upon a time")
	if err != nil || out != want {
		t.Errorf("tokenize -m ORG/NAME/FILE:REV = %q, %v; want %q", out, err, want)
	}
	if r := srv.Requests()[n:]; len(r) != 0 {
		t.Errorf("running a cached model made %d requests to the hub, want none", len(r))
	}

	out, _, err = runCLI(t, "list")
	if err != nil || !regexp.MustCompile(`karpathy/stories260K-GGUF +1\.\d MB +gguf +main`).MatchString(out) {
		t.Errorf("list = %q, %v", out, err)
	}
	if out, _, err = runCLI(t, "rm", "karpathy/stories260K-GGUF"); err != nil {
		t.Fatal(err)
	}
	if _, stderr, _ = runCLI(t, "list"); !strings.Contains(stderr, "no models") {
		t.Errorf("list after rm: %q", stderr)
	}
	_, _, err = runCLI(t, "generate", "-m", "karpathy/stories260K-GGUF", "hi")
	if err == nil || !strings.Contains(err.Error(), "goformer pull karpathy/stories260K-GGUF") {
		t.Errorf("generate with a model not in the cache: %v, want a hint to pull it", err)
	}
	if r := srv.Requests()[n:]; len(r) != 0 {
		t.Errorf("a missing model made %d requests to the hub; run time must be offline", len(r))
	}

	// --pull fetches what is missing, then generates.
	out, _, err = runCLI(t, "generate", "--pull", "-m", "karpathy/stories260K-GGUF", "--temperature", "0", "-n", "10", "Once upon a time")
	if err != nil || !strings.HasPrefix(out, "Once upon a time") {
		t.Errorf("generate --pull: %q, %v", out, err)
	}
	if len(srv.Requests()) == n {
		t.Error("generate --pull made no request")
	}
}

// Choosing one GGUF file of a repository that has several.
func TestPullChosenGGUF(t *testing.T) {
	srv := hubtest.New(t)
	srv.AddRepo("org/q", "main", map[string][]byte{"q-Q4_0.gguf": defaultmodel.GGUF, "q-Q8_0.gguf": []byte("GGUF other")})
	hubEnvForTest(t, srv)
	if _, _, err := runCLI(t, "pull", "org/q"); err == nil || !strings.Contains(err.Error(), "2 GGUF files; pick one with --include") {
		t.Errorf("pull of a repository with 2 GGUF files: %v", err)
	}
	out, _, err := runCLI(t, "pull", "org/q/q-Q4_0.gguf")
	if err != nil || !strings.HasSuffix(out, "/q-Q4_0.gguf\n") {
		t.Fatalf("pull ORG/NAME/FILE: %q, %v", out, err)
	}
	out, _, err = runCLI(t, "pull", "--include", "*Q8_0.gguf", "org/q")
	if err != nil || !strings.HasSuffix(out, "/q-Q8_0.gguf\n") {
		t.Fatalf("pull --include: %q, %v", out, err)
	}
	if _, _, err := runCLI(t, "generate", "-m", "org/q", "hi"); err == nil || !strings.Contains(err.Error(), "org/q/q-Q8_0.gguf") {
		t.Errorf("-m with two cached GGUF files: %v, want the list to choose from", err)
	}
	out, _, err = runCLI(t, "generate", "-m", "org/q/q-Q4_0.gguf", "--temperature", "0", "-n", "10", "--json", "Once upon a time")
	var ids []int
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var tok struct{ ID *int }
		if json.Unmarshal([]byte(l), &tok) == nil && tok.ID != nil {
			ids = append(ids, *tok.ID)
		}
	}
	if err != nil || !slices.Equal(ids, runCGreedy) {
		t.Errorf("generate -m ORG/NAME/FILE: ids %v, %v; want %v", ids, err, runCGreedy)
	}
	out, _, _ = runCLI(t, "list")
	if !strings.Contains(out, "  org/q/q-Q4_0.gguf") || !strings.Contains(out, "  org/q/q-Q8_0.gguf") {
		t.Errorf("list does not show the GGUF files:\n%s", out)
	}
}

func TestPullCLIErrors(t *testing.T) {
	srv := hubtest.New(t)
	srv.AddRepo("org/private", "main", map[string][]byte{"m.gguf": []byte("x")})
	srv.SetPrivate("org/private")
	hubEnvForTest(t, srv)
	for args, msg := range map[string]string{
		"pull org/private":                  "set HF_TOKEN",
		"pull org/private:v2":               "set HF_TOKEN",
		"pull ../x":                         "want ORG/NAME",
		"pull org/private -j 0":             "-j 0: want at least 1",
		"rm org/none":                       "not in the cache",
		"generate -m org/none/m.gguf hello": "run: goformer pull org/none",
	} {
		_, _, err := runCLI(t, strings.Fields(args)...)
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("goformer %s: %v, want %q", args, err, msg)
		}
	}
	t.Setenv("HF_TOKEN", srv.Token)
	if _, _, err := runCLI(t, "pull", "org/private:v2"); err == nil || !strings.Contains(err.Error(), `revision "v2" does not exist`) {
		t.Errorf("unknown revision: %v", err)
	}
	if out, _, err := runCLI(t, "pull", "org/private"); err != nil || !strings.HasSuffix(out, "m.gguf\n") {
		t.Errorf("pull with HF_TOKEN: %q, %v", out, err)
	}
	t.Setenv("HF_HUB_OFFLINE", "1")
	if _, _, err := runCLI(t, "pull", "org/private"); err == nil || !strings.Contains(err.Error(), "HF_HUB_OFFLINE") {
		t.Errorf("pull when offline: %v", err)
	}
}

// The progress bars, seen in a real terminal: tmux runs the built binary
// against the fake hub and its pane is captured during and after the pull.
func TestPullProgressInTerminal(t *testing.T) {
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		t.Skip("tmux not installed (apt-get install tmux): the terminal progress display is not tested")
	}
	if testing.Short() {
		t.Skip("builds the binary; skipped in -short")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "goformer")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	srv := hubtest.New(t)
	r := rand.New(rand.NewPCG(1, 2))
	shard := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	files := map[string][]byte{
		"config.json":                      []byte(`{"architectures":["LlamaForCausalLM"]}`),
		"tokenizer.json":                   []byte(`{}`),
		"model-00001-of-00002.safetensors": shard(1_500_000),
		"model-00002-of-00002.safetensors": shard(900_000),
	}
	srv.AddRepo("org/tiny", "main", files)
	srv.SetDelay(15 * time.Millisecond) // 16 KiB per 15 ms: about 1.5 s for the big shard
	cache := filepath.Join(dir, "hf")

	sock := filepath.Join(dir, "tmux.sock")
	tm := func(args ...string) string {
		out, err := exec.Command(tmux, append([]string{"-S", sock, "-f", "/dev/null"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	script := "HF_HOME=" + cache + " HF_ENDPOINT=" + srv.URL + " HF_TOKEN= HF_HUB_CACHE= HF_HUB_OFFLINE= " + bin + " pull org/tiny; echo EXIT=$?; sleep 60"
	tm("new-session", "-d", "-x", "100", "-y", "20", "-s", "pull", script)
	t.Cleanup(func() { exec.Command(tmux, "-S", sock, "kill-server").Run() })

	partial := regexp.MustCompile(`model-00001-of-00002\.safetensors \[=*>? *\] +([1-9]|[1-9]\d)% `)
	var during, final string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		screen := tm("capture-pane", "-p", "-t", "pull")
		if during == "" && partial.MatchString(screen) && strings.Contains(screen, "total") {
			during = screen
		}
		if strings.Contains(screen, "EXIT=") {
			final = screen
			break
		}
		time.Sleep(30 * time.Millisecond)
	}
	t.Logf("during the pull:\n%s\nafter:\n%s", during, final)
	if during == "" {
		t.Error("never saw a partly filled bar with a total line")
	}
	if !strings.Contains(final, "EXIT=0") {
		t.Fatalf("pull did not finish well:\n%s", final)
	}
	for n := range files {
		if c := strings.Count(final, n); c != 1 {
			t.Errorf("%s appears %d times on the final screen, want 1 (bars redrawn in place)", n, c)
		}
		if !regexp.MustCompile(regexp.QuoteMeta(n) + ` +\[=+\] +100% .*done`).MatchString(final) {
			t.Errorf("no finished bar for %s", n)
		}
	}
	if !regexp.MustCompile(`total +\[=+\] +100% +2\.4 MB/2\.4 MB +4/4 files`).MatchString(final) {
		t.Error("no finished total line")
	}
	if !strings.Contains(final, filepath.Join("models--org--tiny", "snapshots")) {
		t.Error("the snapshot path is not printed")
	}

	// Not a terminal: only the path, nothing on stderr.
	cmd := exec.Command(bin, "pull", "org/tiny")
	cmd.Env = append(os.Environ(), "HF_HOME="+cache, "HF_ENDPOINT="+srv.URL, "HF_TOKEN=", "HF_HUB_CACHE=", "HF_HUB_OFFLINE=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatal(err, stderr.String())
	}
	if !strings.HasSuffix(strings.TrimSpace(stdout.String()), filepath.Join("models--org--tiny", "snapshots", srv.AddRepo("org/tiny", "main", files))) || stderr.Len() != 0 || strings.Contains(stdout.String(), "\x1b") {
		t.Errorf("piped pull wrote %q, stderr %q; want the path alone", stdout.String(), stderr.String())
	}
}

func TestProgressUI(t *testing.T) {
	var buf bytes.Buffer
	u := newProgressUI(&buf, 80)
	for i := range 40 {
		u.update(hub.FileProgress{Name: "model-" + strconv.Itoa(i) + ".safetensors", Size: 1000, State: hub.Queued})
	}
	u.update(hub.FileProgress{Name: "model-0.safetensors", Size: 1000, Done: 1000, State: hub.Cached})
	u.update(hub.FileProgress{Name: "model-1.safetensors", Size: 1000, Done: 500, State: hub.Downloading})
	u.draw()
	first := buf.String()
	if n := strings.Count(first, "\n"); n != maxBars+1 {
		t.Errorf("%d lines drawn for 40 files, want %d bars and a total", n, maxBars+1)
	}
	if strings.Contains(first, "model-0.safetensors") || !regexp.MustCompile(`model-1\.safetensors +\[===> +\] +50%`).MatchString(first) || !strings.Contains(first, "1/40 files") {
		t.Errorf("first frame:\n%s", first)
	}
	for _, l := range strings.Split(strings.TrimSuffix(first, "\n"), "\n") {
		if w := utf8.RuneCountInString(strings.TrimPrefix(l, "\r\x1b[2K")); w >= 80 {
			t.Errorf("line of %d runes in 80 columns: %q", w, l)
		}
	}
	buf.Reset()
	u.draw()
	if !strings.HasPrefix(buf.String(), fmt.Sprintf("\x1b[%dA", maxBars+1)) {
		t.Errorf("second frame does not move up over the first: %q", buf.String()[:10])
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 1_234_567: "1.2 MB", 5_000_000_000: "5.0 GB", 1 << 62: "4611.7 PB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
	if got := fit("model-00001-of-00002.safetensors", 12); got != "model…tensors" && utf8.RuneCountInString(got) != 12 {
		t.Errorf("fit = %q", got)
	}
}
