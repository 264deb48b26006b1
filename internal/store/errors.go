package store

import "errors"

// Errors returned by the store. Callers test them with errors.Is; the API
// server maps them to Kubernetes Status errors.
var (
	// ErrNotFound means the key does not exist (at the requested revision).
	ErrNotFound = errors.New("store: not found")
	// ErrExists means a create found the key already present.
	ErrExists = errors.New("store: already exists")
	// ErrConflict means a compare-and-swap found a different mod revision.
	ErrConflict = errors.New("store: revision conflict")
	// ErrCompacted means the requested revision is older than the
	// compacted history.
	ErrCompacted = errors.New("store: revision compacted")
	// ErrFutureRevision means a revision newer than the store's was asked for.
	ErrFutureRevision = errors.New("store: revision in the future")
	// ErrDecrypt means a stored value could not be decrypted.
	ErrDecrypt = errors.New("store: cannot decrypt value")
)
