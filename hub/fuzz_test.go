package hub_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goformer/goformer/hub"
)

// FuzzCheckName: an accepted name stays under the directory it is joined to.
func FuzzCheckName(f *testing.F) {
	for _, s := range []string{"config.json", "a/b/c.gguf", "../x", "/abs", `a\b`, "a/./b", "C:x", "a\x00b", "..", "...", "a/..b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if hub.CheckName(name) != nil {
			return
		}
		base := filepath.FromSlash("/cache/snapshots/c")
		p := filepath.Join(base, filepath.FromSlash(name))
		if !strings.HasPrefix(p, base+string(filepath.Separator)) || strings.Contains(name, "\\") || filepath.Clean(filepath.FromSlash(name)) != filepath.FromSlash(name) {
			t.Fatalf("CheckName accepted %q, which joins to %q", name, p)
		}
	})
}

// FuzzParseSpec: an accepted spec names a safe cache folder and file, and
// prints back to itself.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"org/name", "org/name:main", "org/name/m.gguf:refs/pr/1", "gpt2", "a/b/../c", "a--b/c", "org/name:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := hub.ParseSpec(s)
		if err != nil {
			return
		}
		if hub.CheckRepo(sp.Repo) != nil || strings.ContainsAny(hub.RepoFolder(sp.Repo), `/\`) || strings.Contains(hub.RepoFolder(sp.Repo), "..") {
			t.Fatalf("ParseSpec(%q) gave unsafe repo %q", s, sp.Repo)
		}
		if sp.File != "" && hub.CheckName(sp.File) != nil || sp.Revision != "" && hub.CheckName(sp.Revision) != nil {
			t.Fatalf("ParseSpec(%q) gave unsafe parts %+v", s, sp)
		}
		again, err := hub.ParseSpec(sp.String())
		if err != nil || again != sp {
			t.Fatalf("ParseSpec(%q) = %+v, but its String %q parses to %+v, %v", s, sp, sp.String(), again, err)
		}
	})
}

// FuzzSelectFiles: patterns never panic, and whatever is selected was listed.
func FuzzSelectFiles(f *testing.F) {
	for _, s := range []string{"*.gguf", "[!a]*", "[", "[]]", "onnx/", "a?b", `\`, "[z-a]"} {
		f.Add(s, "a.gguf")
	}
	f.Fuzz(func(t *testing.T, pat, name string) {
		files := []hub.Sibling{{Name: name}, {Name: "config.json"}}
		got, err := hub.SelectFiles(files, []string{pat})
		if err == nil && len(got) == 0 {
			t.Fatal("no error and nothing selected")
		}
	})
}

type bodyTransport string

func (b bodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(string(b))), Request: r}, nil
}

// FuzzRepoInfo: any answer of the API is either rejected with an error or
// has a valid commit and only safe file names.
func FuzzRepoInfo(f *testing.F) {
	f.Add(`{"id":"o/n","sha":"0123456789abcdef0123456789abcdef01234567","siblings":[{"rfilename":"config.json","blobId":"x","size":3}]}`)
	f.Add(`{"sha":"0123456789abcdef0123456789abcdef01234567","siblings":[{"rfilename":"../x"}]}`)
	f.Add(`{"sha":"zz","siblings":null}`)
	f.Add(`[`)
	f.Fuzz(func(t *testing.T, body string) {
		c := &hub.Client{Endpoint: "http://hub.invalid", CacheDir: t.TempDir(), HTTP: &http.Client{Transport: bodyTransport(body)}}
		info, err := c.RepoInfo(context.Background(), "o/n", "main")
		if err != nil {
			if errors.Is(err, hub.ErrUnsafePath) || strings.Contains(err.Error(), "o/n:main") {
				return
			}
			t.Fatalf("error without context: %v", err)
		}
		for _, s := range info.Siblings {
			if hub.CheckName(s.Name) != nil {
				t.Fatalf("unsafe name %q accepted", s.Name)
			}
		}
	})
}
