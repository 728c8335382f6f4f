// Package hub downloads models from the Hugging Face Hub into the standard
// Hugging Face cache and finds models in that cache.
//
// The cache layout is the one huggingface_hub writes, so models pulled by
// Python tools are found here and models pulled here are found by them:
//
//	$HF_HUB_CACHE/models--ORG--NAME/
//	    blobs/<etag>                      file contents; etag is the sha256 of LFS files, the git blob sha1 of others
//	    blobs/<etag>.incomplete           a partial download, resumed by the next pull
//	    snapshots/<commit>/<file>         relative symbolic links to ../../blobs/<etag>
//	    refs/<revision>                   the commit hash a branch or tag pointed to
//
// Nothing in this package touches the network except Client.Pull.
package hub

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// DefaultEndpoint is the Hugging Face Hub.
const DefaultEndpoint = "https://huggingface.co"

// Env holds the settings huggingface_hub reads from the environment.
type Env struct {
	CacheDir string // HF_HUB_CACHE, else $HF_HOME/hub
	Endpoint string // HF_ENDPOINT, else DefaultEndpoint
	Token    string // HF_TOKEN, else the token file $HF_HOME/token
	Offline  bool   // HF_HUB_OFFLINE
}

// EnvFrom reads the Hugging Face environment variables through getenv
// (os.Getenv in a program; a map lookup in tests): HF_HOME (default
// $XDG_CACHE_HOME/huggingface or ~/.cache/huggingface), HF_HUB_CACHE
// (default $HF_HOME/hub), HF_ENDPOINT, HF_TOKEN (default: the contents of
// HF_TOKEN_PATH or $HF_HOME/token) and HF_HUB_OFFLINE.
func EnvFrom(getenv func(string) string) Env {
	home := getenv("HF_HOME")
	if home == "" {
		base := getenv("XDG_CACHE_HOME")
		if base == "" {
			h := getenv("HOME")
			if h == "" {
				h, _ = os.UserHomeDir()
			}
			base = filepath.Join(h, ".cache")
		}
		home = filepath.Join(base, "huggingface")
	}
	home = expandHome(home, getenv)
	e := Env{
		CacheDir: cmp.Or(getenv("HF_HUB_CACHE"), getenv("HUGGINGFACE_HUB_CACHE"), filepath.Join(home, "hub")),
		Endpoint: strings.TrimRight(cmp.Or(getenv("HF_ENDPOINT"), DefaultEndpoint), "/"),
		Token:    cmp.Or(getenv("HF_TOKEN"), getenv("HUGGING_FACE_HUB_TOKEN")),
	}
	e.CacheDir = expandHome(e.CacheDir, getenv)
	if e.Token == "" {
		p := cmp.Or(getenv("HF_TOKEN_PATH"), filepath.Join(home, "token"))
		if b, err := os.ReadFile(expandHome(p, getenv)); err == nil {
			e.Token = strings.TrimSpace(string(b))
		}
	}
	switch strings.ToLower(getenv("HF_HUB_OFFLINE")) {
	case "1", "true", "yes", "on":
		e.Offline = true
	}
	return e
}

func expandHome(p string, getenv func(string) string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		h := getenv("HOME")
		if h == "" {
			h, _ = os.UserHomeDir()
		}
		return filepath.Join(h, p[1:])
	}
	return p
}

var (
	repoPart   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	commitHash = regexp.MustCompile(`^[0-9a-f]{40}$`)
	etagRe     = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)
)

// CheckRepo reports whether id is a valid repository id: "name" or
// "org/name", each part of letters, digits, '.', '_' and '-', with no ".."
// or "--" (which the hub forbids and the cache folder name relies on).
func CheckRepo(id string) error {
	parts := strings.Split(id, "/")
	if len(parts) > 2 || id == "" {
		return fmt.Errorf("repository id %q: want ORG/NAME", id)
	}
	for _, p := range parts {
		if !repoPart.MatchString(p) || strings.Contains(p, "..") || strings.Contains(p, "--") || len(p) > 96 || strings.HasSuffix(p, ".") {
			return fmt.Errorf("repository id %q: want ORG/NAME of letters, digits, '.', '_' and '-' (no \"..\" or \"--\")", id)
		}
	}
	return nil
}

// checkRevision accepts branch, tag and commit names that are safe as a path
// under refs/ (a revision may contain '/', as in refs/pr/1).
func checkRevision(rev string) error {
	if rev == "" || len(rev) > 256 {
		return fmt.Errorf("revision %q: empty or too long", rev)
	}
	if err := CheckName(rev); err != nil {
		return fmt.Errorf("revision %q: %w", rev, ErrUnsafePath)
	}
	return nil
}

// CheckName reports whether name, a file name in a repository as the server
// gives it, is safe to use as a path under a directory: relative, slash
// separated, with no empty, "." or ".." element, no backslash, colon or
// control character. It returns an error wrapping ErrUnsafePath otherwise.
func CheckName(name string) error {
	bad := func(why string) error { return fmt.Errorf("file name %q %s: %w", name, why, ErrUnsafePath) }
	if name == "" || len(name) > 1024 {
		return bad("is empty or too long")
	}
	if strings.HasPrefix(name, "/") {
		return bad("is absolute")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == '\\' || r == ':' {
			return bad("has a backslash, colon or control character")
		}
	}
	for elem := range strings.SplitSeq(name, "/") {
		if elem == "" || elem == "." || elem == ".." {
			return bad(`has an empty, "." or ".." element`)
		}
	}
	if !filepath.IsLocal(filepath.FromSlash(name)) {
		return bad("is not a local path")
	}
	return nil
}

// RepoFolder is the cache folder name of a model repository: models--ORG--NAME.
func RepoFolder(repo string) string {
	return "models--" + strings.ReplaceAll(repo, "/", "--")
}

// Spec is a parsed model reference: "org/name", "org/name:revision",
// "org/name/path/in/repo.gguf" or "org/name/path/in/repo.gguf:revision".
type Spec struct {
	Repo     string // org/name
	Revision string // "" means main
	File     string // a file inside the repository, or ""
}

func (s Spec) rev() string { return cmp.Or(s.Revision, "main") }

// String formats the spec back into its textual form.
func (s Spec) String() string {
	t := s.Repo
	if s.File != "" {
		t += "/" + s.File
	}
	if s.Revision != "" {
		t += ":" + s.Revision
	}
	return t
}

// ParseSpec parses a model reference (see Spec). The revision follows the
// last ':'; the first two '/'-separated elements name the repository, the
// rest a file in it. A spec with a single element names a repository
// without an organisation (like "gpt2").
func ParseSpec(s string) (Spec, error) {
	var sp Spec
	body := s
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		body, sp.Revision = s[:i], s[i+1:]
		if err := checkRevision(sp.Revision); err != nil {
			return Spec{}, fmt.Errorf("model %q: %w", s, err)
		}
	}
	parts := strings.SplitN(body, "/", 3)
	switch len(parts) {
	case 1:
		sp.Repo = parts[0]
	case 2:
		sp.Repo = body
	default:
		sp.Repo, sp.File = parts[0]+"/"+parts[1], parts[2]
		if err := CheckName(sp.File); err != nil {
			return Spec{}, fmt.Errorf("model %q: %w", s, err)
		}
	}
	if err := CheckRepo(sp.Repo); err != nil {
		return Spec{}, fmt.Errorf("model %q: %w", s, err)
	}
	return sp, nil
}

// looksLikePath reports whether s is meant as a file system path rather
// than a repository id.
func looksLikePath(s string) bool {
	return filepath.IsAbs(s) || strings.HasPrefix(s, ".") || strings.HasPrefix(s, "~") ||
		strings.ContainsRune(s, filepath.Separator) && filepath.Separator != '/'
}

// Resolve turns a model reference into a local path without touching the
// network:
//   - an existing file or directory (or anything that looks like a path:
//     absolute, or starting with "." or "~") is returned as is;
//   - "org/name[:rev]" is the snapshot directory of that revision (default
//     main) in the cache, or the single .gguf file in it when the snapshot
//     has no safetensors weights;
//   - "org/name/file.gguf[:rev]" is that file in the snapshot.
//
// A repository missing from the cache gives an error wrapping ErrNotCached
// that says how to pull it.
func Resolve(cacheDir, spec string) (string, error) {
	if spec == "" {
		return "", nil
	}
	if _, err := os.Stat(spec); err == nil || looksLikePath(spec) {
		return spec, nil
	}
	sp, err := ParseSpec(spec)
	if err != nil {
		return "", fmt.Errorf("%w (and no such file or directory)", err)
	}
	snap, err := snapshotDir(cacheDir, sp)
	if errors.Is(err, ErrNotCached) && sp.File == "" && strings.Contains(sp.Repo, "/") {
		// "name/file" for a repository without an organisation (like gpt2).
		org, file, _ := strings.Cut(sp.Repo, "/")
		alt := Spec{Repo: org, Revision: sp.Revision, File: file}
		if s, err2 := snapshotDir(cacheDir, alt); err2 == nil {
			sp, snap, err = alt, s, nil
		}
	}
	if err != nil {
		switch strings.ToLower(path.Ext(spec)) {
		case ".gguf", ".safetensors", ".json", ".bin":
			return "", fmt.Errorf("%s: no such file or directory, and %w", spec, err)
		}
		return "", err
	}
	if sp.File != "" {
		p := filepath.Join(snap, filepath.FromSlash(sp.File))
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("model %q: %s is not in the cached snapshot %s (run: goformer pull %s): %w", spec, sp.File, snap, sp, ErrNotCached)
		}
		return p, nil
	}
	files, err := snapshotFiles(snap)
	if err != nil {
		return "", err
	}
	var ggufs []string
	for _, f := range files {
		if strings.HasSuffix(f, ".safetensors") || f == "config.json" {
			return snap, nil
		}
		if strings.EqualFold(path.Ext(f), ".gguf") {
			ggufs = append(ggufs, f)
		}
	}
	switch len(ggufs) {
	case 0:
		return snap, nil
	case 1:
		return filepath.Join(snap, filepath.FromSlash(ggufs[0])), nil
	}
	var b strings.Builder
	for _, g := range ggufs {
		fmt.Fprintf(&b, "\n  %s/%s", sp.Repo, g)
	}
	return "", fmt.Errorf("model %q: the cached snapshot has %d GGUF files; name one:%s", spec, len(ggufs), b.String())
}

// snapshotDir finds the snapshot directory of sp's revision in the cache.
func snapshotDir(cacheDir string, sp Spec) (string, error) {
	repoDir := filepath.Join(cacheDir, RepoFolder(sp.Repo))
	pullHint := "run: goformer pull " + Spec{Repo: sp.Repo, Revision: sp.Revision}.String()
	if _, err := os.Stat(repoDir); err != nil {
		return "", fmt.Errorf("model %q is not in the cache %s (%s): %w", sp, cacheDir, pullHint, ErrNotCached)
	}
	rev := sp.rev()
	commit := ""
	if b, err := os.ReadFile(filepath.Join(repoDir, "refs", filepath.FromSlash(rev))); err == nil {
		commit = strings.TrimSpace(string(b))
	} else if commitHash.MatchString(rev) {
		commit = rev
	} else if sp.Revision == "" {
		// No refs/main: accept a single snapshot (pulled by commit hash).
		ents, _ := os.ReadDir(filepath.Join(repoDir, "snapshots"))
		if len(ents) == 1 {
			commit = ents[0].Name()
		}
	}
	if !commitHash.MatchString(commit) {
		return "", fmt.Errorf("model %q: revision %q is not in the cache %s (%s): %w", sp, rev, cacheDir, pullHint, ErrNotCached)
	}
	snap := filepath.Join(repoDir, "snapshots", commit)
	if _, err := os.Stat(snap); err != nil {
		return "", fmt.Errorf("model %q: snapshot %s is missing (%s): %w", sp, commit, pullHint, ErrNotCached)
	}
	return snap, nil
}

// snapshotFiles lists the files of a snapshot, slash separated, sorted.
func snapshotFiles(snap string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(snap, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(snap, p)
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	slices.Sort(files)
	return files, err
}

// CachedModel describes one model repository in the cache.
type CachedModel struct {
	Repo      string            // org/name
	Dir       string            // the repository's cache folder
	Size      int64             // bytes of all blobs (complete ones)
	Format    string            // "safetensors", "gguf", "safetensors+gguf" or "other"
	Refs      map[string]string // revision → commit
	Snapshots []string          // commit hashes present
	GGUF      []string          // GGUF files in the snapshots
	Modified  time.Time         // newest blob
}

// List describes the model repositories in the cache, sorted by id. A
// missing cache directory is an empty list.
func List(cacheDir string) ([]CachedModel, error) {
	ents, err := os.ReadDir(cacheDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []CachedModel
	for _, e := range ents {
		name, ok := strings.CutPrefix(e.Name(), "models--")
		if !ok || !e.IsDir() {
			continue
		}
		m := CachedModel{Repo: strings.Replace(name, "--", "/", 1), Dir: filepath.Join(cacheDir, e.Name()), Refs: map[string]string{}}
		blobs, _ := os.ReadDir(filepath.Join(m.Dir, "blobs"))
		for _, b := range blobs {
			if strings.HasSuffix(b.Name(), ".incomplete") || !b.Type().IsRegular() {
				continue
			}
			if fi, err := b.Info(); err == nil {
				m.Size += fi.Size()
				if fi.ModTime().After(m.Modified) {
					m.Modified = fi.ModTime()
				}
			}
		}
		refsDir := filepath.Join(m.Dir, "refs")
		filepath.WalkDir(refsDir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if b, err := os.ReadFile(p); err == nil {
					rel, _ := filepath.Rel(refsDir, p)
					m.Refs[filepath.ToSlash(rel)] = strings.TrimSpace(string(b))
				}
			}
			return nil
		})
		snaps, _ := os.ReadDir(filepath.Join(m.Dir, "snapshots"))
		var st, gg bool
		for _, s := range snaps {
			m.Snapshots = append(m.Snapshots, s.Name())
			files, _ := snapshotFiles(filepath.Join(m.Dir, "snapshots", s.Name()))
			for _, f := range files {
				switch {
				case strings.HasSuffix(f, ".safetensors"):
					st = true
				case strings.EqualFold(path.Ext(f), ".gguf"):
					gg = true
					if !slices.Contains(m.GGUF, f) {
						m.GGUF = append(m.GGUF, f)
					}
				}
			}
		}
		switch {
		case st && gg:
			m.Format = "safetensors+gguf"
		case st:
			m.Format = "safetensors"
		case gg:
			m.Format = "gguf"
		default:
			m.Format = "other"
		}
		slices.Sort(m.GGUF)
		out = append(out, m)
	}
	return out, nil
}

// Remove deletes a model repository from the cache (all its revisions, and
// its lock files). The repository id is validated, so Remove cannot delete
// anything but a models--ORG--NAME folder of cacheDir.
func Remove(cacheDir, repo string) error {
	if err := CheckRepo(repo); err != nil {
		return err
	}
	dir := filepath.Join(cacheDir, RepoFolder(repo))
	if _, err := os.Lstat(dir); err != nil {
		return fmt.Errorf("model %q is not in the cache %s: %w", repo, cacheDir, ErrNotCached)
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	os.RemoveAll(filepath.Join(cacheDir, ".locks", RepoFolder(repo)))
	return nil
}
