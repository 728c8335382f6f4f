package hub

import (
	"cmp"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Client downloads repositories from a Hugging Face Hub into a cache.
type Client struct {
	Endpoint string       // hub base URL; "" means DefaultEndpoint
	Token    string       // bearer token (HF_TOKEN); "" for anonymous access
	CacheDir string       // the hub cache ($HF_HUB_CACHE), required
	HTTP     *http.Client // nil means a client with connect and header timeouts
	Log      *slog.Logger // nil means no logging
}

// NewClient returns a client configured from the environment (see EnvFrom).
func NewClient(e Env) *Client {
	return &Client{Endpoint: e.Endpoint, Token: e.Token, CacheDir: e.CacheDir}
}

// State is the stage a file of a pull is in.
type State int

// File states reported to PullOptions.Progress.
const (
	Queued      State = iota // listed, not started
	Downloading              // bytes are arriving
	Cached                   // already in the cache, nothing downloaded
	Done                     // downloaded and verified
	Failed                   // gave up (Err says why)
)

func (s State) String() string {
	return [...]string{"queued", "downloading", "cached", "done", "failed"}[s]
}

// FileProgress is a progress report for one file of a pull.
type FileProgress struct {
	Name  string // path in the repository
	Size  int64  // total bytes (-1 when unknown)
	Done  int64  // bytes present so far, including a resumed prefix
	State State
	Err   error // for Failed
}

// PullOptions tune Pull.
type PullOptions struct {
	// Include selects files by shell pattern ('*' also matches '/'). Empty
	// means: safetensors weights with the JSON, tokenizer and text files
	// beside them; or else the repository's only GGUF file (a repository
	// with several GGUF files needs a pattern that picks one).
	Include []string
	// Workers is the number of files downloaded at once (0 or less: 4).
	Workers int
	// Retries is how many times a transfer broken by a network error is
	// resumed before giving up (default 3; negative: none).
	Retries int
	// Verify re-hashes blobs already in the cache and fetches any that do
	// not match.
	Verify bool
	// Progress, if set, is called from the download goroutines (at most
	// every 64 KiB per file, and on every state change). It must be safe
	// for concurrent use.
	Progress func(FileProgress)
}

// Info is the hub's answer for a revision of a repository.
type Info struct {
	ID       string    `json:"id"`
	SHA      string    `json:"sha"` // commit hash
	Siblings []Sibling `json:"siblings"`
}

// Sibling is a file of a repository as /api/models/{repo}/revision/{rev}?blobs=true lists it.
type Sibling struct {
	Name   string `json:"rfilename"`
	BlobID string `json:"blobId,omitempty"` // git blob sha1
	Size   int64  `json:"size,omitempty"`
	LFS    *LFS   `json:"lfs,omitempty"`
}

// LFS is the Git LFS pointer of a large file.
type LFS struct {
	SHA256      string `json:"sha256"`
	Size        int64  `json:"size"`
	PointerSize int64  `json:"pointerSize,omitempty"`
}

func (c *Client) endpoint() string {
	return strings.TrimRight(cmp.Or(c.Endpoint, DefaultEndpoint), "/")
}

// httpClient returns the client to use, with redirects not followed (the
// caller follows them, to read the hub's headers and to decide where the
// token may go).
func (c *Client) httpClient() *http.Client {
	var hc http.Client
	if c.HTTP != nil {
		hc = *c.HTTP
	} else {
		hc.Transport = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   30 * time.Second,
			ResponseHeaderTimeout: 60 * time.Second,
			MaxIdleConnsPerHost:   16,
			ForceAttemptHTTP2:     true,
		}
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &hc
}

func (c *Client) logger() *slog.Logger {
	if c.Log != nil {
		return c.Log
	}
	return slog.New(slog.DiscardHandler)
}

// do sends a request; it follows up to 10 redirects when follow is
// "all", only same-host ones when "relative" (to find a renamed repository
// without going to the CDN), none when "". The token is sent only to the
// hub's own host.
func (c *Client) do(ctx context.Context, hc *http.Client, method, u string, hdr http.Header, follow string) (*http.Response, error) {
	hubURL, err := url.Parse(c.endpoint())
	if err != nil {
		return nil, fmt.Errorf("HF_ENDPOINT %q: %w", c.endpoint(), err)
	}
	for hop := 0; ; hop++ {
		req, err := http.NewRequestWithContext(ctx, method, u, nil)
		if err != nil {
			return nil, err
		}
		for k, v := range hdr {
			req.Header[k] = v
		}
		req.Header.Set("User-Agent", "goformer/0 (+https://github.com/goformer/goformer)")
		if c.Token != "" && req.URL.Host == hubURL.Host {
			req.Header.Set("Authorization", "Bearer "+c.Token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, context.Cause(ctx)
			}
			return nil, retryableError{netError(err)}
		}
		if resp.StatusCode < 300 || resp.StatusCode > 399 || follow == "" {
			return resp, nil
		}
		loc, err := resp.Location()
		if err != nil {
			return resp, nil // a 3xx without Location: let the caller judge
		}
		if follow == "relative" && loc.Host != req.URL.Host || hop >= 10 {
			return resp, nil
		}
		resp.Body.Close()
		u = loc.String()
	}
}

// netError makes transport failures read plainly.
func netError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("cannot reach the hub (no network? HF_ENDPOINT?): %w", err)
}

// statusError turns an error answer into an *HTTPError naming what was
// not found or not allowed.
func (c *Client) statusError(resp *http.Response, repo, rev, file string) error {
	e := &HTTPError{Status: resp.StatusCode, Code: resp.Header.Get("X-Error-Code"), Message: resp.Header.Get("X-Error-Message"), URL: resp.Request.URL.Redacted()}
	if e.Message == "" && resp.Body != nil {
		var body struct {
			Error string `json:"error"`
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if json.Unmarshal(b, &body) == nil && body.Error != "" {
			e.Message = body.Error
		}
	}
	switch {
	case e.Code == "RevisionNotFound":
		e.kind, e.hint = ErrRevisionNotFound, fmt.Sprintf("revision %q does not exist in %s", rev, repo)
	case e.Code == "EntryNotFound":
		e.kind, e.hint = ErrEntryNotFound, fmt.Sprintf("%s has no file %q at revision %s", repo, file, rev)
	case e.Code == "GatedRepo" || resp.StatusCode == http.StatusForbidden:
		e.kind = ErrUnauthorized
		e.hint = fmt.Sprintf("%s is gated or restricted: accept its terms on %s/%s and set HF_TOKEN to a token of that account", repo, c.endpoint(), repo)
	case resp.StatusCode == http.StatusUnauthorized:
		e.kind = ErrUnauthorized
		if c.Token == "" {
			e.hint = fmt.Sprintf("%s is private, gated or does not exist; if you have access, set HF_TOKEN to an access token", repo)
		} else {
			e.hint = fmt.Sprintf("the token in HF_TOKEN was refused for %s: it is invalid, or has no access to the repository, which may not exist", repo)
		}
	case resp.StatusCode == http.StatusTooManyRequests:
		e.hint = "rate limited by the hub; wait a little and run the pull again (signed-in requests with HF_TOKEN get higher limits)"
	case e.Code == "RepoNotFound" || resp.StatusCode == http.StatusNotFound && file == "":
		e.kind, e.hint = ErrRepoNotFound, fmt.Sprintf("no repository %s on %s", repo, c.endpoint())
	case resp.StatusCode == http.StatusNotFound:
		e.kind, e.hint = ErrEntryNotFound, fmt.Sprintf("%s has no file %q at revision %s", repo, file, rev)
	}
	return e
}

// RepoInfo asks the hub for a revision of a repository: its commit and its
// files with their sizes and hashes.
func (c *Client) RepoInfo(ctx context.Context, repo, rev string) (*Info, error) {
	if err := CheckRepo(repo); err != nil {
		return nil, err
	}
	if err := checkRevision(rev); err != nil {
		return nil, err
	}
	u := c.endpoint() + "/api/models/" + repo + "/revision/" + url.PathEscape(rev) + "?blobs=true"
	resp, err := c.do(ctx, c.httpClient(), http.MethodGet, u, nil, "relative")
	if err != nil {
		return nil, fmt.Errorf("%s:%s: %w", repo, rev, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s:%s: %w", repo, rev, c.statusError(resp, repo, rev, ""))
	}
	var info Info
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&info); err != nil {
		return nil, fmt.Errorf("%s:%s: reading the hub's answer from %s: %w", repo, rev, u, err)
	}
	if !commitHash.MatchString(info.SHA) {
		return nil, fmt.Errorf("%s:%s: the hub's answer has no valid commit hash (sha %q)", repo, rev, info.SHA)
	}
	for _, s := range info.Siblings {
		if err := CheckName(s.Name); err != nil {
			return nil, fmt.Errorf("%s:%s: the hub lists %w", repo, rev, err)
		}
	}
	return &info, nil
}

// SelectFiles picks the files a pull downloads (see PullOptions.Include).
func SelectFiles(files []Sibling, include []string) ([]Sibling, error) {
	var out []Sibling
	if len(include) > 0 {
		for _, p := range include {
			if _, err := globRegexp(p); err != nil {
				return nil, fmt.Errorf("--include %q: bad pattern: %w", p, err)
			}
		}
		for _, f := range files {
			if slices.ContainsFunc(include, func(p string) bool { return globMatch(p, f.Name) }) {
				out = append(out, f)
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("no file matches %q; the repository has: %s", include, fileList(files))
		}
		return out, nil
	}
	hasST := slices.ContainsFunc(files, func(f Sibling) bool { return isTop(f.Name) && strings.HasSuffix(f.Name, ".safetensors") })
	var ggufs []Sibling
	for _, f := range files {
		ext := strings.ToLower(path.Ext(f.Name))
		switch {
		case hasST && isTop(f.Name) && (ext == ".safetensors" || ext == ".json" || ext == ".txt" || ext == ".model" || ext == ".tiktoken" || ext == ".jinja"):
			out = append(out, f)
		case ext == ".gguf":
			ggufs = append(ggufs, f)
		}
	}
	switch {
	case hasST:
		return out, nil
	case len(ggufs) == 1:
		return ggufs, nil
	case len(ggufs) > 1:
		return nil, fmt.Errorf("the repository has %d GGUF files; pick one with --include (e.g. --include '*%s'): %s",
			len(ggufs), path.Base(ggufs[0].Name), fileList(ggufs))
	}
	return nil, fmt.Errorf("the repository has no safetensors or GGUF weights; pick files with --include: %s", fileList(files))
}

func isTop(name string) bool { return !strings.Contains(name, "/") }

func fileList(files []Sibling) string {
	var names []string
	for i, f := range files {
		if i == 30 {
			names = append(names, fmt.Sprintf("… (%d more)", len(files)-30))
			break
		}
		names = append(names, f.Name)
	}
	return strings.Join(names, ", ")
}

// Pull downloads the selected files of a revision of repo (rev "" means
// main) into the cache and returns the snapshot directory. Files already
// in the cache are not fetched again; partial downloads are resumed;
// every file is checked against the hub's sha256 (LFS files) or git blob
// hash (others) and fetched once more if it does not match.
func (c *Client) Pull(ctx context.Context, repo, rev string, opts PullOptions) (string, error) {
	rev = cmp.Or(rev, "main")
	if c.CacheDir == "" {
		return "", errors.New("hub: no cache directory")
	}
	info, err := c.RepoInfo(ctx, repo, rev)
	if err != nil {
		return "", err
	}
	files, err := SelectFiles(info.Siblings, opts.Include)
	if err != nil {
		return "", fmt.Errorf("%s:%s: %w", repo, rev, err)
	}
	p := &pull{c: c, hc: c.httpClient(), repo: repo, rev: rev, commit: info.SHA, opts: opts}
	if err := os.MkdirAll(c.CacheDir, 0o755); err != nil {
		return "", err
	}
	repoDir := filepath.Join(c.CacheDir, RepoFolder(repo))
	if err := os.MkdirAll(repoDir, 0o755); err != nil {
		return "", err
	}
	if fi, err := os.Lstat(repoDir); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("%s: not a directory (a symbolic link?): %w", repoDir, ErrUnsafePath)
	}
	if p.root, err = os.OpenRoot(repoDir); err != nil {
		return "", err
	}
	defer p.root.Close()
	for _, d := range []string{"blobs", "refs", "snapshots/" + info.SHA} {
		if err := mkdirSafe(p.root, d); err != nil {
			return "", err
		}
	}
	cacheRoot, err := os.OpenRoot(c.CacheDir)
	if err != nil {
		return "", err
	}
	defer cacheRoot.Close()
	if err := mkdirSafe(cacheRoot, ".locks/"+RepoFolder(repo)); err != nil {
		return "", err
	}
	if p.locks, err = cacheRoot.OpenRoot(".locks/" + RepoFolder(repo)); err != nil {
		return "", err
	}
	defer p.locks.Close()
	for _, f := range files {
		p.report(FileProgress{Name: f.Name, Size: f.size(), State: Queued})
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan Sibling)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	workers := opts.Workers
	if workers <= 0 {
		workers = 4
	}
	for range min(workers, len(files)) {
		wg.Go(func() {
			for f := range jobs {
				if err := p.file(ctx, f); err != nil {
					p.report(FileProgress{Name: f.Name, Size: f.size(), State: Failed, Err: err})
					mu.Lock()
					if context.Cause(ctx) == nil { // the first failure; the others follow from it
						errs = append(errs, fmt.Errorf("%s: %w", f.Name, err))
						cancel(err)
					}
					mu.Unlock()
				}
			}
		})
	}
feed:
	for _, f := range files {
		select {
		case jobs <- f:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if len(errs) > 0 {
		return "", fmt.Errorf("pull %s:%s: %w", repo, rev, errors.Join(errs...))
	}
	if err := context.Cause(ctx); err != nil {
		return "", err
	}
	if rev != info.SHA {
		ref := "refs/" + rev
		if err := mkdirSafe(p.root, path.Dir(ref)); err != nil {
			return "", err
		}
		if err := writeFileSafe(p.root, ref, []byte(info.SHA)); err != nil {
			return "", err
		}
	}
	return filepath.Join(repoDir, "snapshots", info.SHA), nil
}

func (s Sibling) size() int64 {
	switch {
	case s.LFS != nil:
		return s.LFS.Size
	case s.Size > 0 || s.BlobID != "":
		return s.Size
	}
	return -1
}

// pull is one Pull in progress.
type pull struct {
	c                 *Client
	hc                *http.Client
	repo, rev, commit string
	opts              PullOptions
	root              *os.Root // the repository's cache folder
	locks             *os.Root // the repository's folder in .locks
}

func (p *pull) report(fp FileProgress) {
	if p.opts.Progress != nil {
		p.opts.Progress(fp)
	}
}

// fileMeta is what a HEAD on /{repo}/resolve/{commit}/{file} tells.
type fileMeta struct {
	etag     string // sha256 (LFS) or git sha1
	size     int64
	location string // where to GET it (the CDN for LFS files)
}

// file brings one file into the cache and links it into the snapshot.
func (p *pull) file(ctx context.Context, f Sibling) error {
	pointer := "snapshots/" + p.commit + "/" + f.Name
	want := f.etag()
	if want != "" && !p.opts.Verify {
		// Already linked to a complete blob: nothing to ask the hub.
		if fi, err := p.root.Stat(pointer); err == nil && fi.Mode().IsRegular() && (f.size() < 0 || fi.Size() == f.size()) {
			if target, err := p.root.Readlink(pointer); err == nil && path.Base(filepath.ToSlash(target)) == want {
				p.report(FileProgress{Name: f.Name, Size: fi.Size(), Done: fi.Size(), State: Cached})
				return nil
			}
		}
	}
	retries := p.opts.Retries
	if retries == 0 {
		retries = 3
	}
	meta, err := p.head(ctx, f)
	for attempt := 0; err != nil && isRetryable(err) && attempt < retries; attempt++ {
		if err := sleepCtx(ctx, time.Duration(attempt+1)*250*time.Millisecond); err != nil {
			return err
		}
		meta, err = p.head(ctx, f)
	}
	if err != nil {
		return err
	}
	blob := "blobs/" + meta.etag
	if ok, err := p.haveBlob(blob, meta); err != nil {
		return err
	} else if ok {
		p.report(FileProgress{Name: f.Name, Size: meta.size, Done: meta.size, State: Cached})
		return p.link(f.Name, meta.etag)
	}
	unlock, err := lockFile(ctx, p.locks, meta.etag+".lock")
	if err != nil {
		return err
	}
	defer unlock()
	// Another process may have finished it while we waited for the lock.
	if ok, err := p.haveBlob(blob, meta); err != nil {
		return err
	} else if ok {
		p.report(FileProgress{Name: f.Name, Size: meta.size, Done: meta.size, State: Cached})
		return p.link(f.Name, meta.etag)
	}
	incomplete := blob + ".incomplete"
	refetched := false
	for attempt := 0; ; attempt++ {
		err = p.download(ctx, f.Name, meta, incomplete)
		if err == nil {
			break
		}
		switch {
		case errors.Is(err, ErrChecksum) && !refetched:
			// Corrupted in transit or on disk: start over once.
			p.c.logger().Warn("checksum mismatch, fetching again", "file", f.Name, "err", err)
			refetched = true
			if err := p.root.Remove(incomplete); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			continue
		case isRetryable(err) && attempt < retries && ctx.Err() == nil:
			p.c.logger().Warn("transfer broken, resuming", "file", f.Name, "attempt", attempt+1, "err", err)
			if err := sleepCtx(ctx, time.Duration(min(attempt+1, 4))*250*time.Millisecond); err != nil {
				return err
			}
			continue
		}
		if refetched && errors.Is(err, ErrChecksum) {
			return fmt.Errorf("%w (fetched twice: the hub or the network corrupts it)", err)
		}
		return err
	}
	if err := p.root.Rename(incomplete, blob); err != nil {
		return err
	}
	p.report(FileProgress{Name: f.Name, Size: meta.size, Done: meta.size, State: Done})
	return p.link(f.Name, meta.etag)
}

// etag is the blob name the listing implies: the LFS sha256 or the git blob id.
func (s Sibling) etag() string {
	if s.LFS != nil {
		return strings.ToLower(s.LFS.SHA256)
	}
	return strings.ToLower(s.BlobID)
}

// head asks the hub for a file's etag, size and download location, as
// huggingface_hub does: the hub answers 200 for small files and a 302 to
// its CDN for LFS files, with the blob's sha256 in X-Linked-Etag.
func (p *pull) head(ctx context.Context, f Sibling) (fileMeta, error) {
	u := p.c.endpoint() + "/" + p.repo + "/resolve/" + url.PathEscape(p.commit) + "/" + escapePath(f.Name)
	resp, err := p.c.do(ctx, p.hc, http.MethodHead, u, http.Header{"Accept-Encoding": {"identity"}}, "relative")
	if err != nil {
		return fileMeta{}, err
	}
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return fileMeta{}, p.c.statusError(resp, p.repo, p.rev, f.Name)
	}
	h := resp.Header
	if c := h.Get("X-Repo-Commit"); c != "" && c != p.commit {
		return fileMeta{}, fmt.Errorf("the hub answered for commit %s, not %s", c, p.commit)
	}
	m := fileMeta{etag: normalizeETag(cmp.Or(h.Get("X-Linked-Etag"), h.Get("ETag"))), size: -1, location: u}
	if s := cmp.Or(h.Get("X-Linked-Size"), h.Get("Content-Length")); s != "" {
		if m.size, err = strconv.ParseInt(s, 10, 64); err != nil || m.size < 0 {
			return fileMeta{}, fmt.Errorf("the hub's size header %q is not a size", s)
		}
	}
	if resp.StatusCode >= 300 {
		loc, err := resp.Location()
		if err != nil {
			return fileMeta{}, fmt.Errorf("redirect (HTTP %d) without a valid Location: %w", resp.StatusCode, err)
		}
		m.location = loc.String()
	}
	if !etagRe.MatchString(m.etag) {
		return fileMeta{}, fmt.Errorf("the hub's ETag %q is not a sha256 or git sha1 (blob names must be hashes): %w", m.etag, ErrUnsafePath)
	}
	if want := f.etag(); want != "" && want != m.etag {
		return fileMeta{}, fmt.Errorf("the hub lists hash %s but serves %s", want, m.etag)
	}
	if want := f.size(); want >= 0 && m.size >= 0 && f.etag() != "" && want != m.size {
		return fileMeta{}, fmt.Errorf("the hub lists %d bytes but serves %d", want, m.size)
	}
	if m.size < 0 {
		m.size = f.size()
	}
	if m.size < 0 {
		return fileMeta{}, errors.New("the hub gave no size for the file")
	}
	return m, nil
}

// normalizeETag drops the weak-validator prefix and quotes.
func normalizeETag(s string) string {
	s = strings.TrimPrefix(strings.TrimSpace(s), "W/")
	return strings.ToLower(strings.Trim(s, `"`))
}

func escapePath(name string) string {
	parts := strings.Split(name, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// haveBlob reports whether the blob is complete in the cache (and, with
// Verify, matches its hash; a mismatching blob is removed).
func (p *pull) haveBlob(blob string, m fileMeta) (bool, error) {
	fi, err := p.root.Lstat(blob)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !fi.Mode().IsRegular() {
		return false, fmt.Errorf("%s is not a regular file: %w", blob, ErrUnsafePath)
	}
	if m.size >= 0 && fi.Size() != m.size {
		return false, p.root.Remove(blob)
	}
	if p.opts.Verify {
		f, err := p.root.Open(blob)
		if err != nil {
			return false, err
		}
		h := newHasher(m.etag, fi.Size())
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return false, err
		}
		if hex.EncodeToString(h.Sum(nil)) != m.etag {
			p.c.logger().Warn("cached blob does not match its hash; fetching again", "blob", blob)
			return false, p.root.Remove(blob)
		}
	}
	return true, nil
}

// newHasher returns sha256 for 64-digit etags and a git blob sha1 (the hash
// of "blob SIZE\x00" and the contents) for 40-digit ones.
func newHasher(etag string, size int64) hash.Hash {
	if len(etag) == 64 {
		return sha256.New()
	}
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", size)
	return h
}

// sleepCtx waits for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// retryableError marks transfer failures worth resuming.
type retryableError struct{ err error }

func (e retryableError) Error() string { return e.err.Error() }
func (e retryableError) Unwrap() error { return e.err }

func isRetryable(err error) bool {
	var r retryableError
	return errors.As(err, &r)
}

// download fetches the blob into the .incomplete file, resuming from what
// is there, and checks its hash.
func (p *pull) download(ctx context.Context, name string, m fileMeta, incomplete string) error {
	if fi, err := p.root.Lstat(incomplete); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file: %w", incomplete, ErrUnsafePath)
	}
	f, err := p.root.OpenFile(incomplete, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	off, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if m.size >= 0 && off > m.size {
		off = 0
	}
	h := newHasher(m.etag, m.size)
	if off > 0 {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if _, err := io.CopyN(h, f, off); err != nil {
			return fmt.Errorf("reading the partial download %s: %w", incomplete, err)
		}
	}
	if off < m.size || m.size < 0 {
		hdr := http.Header{"Accept-Encoding": {"identity"}} // the exact bytes, so Range and hashes hold
		if off > 0 {
			hdr.Set("Range", fmt.Sprintf("bytes=%d-", off))
		}
		resp, err := p.c.do(ctx, p.hc, http.MethodGet, m.location, hdr, "all")
		if err != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			return retryableError{err}
		}
		defer resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusPartialContent && off > 0:
			var start int64 = -1
			fmt.Sscanf(resp.Header.Get("Content-Range"), "bytes %d-", &start)
			if start != off {
				return fmt.Errorf("asked for bytes from %d, got Content-Range %q", off, resp.Header.Get("Content-Range"))
			}
		case resp.StatusCode == http.StatusOK:
			// A full answer (no resume, or the server ignored Range).
			if off > 0 {
				off, h = 0, newHasher(m.etag, m.size)
			}
		case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
			f.Truncate(0)
			return retryableError{fmt.Errorf("the server refused to resume at byte %d; starting over", off)}
		case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
			return retryableError{fmt.Errorf("%s: HTTP %d", resp.Request.URL.Redacted(), resp.StatusCode)}
		default:
			return p.c.statusError(resp, p.repo, p.rev, name)
		}
		if err := f.Truncate(off); err != nil {
			return err
		}
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return err
		}
		pw := &progressWriter{p: p, name: name, size: m.size, done: off}
		p.report(FileProgress{Name: name, Size: m.size, Done: off, State: Downloading})
		n, err := io.CopyBuffer(io.MultiWriter(f, h, pw), resp.Body, make([]byte, 256<<10))
		off += n
		if err != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			return retryableError{fmt.Errorf("transfer broken at byte %d of %d: %w", off, m.size, err)}
		}
		if m.size >= 0 && off < m.size {
			return retryableError{fmt.Errorf("transfer ended at byte %d of %d", off, m.size)}
		}
	}
	if m.size >= 0 && off != m.size {
		f.Truncate(0)
		return fmt.Errorf("got %d bytes, want %d: %w", off, m.size, ErrChecksum)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != m.etag {
		kind := "sha256"
		if len(m.etag) == 40 {
			kind = "git blob sha1"
		}
		return fmt.Errorf("%s of the downloaded bytes is %s, the hub says %s: %w", kind, got, m.etag, ErrChecksum)
	}
	return f.Close()
}

// progressWriter reports bytes as they are written.
type progressWriter struct {
	p          *pull
	name       string
	size, done int64
	last       int64
}

func (w *progressWriter) Write(b []byte) (int, error) {
	w.done += int64(len(b))
	if w.done-w.last >= 64<<10 || w.done == w.size {
		w.last = w.done
		w.p.report(FileProgress{Name: w.name, Size: w.size, Done: w.done, State: Downloading})
	}
	return len(b), nil
}

// link points snapshots/{commit}/{name} at the blob with a relative
// symbolic link, as huggingface_hub does.
func (p *pull) link(name, etag string) error {
	pointer := "snapshots/" + p.commit + "/" + name
	if err := mkdirSafe(p.root, path.Dir(pointer)); err != nil {
		return err
	}
	target := strings.Repeat("../", strings.Count(pointer, "/")) + "blobs/" + etag
	if fi, err := p.root.Lstat(pointer); err == nil {
		if fi.Mode()&fs.ModeSymlink != 0 {
			if t, _ := p.root.Readlink(pointer); t == target {
				return nil
			}
		} else if fi.IsDir() {
			return fmt.Errorf("%s is a directory", pointer)
		}
	}
	// Make the link beside it and rename it into place: atomic, and
	// safe when another pull links the same file at the same time.
	tmp := fmt.Sprintf("%s.%d.%x.tmp", pointer, os.Getpid(), rand.Uint64())
	if err := p.root.Symlink(target, tmp); err != nil {
		return err
	}
	if err := p.root.Rename(tmp, pointer); err != nil {
		p.root.Remove(tmp)
		return err
	}
	return nil
}

// mkdirSafe creates dir (slash separated, relative to root) and its
// parents, refusing to go through a symbolic link.
func mkdirSafe(root *os.Root, dir string) error {
	cur := ""
	for elem := range strings.SplitSeq(dir, "/") {
		if elem == "" || elem == "." {
			continue
		}
		if elem == ".." {
			return fmt.Errorf("%s: %w", dir, ErrUnsafePath)
		}
		cur = path.Join(cur, elem)
		fi, err := root.Lstat(cur)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := root.Mkdir(cur, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
		case err != nil:
			return err
		case fi.Mode()&fs.ModeSymlink != 0:
			return fmt.Errorf("%s in %s is a symbolic link; refusing to write through it: %w", cur, root.Name(), ErrUnsafePath)
		case !fi.IsDir():
			return fmt.Errorf("%s in %s is not a directory", cur, root.Name())
		}
	}
	return nil
}

// writeFileSafe replaces a file under root, refusing symbolic links.
func writeFileSafe(root *os.Root, name string, data []byte) error {
	if fi, err := root.Lstat(name); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("%s in %s is not a regular file: %w", name, root.Name(), ErrUnsafePath)
	}
	tmp := fmt.Sprintf("%s.%d.%x.tmp", name, os.Getpid(), rand.Uint64()) // unique: pulls may run at once
	if err := root.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return root.Rename(tmp, name)
}
