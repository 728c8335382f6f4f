package hub_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/goformer/goformer/hub"
	"github.com/goformer/goformer/hub/hubtest"
)

// BenchmarkPull compares a pull of one 16 MiB LFS file from the loopback
// fake hub (HEAD, redirect, write, sha256) with a bare GET of the same file
// into io.Discard: the ratio of their MB/s is the cost of the cache and
// the verification.
func BenchmarkPull(b *testing.B) {
	srv := hubtest.New(b)
	data := randBytes(40, 16<<20)
	srv.AddRepo("org/m", "main", map[string][]byte{"model.safetensors": data})
	b.Run("get-discard", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			resp, err := http.Get(srv.URL + "/org/m/resolve/main/model.safetensors")
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || n != int64(len(data)) {
				b.Fatal(n, err)
			}
		}
	})
	b.Run("pull", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			dir, err := os.MkdirTemp(b.TempDir(), "cache")
			if err != nil {
				b.Fatal(err)
			}
			c := &hub.Client{Endpoint: srv.URL, CacheDir: dir}
			if _, err := c.Pull(context.Background(), "org/m", "", hub.PullOptions{}); err != nil {
				b.Fatal(err)
			}
			os.RemoveAll(dir)
		}
	})
}
