package hub

import (
	"errors"
	"fmt"
)

// Sentinel errors; errors returned by this package wrap one of them where it
// applies, so callers can test with errors.Is.
var (
	// ErrUnauthorized: the hub answered 401 or 403 (private or gated
	// repository, missing or rejected token).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrRepoNotFound: the repository does not exist on the hub.
	ErrRepoNotFound = errors.New("repository not found")
	// ErrRevisionNotFound: the repository exists but not the revision.
	ErrRevisionNotFound = errors.New("revision not found")
	// ErrEntryNotFound: the file does not exist at that revision.
	ErrEntryNotFound = errors.New("file not found")
	// ErrChecksum: downloaded bytes do not match the hub's sha256 (LFS
	// files) or git blob hash (small files).
	ErrChecksum = errors.New("checksum mismatch")
	// ErrUnsafePath: a name from the server or the user would leave the
	// cache directory or write through a symbolic link.
	ErrUnsafePath = errors.New("unsafe path")
	// ErrNotCached: the model is not in the local cache (nothing is
	// fetched at run time; run "goformer pull").
	ErrNotCached = errors.New("not in the cache")
	// ErrOffline: HF_HUB_OFFLINE is set and a download was asked for.
	ErrOffline = errors.New("offline mode (HF_HUB_OFFLINE is set)")
)

// HTTPError is an error answer of the hub: its status, the hub's
// X-Error-Code and X-Error-Message headers, and the URL asked for.
type HTTPError struct {
	Status  int
	Code    string // X-Error-Code, e.g. RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo
	Message string // X-Error-Message
	URL     string
	kind    error
	hint    string
}

func (e *HTTPError) Error() string {
	s := fmt.Sprintf("%s: HTTP %d", e.URL, e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.hint != "" {
		s += " (" + e.hint + ")"
	}
	return s
}

// Unwrap returns the sentinel error for the kind of failure, if known.
func (e *HTTPError) Unwrap() error { return e.kind }
