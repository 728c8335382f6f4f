// Package hubtest is a fake Hugging Face Hub for tests: it answers the
// hub's API and file URLs with the hub's status codes and headers
// (X-Repo-Commit, ETag, X-Linked-Etag, X-Linked-Size, X-Error-Code), sends
// LFS files through a 302 redirect to a separate CDN server, supports Range
// requests, and can break or corrupt transfers on demand.
package hubtest

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Request is a request the fake hub or its CDN received.
type Request struct {
	Server string // "hub" or "cdn"
	Method string
	Path   string
	Range  string // the Range header
	Auth   string // the Authorization header
}

// Server is a fake hub with its CDN.
type Server struct {
	URL   string // the hub's base URL (HF_ENDPOINT)
	Token string // the token private repositories require ("" at creation: "hf_test")

	hub, cdn *httptest.Server

	mu      sync.Mutex
	repos   map[string]*repo
	blobs   map[string][]byte // sha256 → data, for the CDN
	log     []Request
	cuts    map[string][]int64 // file name → byte offsets at which the next transfers break
	corrupt map[string]int     // file name → transfers still to corrupt
	etags   map[string]string  // file name → ETag to announce instead of the real one
	fails   map[string][]int   // file name → statuses the next transfers answer with
	delay   time.Duration      // sleep per 16 KiB chunk of file data
}

type repo struct {
	private bool
	refs    map[string]string            // revision → commit
	commits map[string]map[string][]byte // commit → name → data
	hashes  map[string]hashes            // commit + "/" + name → its hashes, computed once
}

type hashes struct {
	etag, sha256, pointerID string // pointerID: git blob id of the LFS pointer
	pointerSize             int
}

// New starts a fake hub and its CDN; they stop when the test ends.
func New(t testing.TB) *Server {
	s := &Server{Token: "hf_test", repos: map[string]*repo{}, blobs: map[string][]byte{},
		cuts: map[string][]int64{}, corrupt: map[string]int{}, etags: map[string]string{}, fails: map[string][]int{}}
	s.hub = httptest.NewServer(http.HandlerFunc(s.serveHub))
	s.cdn = httptest.NewServer(http.HandlerFunc(s.serveCDN))
	s.URL = s.hub.URL
	t.Cleanup(func() { s.hub.Close(); s.cdn.Close() })
	return s
}

// IsLFS says whether the fake stores a file in LFS (behind the CDN):
// .safetensors, .gguf and .bin files are; others are plain git files.
func IsLFS(name string) bool {
	switch path.Ext(name) {
	case ".safetensors", ".gguf", ".bin":
		return true
	}
	return false
}

// GitBlobSHA1 is git's object id of a blob: the hub's ETag of a small file.
func GitBlobSHA1(data []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// SHA256 is the hex sha256 of data: the hub's ETag of an LFS file.
func SHA256(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// ETag is the etag the hub announces for a file, the name of its blob in
// the cache.
func ETag(name string, data []byte) string {
	if IsLFS(name) {
		return SHA256(data)
	}
	return GitBlobSHA1(data)
}

func lfsPointer(data []byte) []byte {
	return fmt.Appendf(nil, "version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n", SHA256(data), len(data))
}

// AddRepo adds (or updates) repository id with a commit holding files and
// points revision ref (e.g. "main") at it. It returns the commit hash.
// File names are used as given, unchecked, so tests can serve hostile ones.
func (s *Server) AddRepo(id, ref string, files map[string][]byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := sha1.New()
	fmt.Fprintln(h, id, ref)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintln(h, n, ETag(n, files[n]))
		if IsLFS(n) {
			s.blobs[SHA256(files[n])] = files[n]
		}
	}
	commit := hex.EncodeToString(h.Sum(nil))
	r := s.repos[id]
	if r == nil {
		r = &repo{refs: map[string]string{}, commits: map[string]map[string][]byte{}, hashes: map[string]hashes{}}
		s.repos[id] = r
	}
	r.refs[ref] = commit
	r.commits[commit] = files
	for n, d := range files {
		hs := hashes{etag: ETag(n, d), sha256: SHA256(d)}
		ptr := lfsPointer(d)
		hs.pointerID, hs.pointerSize = GitBlobSHA1(ptr), len(ptr)
		r.hashes[commit+"/"+n] = hs
	}
	return commit
}

// SetPrivate makes a repository answer only requests with s.Token.
func (s *Server) SetPrivate(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repos[id].private = true
}

// CutAfter makes the next transfer of the named file (from the hub or
// the CDN) break after the connection has carried the file up to byte
// offset n (absolute), once per call.
func (s *Server) CutAfter(name string, n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cuts[name] = append(s.cuts[name], n)
}

// Corrupt makes the next `times` transfers of the named file carry one
// flipped byte.
func (s *Server) Corrupt(name string, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.corrupt[name] += times
}

// FailNext makes the next transfer of the named file answer status
// (e.g. 503 or 429) instead of the data, once per call.
func (s *Server) FailNext(name string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fails[name] = append(s.fails[name], status)
}

// SetETag makes the hub announce etag for the named file (hostile tests).
func (s *Server) SetETag(name, etag string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.etags[name] = etag
}

// SetDelay slows file transfers down by d per 16 KiB.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

func (s *Server) record(server string, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, Request{Server: server, Method: r.Method, Path: r.URL.Path, Range: r.Header.Get("Range"), Auth: r.Header.Get("Authorization")})
}

func hubError(w http.ResponseWriter, status int, code, msg string) {
	if code != "" {
		w.Header().Set("X-Error-Code", code)
	}
	w.Header().Set("X-Error-Message", msg)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// lookup finds a repository as the hub does for the request's token: an
// anonymous request for a missing or private repository gets 401, an
// authenticated one 404; a wrong token gets 401.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request, id string) *repo {
	auth := r.Header.Get("Authorization")
	if auth != "" && auth != "Bearer "+s.Token {
		hubError(w, http.StatusUnauthorized, "", "Invalid credentials in Authorization header")
		return nil
	}
	s.mu.Lock()
	rp := s.repos[id]
	s.mu.Unlock()
	if rp == nil || rp.private && auth == "" {
		status := http.StatusNotFound
		if auth == "" {
			status = http.StatusUnauthorized
		}
		hubError(w, status, "RepoNotFound", "Repository not found")
		return nil
	}
	return rp
}

func (rp *repo) commit(rev string) (string, bool) {
	if c, ok := rp.refs[rev]; ok {
		return c, true
	}
	_, ok := rp.commits[rev]
	return rev, ok
}

func (s *Server) serveHub(w http.ResponseWriter, r *http.Request) {
	s.record("hub", r)
	p := r.URL.EscapedPath()
	if rest, ok := strings.CutPrefix(p, "/api/models/"); ok {
		i := strings.Index(rest, "/revision/")
		if i < 0 || r.Method != http.MethodGet {
			hubError(w, http.StatusNotFound, "", "Sorry, we can't find the page you are looking for.")
			return
		}
		id, _ := url.PathUnescape(rest[:i])
		rev, _ := url.PathUnescape(rest[i+len("/revision/"):])
		s.serveInfo(w, r, id, rev)
		return
	}
	i := strings.Index(p, "/resolve/")
	if i < 0 || r.Method != http.MethodGet && r.Method != http.MethodHead {
		hubError(w, http.StatusNotFound, "", "Sorry, we can't find the page you are looking for.")
		return
	}
	id, _ := url.PathUnescape(strings.TrimPrefix(p[:i], "/"))
	revEsc, fileEsc, _ := strings.Cut(p[i+len("/resolve/"):], "/")
	rev, _ := url.PathUnescape(revEsc)
	name, _ := url.PathUnescape(fileEsc)
	rp := s.lookup(w, r, id)
	if rp == nil {
		return
	}
	s.mu.Lock()
	commit, ok := rp.commit(rev)
	data, found := rp.commits[commit][name]
	hs := rp.hashes[commit+"/"+name]
	etag, forced := s.etags[name]
	s.mu.Unlock()
	if !ok {
		hubError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		return
	}
	w.Header().Set("X-Repo-Commit", commit)
	if !found {
		hubError(w, http.StatusNotFound, "EntryNotFound", "Entry not found")
		return
	}
	if !forced {
		etag = hs.etag
	}
	if IsLFS(name) {
		w.Header().Set("ETag", `"`+hs.pointerID+`"`)
		w.Header().Set("X-Linked-Etag", `"`+etag+`"`)
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(data)))
		sha := hs.sha256
		w.Header().Set("Location", fmt.Sprintf("%s/repos/%s/%s/%s?response-content-disposition=attachment%%3B+filename%%3D%%22%s%%22&X-Amz-Expires=3600&X-Amz-Signature=fake&name=%s",
			s.cdn.URL, sha[:2], sha[2:4], sha, url.QueryEscape(path.Base(name)), url.QueryEscape(name)))
		w.WriteHeader(http.StatusFound)
		return
	}
	w.Header().Set("ETag", `"`+etag+`"`)
	s.serveData(w, r, name, data)
}

func (s *Server) serveInfo(w http.ResponseWriter, r *http.Request, id, rev string) {
	rp := s.lookup(w, r, id)
	if rp == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	commit, ok := rp.commit(rev)
	if !ok {
		w.Header().Set("X-Error-Code", "RevisionNotFound")
		hubError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		return
	}
	type lfs struct {
		SHA256      string `json:"sha256"`
		Size        int    `json:"size"`
		PointerSize int    `json:"pointerSize"`
	}
	type sibling struct {
		Name   string `json:"rfilename"`
		BlobID string `json:"blobId,omitempty"`
		Size   int    `json:"size,omitempty"`
		LFS    *lfs   `json:"lfs,omitempty"`
	}
	blobs := r.URL.Query().Get("blobs") == "true"
	var sibs []sibling
	files := rp.commits[commit]
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		sb := sibling{Name: n}
		if blobs {
			hs := rp.hashes[commit+"/"+n]
			sb.BlobID, sb.Size = hs.etag, len(files[n])
			if IsLFS(n) {
				sb.BlobID = hs.pointerID
				sb.LFS = &lfs{SHA256: hs.sha256, Size: len(files[n]), PointerSize: hs.pointerSize}
			}
		}
		sibs = append(sibs, sb)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"_id": "fake" + commit[:8], "id": id, "modelId": id, "sha": commit, "private": rp.private,
		"lastModified": "2025-01-01T00:00:00.000Z", "siblings": sibs,
	})
}

func (s *Server) serveCDN(w http.ResponseWriter, r *http.Request) {
	s.record("cdn", r)
	sha := path.Base(r.URL.Path)
	s.mu.Lock()
	data, ok := s.blobs[sha]
	s.mu.Unlock()
	if !ok || r.URL.Query().Get("X-Amz-Signature") == "" {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, "<Error><Code>AccessDenied</Code></Error>")
		return
	}
	if r.Header.Get("Authorization") != "" {
		// The real CDN rejects requests that carry the hub token.
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, "<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>")
		return
	}
	s.serveData(w, r, r.URL.Query().Get("name"), data)
}

// serveData writes data honouring "Range: bytes=N-" and the faults
// planned for name.
func (s *Server) serveData(w http.ResponseWriter, r *http.Request, name string, data []byte) {
	if r.Method == http.MethodGet {
		s.mu.Lock()
		f := s.fails[name]
		status := 0
		if len(f) > 0 {
			status, s.fails[name] = f[0], f[1:]
		}
		s.mu.Unlock()
		if status != 0 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(status)
			return
		}
	}
	start := 0
	if rg := r.Header.Get("Range"); rg != "" {
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"))
		if err != nil || n < 0 || !strings.HasSuffix(rg, "-") {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if n >= len(data) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", len(data)))
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		start = n
	}
	w.Header().Set("Accept-Ranges", "bytes")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)-start))
	w.Header().Set("Content-Type", "application/octet-stream")
	status := http.StatusOK
	if start > 0 {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, len(data)-1, len(data)))
		status = http.StatusPartialContent
	}
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	s.mu.Lock()
	cut := int64(-1)
	if c := s.cuts[name]; len(c) > 0 {
		cut, s.cuts[name] = c[0], c[1:]
	}
	out := data[start:]
	if s.corrupt[name] > 0 {
		s.corrupt[name]--
		out = slices.Clone(out)
		out[len(out)/2] ^= 0x55
	}
	delay := s.delay
	s.mu.Unlock()
	for off := 0; off < len(out); {
		end := min(off+16<<10, len(out))
		if cut >= 0 && int64(start+end) > cut {
			end = max(int(cut)-start, off)
			w.Write(out[off:end])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // drop the connection mid-body
		}
		if _, err := w.Write(out[off:end]); err != nil {
			return
		}
		off = end
		if delay > 0 {
			w.(http.Flusher).Flush()
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
	}
}
