package hub_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/goformer/goformer/hub"
	"github.com/goformer/goformer/hub/hubtest"
)

func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// modelFiles is a small sharded safetensors repository with extras that
// the default selection must leave out.
func modelFiles() map[string][]byte {
	return map[string][]byte{
		"config.json":                       []byte(`{"architectures":["LlamaForCausalLM"]}`),
		"tokenizer.json":                    []byte(`{"model":{"type":"BPE"}}`),
		"tokenizer_config.json":             []byte(`{}`),
		"model.safetensors.index.json":      []byte(`{"weight_map":{}}`),
		"model-00001-of-00002.safetensors":  randBytes(1, 300_000),
		"model-00002-of-00002.safetensors":  randBytes(2, 150_001),
		"README.md":                         []byte("# model card\n"),
		"onnx/model.onnx":                   randBytes(3, 1000),
		"original/consolidated.safetensors": randBytes(4, 1000),
	}
}

var defaultSelection = []string{"config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
	"model.safetensors.index.json", "tokenizer.json", "tokenizer_config.json"}

func newClient(t *testing.T, srv *hubtest.Server) *hub.Client {
	return &hub.Client{Endpoint: srv.URL, CacheDir: filepath.Join(t.TempDir(), "hub")}
}

// checkSnapshot checks a snapshot against huggingface_hub's layout: each
// file a relative symlink ../../blobs/<etag> (one more ../ per sub
// folder), the blob holding the file's bytes.
func checkSnapshot(t *testing.T, snap string, files map[string][]byte, names []string) {
	t.Helper()
	var got []string
	filepath.WalkDir(snap, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(snap, p)
			got = append(got, filepath.ToSlash(rel))
		}
		return err
	})
	if !slices.Equal(got, names) {
		t.Fatalf("snapshot files %q, want %q", got, names)
	}
	for _, n := range names {
		p := filepath.Join(snap, n)
		target, err := os.Readlink(p)
		if err != nil {
			t.Fatalf("%s: not a symlink: %v", n, err)
		}
		want := strings.Repeat("../", 2+strings.Count(n, "/")) + "blobs/" + hubtest.ETag(n, files[n])
		if target != want {
			t.Errorf("%s → %s, want %s", n, target, want)
		}
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(b, files[n]) {
			t.Errorf("%s: contents differ (err %v, %d bytes, want %d)", n, err, len(b), len(files[n]))
		}
	}
}

func TestPullFull(t *testing.T) {
	srv := hubtest.New(t)
	files := modelFiles()
	commit := srv.AddRepo("org/tiny", "main", files)
	c := newClient(t, srv)
	c.Token = srv.Token
	var mu sync.Mutex
	final := map[string]hub.State{}
	snap, err := c.Pull(context.Background(), "org/tiny", "", hub.PullOptions{Progress: func(p hub.FileProgress) {
		mu.Lock()
		final[p.Name] = p.State
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	repoDir := filepath.Join(c.CacheDir, "models--org--tiny")
	if snap != filepath.Join(repoDir, "snapshots", commit) {
		t.Fatalf("snapshot %s", snap)
	}
	checkSnapshot(t, snap, files, defaultSelection)
	if b, err := os.ReadFile(filepath.Join(repoDir, "refs", "main")); err != nil || string(b) != commit {
		t.Errorf("refs/main = %q (%v), want %q without newline", b, err, commit)
	}
	blobs, _ := filepath.Glob(filepath.Join(repoDir, "blobs", "*"))
	if len(blobs) != len(defaultSelection) {
		t.Errorf("%d blobs (%q), want %d and no .incomplete", len(blobs), blobs, len(defaultSelection))
	}
	for _, n := range defaultSelection {
		if final[n] != hub.Done {
			t.Errorf("%s: last progress state %v, want done", n, final[n])
		}
	}
	// The token goes to the hub, never to the CDN; LFS files come from the CDN.
	cdn := 0
	for _, r := range srv.Requests() {
		switch {
		case r.Server == "cdn" && r.Auth != "":
			t.Errorf("CDN request %s carried the token", r.Path)
		case r.Server == "hub" && r.Auth != "Bearer "+srv.Token:
			t.Errorf("hub request %s %s without the token", r.Method, r.Path)
		case r.Server == "cdn":
			cdn++
		}
	}
	if cdn != 2 {
		t.Errorf("%d CDN requests, want 2 (the two shards)", cdn)
	}

	// Pulling again downloads nothing: one API request.
	n := len(srv.Requests())
	if _, err := c.Pull(context.Background(), "org/tiny", "main", hub.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if r := srv.Requests()[n:]; len(r) != 1 || !strings.HasPrefix(r[0].Path, "/api/models/org/tiny/revision/main") {
		t.Errorf("second pull made requests %v, want just the API call", r)
	}
	if p, err := hub.Resolve(c.CacheDir, "org/tiny"); err != nil || p != snap {
		t.Errorf("Resolve = %q, %v; want %s", p, err, snap)
	}
}

func TestPullInclude(t *testing.T) {
	srv := hubtest.New(t)
	files := map[string][]byte{
		"tiny-Q4_K_M.gguf": randBytes(5, 20_000),
		"tiny-Q8_0.gguf":   randBytes(6, 30_000),
		"README.md":        []byte("card"),
	}
	srv.AddRepo("org/tiny-GGUF", "main", files)
	c := newClient(t, srv)
	_, err := c.Pull(context.Background(), "org/tiny-GGUF", "", hub.PullOptions{})
	if err == nil || !strings.Contains(err.Error(), "2 GGUF files") || !strings.Contains(err.Error(), "tiny-Q8_0.gguf") {
		t.Fatalf("pull of a repository with two GGUF files: %v, want an error listing them", err)
	}
	snap, err := c.Pull(context.Background(), "org/tiny-GGUF", "", hub.PullOptions{Include: []string{"*Q8_0.gguf"}})
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, snap, files, []string{"tiny-Q8_0.gguf"})
	if p, err := hub.Resolve(c.CacheDir, "org/tiny-GGUF"); err != nil || p != filepath.Join(snap, "tiny-Q8_0.gguf") {
		t.Errorf("Resolve = %q, %v; want the single GGUF", p, err)
	}
	_, err = c.Pull(context.Background(), "org/tiny-GGUF", "", hub.PullOptions{Include: []string{"*.safetensors"}})
	if err == nil || !strings.Contains(err.Error(), "no file matches") {
		t.Errorf("include matching nothing: %v", err)
	}
}

func TestPullSubfolderAndRevision(t *testing.T) {
	srv := hubtest.New(t)
	files := map[string][]byte{"a/b/config.json": []byte("{}"), "w.gguf": randBytes(7, 5000)}
	commit := srv.AddRepo("solo", "refs/pr/1", files)
	c := newClient(t, srv)
	snap, err := c.Pull(context.Background(), "solo", "refs/pr/1", hub.PullOptions{Include: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, snap, files, []string{"a/b/config.json", "w.gguf"})
	if b, _ := os.ReadFile(filepath.Join(c.CacheDir, "models--solo", "refs", "refs", "pr", "1")); string(b) != commit {
		t.Errorf("refs/refs/pr/1 = %q, want %s", b, commit)
	}
	if p, err := hub.Resolve(c.CacheDir, "solo/w.gguf:refs/pr/1"); err != nil || p != filepath.Join(snap, "w.gguf") {
		t.Errorf("Resolve = %q, %v", p, err)
	}
	// By commit hash: no ref is written.
	c2 := newClient(t, srv)
	if _, err := c2.Pull(context.Background(), "solo", commit, hub.PullOptions{Include: []string{"*.gguf"}}); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(filepath.Join(c2.CacheDir, "models--solo", "refs")); len(ents) != 0 {
		t.Errorf("pull by commit wrote refs %v", ents)
	}
	if p, err := hub.Resolve(c2.CacheDir, "solo:"+commit); err != nil || !strings.HasSuffix(p, "w.gguf") {
		t.Errorf("Resolve by commit = %q, %v", p, err)
	}
}

// cdnGets returns the Range headers of the GETs of one LFS file.
func cdnGets(srv *hubtest.Server, from int) []string {
	var out []string
	for _, r := range srv.Requests()[from:] {
		if r.Server == "cdn" && r.Method == "GET" {
			out = append(out, r.Range)
		}
	}
	return out
}

func TestPullResumesBrokenTransfer(t *testing.T) {
	srv := hubtest.New(t)
	files := map[string][]byte{"model.safetensors": randBytes(8, 400_000), "config.json": []byte("{}")}
	srv.AddRepo("org/m", "main", files)
	srv.CutAfter("model.safetensors", 123_456)
	c := newClient(t, srv)
	snap, err := c.Pull(context.Background(), "org/m", "", hub.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, snap, files, []string{"config.json", "model.safetensors"})
	if g := cdnGets(srv, 0); !slices.Equal(g, []string{"", "bytes=123456-"}) {
		t.Errorf("CDN GETs with Range %q, want a full GET then one resuming at 123456", g)
	}
}

func TestPullRetriesServerErrors(t *testing.T) {
	srv := hubtest.New(t)
	files := map[string][]byte{"model.safetensors": randBytes(13, 50_000)}
	srv.AddRepo("org/m", "main", files)
	srv.FailNext("model.safetensors", 503)
	srv.FailNext("model.safetensors", 429)
	c := newClient(t, srv)
	snap, err := c.Pull(context.Background(), "org/m", "", hub.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, snap, files, []string{"model.safetensors"})
	if g := cdnGets(srv, 0); len(g) != 3 {
		t.Errorf("%d CDN GETs, want 3 (503, 429, then the data)", len(g))
	}
	srv.FailNext("model.safetensors", 503)
	srv.FailNext("model.safetensors", 503)
	_, err = newClient(t, srv).Pull(context.Background(), "org/m", "", hub.PullOptions{Retries: 1})
	if err == nil || !strings.Contains(err.Error(), "HTTP 503") {
		t.Errorf("503 past the retries: %v", err)
	}
}

func TestPullResumesAcrossRuns(t *testing.T) {
	srv := hubtest.New(t)
	files := map[string][]byte{"model.safetensors": randBytes(9, 200_000), "config.json": []byte("{}")}
	srv.AddRepo("org/m", "main", files)
	srv.CutAfter("model.safetensors", 70_000)
	c := newClient(t, srv)
	_, err := c.Pull(context.Background(), "org/m", "", hub.PullOptions{Retries: -1})
	if err == nil || !strings.Contains(err.Error(), "model.safetensors") || !strings.Contains(err.Error(), "transfer broken at byte 70000") {
		t.Fatalf("interrupted pull: %v, want an error naming the file and the byte", err)
	}
	part := filepath.Join(c.CacheDir, "models--org--m", "blobs", hubtest.SHA256(files["model.safetensors"])+".incomplete")
	if fi, err := os.Stat(part); err != nil || fi.Size() != 70_000 {
		t.Fatalf("partial blob %s: %v, %v", part, fi, err)
	}
	n := len(srv.Requests())
	snap, err := c.Pull(context.Background(), "org/m", "", hub.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, snap, files, []string{"config.json", "model.safetensors"})
	if g := cdnGets(srv, n); !slices.Equal(g, []string{"bytes=70000-"}) {
		t.Errorf("second pull's CDN GETs %q, want one resuming at 70000", g)
	}
}

func TestPullCancelLeavesPartial(t *testing.T) {
	srv := hubtest.New(t)
	files := map[string][]byte{"model.safetensors": randBytes(10, 1<<20)}
	srv.AddRepo("org/m", "main", files)
	srv.SetDelay(5e6) // 5ms per 16 KiB: about 0.3 s for the file
	c := newClient(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := c.Pull(ctx, "org/m", "", hub.PullOptions{Progress: func(p hub.FileProgress) {
		if p.Done > 200_000 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled pull: %v", err)
	}
	part := filepath.Join(c.CacheDir, "models--org--m", "blobs", hubtest.SHA256(files["model.safetensors"])+".incomplete")
	fi, err := os.Stat(part)
	if err != nil || fi.Size() < 200_000 {
		t.Fatalf("partial blob after cancel: %v %v", fi, err)
	}
	srv.SetDelay(0)
	n := len(srv.Requests())
	snap, err := c.Pull(context.Background(), "org/m", "", hub.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, snap, files, []string{"model.safetensors"})
	if g := cdnGets(srv, n); len(g) != 1 || g[0] != "bytes="+itoa(fi.Size())+"-" {
		t.Errorf("resumed GETs %q, want one from byte %d", g, fi.Size())
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestPullCorruptedBlobRefetched(t *testing.T) {
	srv := hubtest.New(t)
	files := map[string][]byte{"model.safetensors": randBytes(11, 100_000), "config.json": []byte(`{"a":1}`)}
	srv.AddRepo("org/m", "main", files)
	srv.Corrupt("model.safetensors", 1)
	srv.Corrupt("config.json", 1)
	c := newClient(t, srv)
	snap, err := c.Pull(context.Background(), "org/m", "", hub.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, snap, files, []string{"config.json", "model.safetensors"})
	if g := cdnGets(srv, 0); !slices.Equal(g, []string{"", ""}) {
		t.Errorf("CDN GETs %q, want two full ones (corrupt, then good)", g)
	}

	// Corrupted every time: a clear error, no blob, no link.
	c2 := newClient(t, srv)
	srv.Corrupt("model.safetensors", 2)
	_, err = c2.Pull(context.Background(), "org/m", "", hub.PullOptions{})
	t.Log(err)
	if !errors.Is(err, hub.ErrChecksum) || !strings.Contains(err.Error(), "sha256 of the downloaded bytes") || !strings.Contains(err.Error(), "model.safetensors") {
		t.Fatalf("persistently corrupt: %v", err)
	}
	if _, err := os.Stat(filepath.Join(c2.CacheDir, "models--org--m", "blobs", hubtest.SHA256(files["model.safetensors"]))); err == nil {
		t.Error("a corrupt blob was kept")
	}
	// Small files are checked against their git blob hash.
	c3 := newClient(t, srv)
	srv.Corrupt("config.json", 2)
	_, err = c3.Pull(context.Background(), "org/m", "", hub.PullOptions{})
	if !errors.Is(err, hub.ErrChecksum) || !strings.Contains(err.Error(), "git blob sha1") {
		t.Fatalf("corrupt small file: %v", err)
	}
}

func TestPullVerifyRefetchesDamagedCache(t *testing.T) {
	srv := hubtest.New(t)
	files := map[string][]byte{"model.safetensors": randBytes(12, 50_000)}
	srv.AddRepo("org/m", "main", files)
	c := newClient(t, srv)
	snap, err := c.Pull(context.Background(), "org/m", "", hub.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	blob := filepath.Join(c.CacheDir, "models--org--m", "blobs", hubtest.SHA256(files["model.safetensors"]))
	b, _ := os.ReadFile(blob)
	b[100] ^= 1
	os.WriteFile(blob, b, 0o644)
	if _, err := c.Pull(context.Background(), "org/m", "", hub.PullOptions{Verify: true}); err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, snap, files, []string{"model.safetensors"})
}

func TestPullErrors(t *testing.T) {
	srv := hubtest.New(t)
	srv.AddRepo("org/private", "main", map[string][]byte{"config.json": []byte("{}"), "m.safetensors": []byte("x")})
	srv.SetPrivate("org/private")
	srv.AddRepo("org/public", "main", map[string][]byte{"m.gguf": []byte("gguf")})
	ctx := context.Background()
	for _, tc := range []struct {
		name, repo, rev, token string
		kind                   error
		msg                    []string
	}{
		{"401 without token", "org/private", "", "", hub.ErrUnauthorized, []string{"HTTP 401", "set HF_TOKEN", "org/private"}},
		{"401 bad token", "org/private", "", "hf_wrong", hub.ErrUnauthorized, []string{"HTTP 401", "token in HF_TOKEN was refused"}},
		{"unknown repo anonymous", "org/nope", "", "", hub.ErrUnauthorized, []string{"private, gated or does not exist"}},
		{"unknown repo with token", "org/nope", "", srv.Token, hub.ErrRepoNotFound, []string{"HTTP 404 RepoNotFound", "no repository org/nope"}},
		{"unknown revision", "org/public", "v9", "", hub.ErrRevisionNotFound, []string{"HTTP 404 RevisionNotFound", `revision "v9" does not exist in org/public`}},
		{"bad repo id", "../etc", "", "", nil, []string{"want ORG/NAME"}},
		{"bad revision", "org/public", "../../x", "", hub.ErrUnsafePath, []string{"revision"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, srv)
			c.Token = tc.token
			_, err := c.Pull(ctx, tc.repo, tc.rev, hub.PullOptions{})
			if err == nil || tc.kind != nil && !errors.Is(err, tc.kind) {
				t.Fatalf("err = %v, want %v", err, tc.kind)
			}
			t.Log(err)
			for _, m := range tc.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q lacks %q", err, m)
				}
			}
			if ents, _ := os.ReadDir(c.CacheDir); len(ents) != 0 {
				t.Errorf("a failed pull left %v in the cache", ents)
			}
		})
	}
	c := newClient(t, srv)
	c.Token = srv.Token
	if _, err := c.Pull(ctx, "org/private", "", hub.PullOptions{}); err != nil {
		t.Errorf("private repository with the token: %v", err)
	}

	// No network.
	dead := httptest.NewServer(nil)
	dead.Close()
	c = &hub.Client{Endpoint: dead.URL, CacheDir: t.TempDir()}
	_, err := c.Pull(ctx, "org/public", "", hub.PullOptions{})
	if err == nil || !strings.Contains(err.Error(), "cannot reach the hub") {
		t.Errorf("dead endpoint: %v", err)
	}
}

func TestPullPathSafety(t *testing.T) {
	for _, name := range []string{"../evil.json", "/abs.json", `a\b.json`, "sub/../../../x.json", "./config.json", "a//b.json", "C:/x.json"} {
		t.Run(name, func(t *testing.T) {
			srv := hubtest.New(t)
			srv.AddRepo("org/m", "main", map[string][]byte{name: []byte("{}"), "m.gguf": []byte("gguf")})
			c := newClient(t, srv)
			_, err := c.Pull(context.Background(), "org/m", "", hub.PullOptions{Include: []string{"*"}})
			if !errors.Is(err, hub.ErrUnsafePath) {
				t.Fatalf("server file name %q: %v, want ErrUnsafePath", name, err)
			}
			t.Log(err)
			assertOnly(t, filepath.Dir(c.CacheDir), "hub")
		})
	}
	t.Run("etag", func(t *testing.T) {
		srv := hubtest.New(t)
		srv.AddRepo("org/m", "main", map[string][]byte{"config.json": []byte("{}")})
		srv.SetETag("config.json", "../../../../evil")
		c := newClient(t, srv)
		_, err := c.Pull(context.Background(), "org/m", "", hub.PullOptions{Include: []string{"*"}})
		if !errors.Is(err, hub.ErrUnsafePath) {
			t.Fatalf("hostile etag: %v", err)
		}
		assertOnly(t, filepath.Dir(c.CacheDir), "hub")
	})
	// Symbolic links already in the cache are not written through.
	for _, link := range []string{"snapshots/COMMIT/sub", "blobs", "", "../.locks"} {
		t.Run("symlink "+link, func(t *testing.T) {
			srv := hubtest.New(t)
			commit := srv.AddRepo("org/m", "main", map[string][]byte{"sub/config.json": []byte("{}")})
			c := newClient(t, srv)
			outside := t.TempDir()
			p := filepath.Join(c.CacheDir, "models--org--m", filepath.FromSlash(strings.ReplaceAll(link, "COMMIT", commit)))
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.Symlink(outside, p); err != nil {
				t.Fatal(err)
			}
			_, err := c.Pull(context.Background(), "org/m", "", hub.PullOptions{Include: []string{"*"}})
			if !errors.Is(err, hub.ErrUnsafePath) {
				t.Fatalf("pull through a symlink at %q: %v, want ErrUnsafePath", link, err)
			}
			t.Log(err)
			if ents, _ := os.ReadDir(outside); len(ents) != 0 {
				t.Errorf("wrote %v outside the cache", ents)
			}
		})
	}
}

// assertOnly checks that dir holds nothing but the named entry.
func assertOnly(t *testing.T, dir, name string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.Name() != name {
			t.Errorf("%s appeared beside the cache", e.Name())
		}
	}
	filepath.WalkDir(filepath.Join(dir, name), func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), "evil") {
			t.Errorf("%s written", p)
		}
		return nil
	})
}

// A blob already in the cache (from another revision, or a snapshot
// removed by hand) is linked, not downloaded again.
func TestPullReusesBlobs(t *testing.T) {
	srv := hubtest.New(t)
	files := map[string][]byte{"model.safetensors": randBytes(14, 80_000), "config.json": []byte("{}")}
	srv.AddRepo("org/m", "main", files)
	c := newClient(t, srv)
	snap, err := c.Pull(context.Background(), "org/m", "", hub.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Dir(snap))
	files["README.md"] = []byte("new")
	srv.AddRepo("org/m", "main", files) // a new commit with the same weights
	snap2, err := c.Pull(context.Background(), "org/m", "", hub.PullOptions{Include: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, snap2, files, []string{"README.md", "config.json", "model.safetensors"})
	if g := cdnGets(srv, 0); len(g) != 1 {
		t.Errorf("%d CDN downloads of the weights, want 1", len(g))
	}
}

func TestPullParallel(t *testing.T) {
	srv := hubtest.New(t)
	files := map[string][]byte{}
	var names []string
	for i := range 6 {
		n := "model-0000" + itoa(int64(i+1)) + "-of-00006.safetensors"
		files[n] = randBytes(uint64(20+i), 64_000+i)
		names = append(names, n)
	}
	srv.AddRepo("org/shards", "main", files)
	srv.SetDelay(5e6)
	c := newClient(t, srv)
	var mu sync.Mutex
	active, peak := map[string]bool{}, 0
	snap, err := c.Pull(context.Background(), "org/shards", "", hub.PullOptions{Workers: 3, Progress: func(p hub.FileProgress) {
		mu.Lock()
		defer mu.Unlock()
		if p.State == hub.Downloading {
			active[p.Name] = true
		} else {
			delete(active, p.Name)
		}
		peak = max(peak, len(active))
	}})
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, snap, files, names)
	if peak < 2 || peak > 3 {
		t.Errorf("peak of %d files downloading at once, want 2..3 with 3 workers", peak)
	}
}

// Two pulls of one repository into one cache at once (two processes, as
// far as the lock files go): each blob is downloaded once, both succeed.
func TestPullConcurrentSameCache(t *testing.T) {
	srv := hubtest.New(t)
	files := map[string][]byte{"a.safetensors": randBytes(30, 200_000), "b.safetensors": randBytes(31, 200_000), "config.json": []byte("{}")}
	srv.AddRepo("org/m", "main", files)
	srv.SetDelay(2e6)
	cache := filepath.Join(t.TempDir(), "hub")
	var wg sync.WaitGroup
	snaps := make([]string, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() {
			c := &hub.Client{Endpoint: srv.URL, CacheDir: cache}
			snaps[i], errs[i] = c.Pull(context.Background(), "org/m", "", hub.PullOptions{})
		})
	}
	wg.Wait()
	for i := range 2 {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		checkSnapshot(t, snaps[i], files, []string{"a.safetensors", "b.safetensors", "config.json"})
	}
	if g := cdnGets(srv, 0); len(g) != 2 {
		t.Errorf("%d CDN downloads, want 2 (one per LFS blob)", len(g))
	}
}
