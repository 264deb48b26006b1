// Package storetest starts a real embedded etcd for tests.
package storetest

import (
	"context"
	"testing"

	"github.com/skiff/skiff/internal/store"
)

// New returns a Store over a fresh embedded etcd in a temporary directory,
// closed when the test ends. crypt may be nil.
func New(t testing.TB, crypt *store.Encrypter) (*store.Store, *store.Embedded) {
	t.Helper()
	e, err := store.StartEmbedded(context.Background(), t.TempDir())
	if err != nil {
		t.Fatalf("start etcd: %v", err)
	}
	t.Cleanup(e.Close)
	return store.New(e.Client(), crypt), e
}
