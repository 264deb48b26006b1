package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/skiff/skiff/internal/store"
	"github.com/skiff/skiff/internal/store/storetest"
)

func TestCreateGetUpdateDelete(t *testing.T) {
	s, _ := storetest.New(t, nil)
	ctx := context.Background()
	key := "/registry/core/configmaps/default/a"

	rev1, err := s.Create(ctx, key, []byte("v1"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, key, []byte("again"), 0); !errors.Is(err, store.ErrExists) {
		t.Fatalf("second create: got %v, want ErrExists", err)
	}
	kv, _, err := s.Get(ctx, key, 0)
	if err != nil || string(kv.Value) != "v1" || kv.ModRevision != rev1 {
		t.Fatalf("get: %+v %v", kv, err)
	}
	rev2, err := s.Update(ctx, key, []byte("v2"), rev1, 0)
	if err != nil || rev2 <= rev1 {
		t.Fatalf("update: rev %d err %v", rev2, err)
	}
	if _, err := s.Update(ctx, key, []byte("stale"), rev1, 0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale update: got %v, want ErrConflict", err)
	}
	if _, err := s.Update(ctx, key+"x", []byte("v"), 5, 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of missing key: got %v, want ErrNotFound", err)
	}
	old, _, err := s.Get(ctx, key, rev1)
	if err != nil || string(old.Value) != "v1" {
		t.Fatalf("get at old revision: %+v %v", old, err)
	}
	if _, _, err := s.Delete(ctx, key, rev1); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale delete: got %v", err)
	}
	prev, rev3, err := s.Delete(ctx, key, rev2)
	if err != nil || string(prev.Value) != "v2" || rev3 <= rev2 {
		t.Fatalf("delete: %+v %d %v", prev, rev3, err)
	}
	if _, _, err := s.Get(ctx, key, 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
}

func TestListPagesAtOneRevision(t *testing.T) {
	s, _ := storetest.New(t, nil)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		if _, err := s.Create(ctx, fmt.Sprintf("/registry/core/pods/ns/p%d", i), []byte("x"), 0); err != nil {
			t.Fatal(err)
		}
	}
	// A key in a namespace sharing the prefix must not be listed.
	if _, err := s.Create(ctx, "/registry/core/pods/ns2/q", []byte("x"), 0); err != nil {
		t.Fatal(err)
	}
	first, err := s.List(ctx, "/registry/core/pods/ns/", store.ListOptions{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.KVs) != 2 || !first.More || first.Remaining != 3 {
		t.Fatalf("first page: %d keys more=%v remaining=%d", len(first.KVs), first.More, first.Remaining)
	}
	// A write between pages is not seen by the second page.
	if _, err := s.Create(ctx, "/registry/core/pods/ns/p9", []byte("x"), 0); err != nil {
		t.Fatal(err)
	}
	next := first.KVs[1].Key + "\x00"
	rest, err := s.List(ctx, "/registry/core/pods/ns/", store.ListOptions{Revision: first.Revision, StartKey: next})
	if err != nil {
		t.Fatal(err)
	}
	if len(rest.KVs) != 3 || rest.More {
		t.Fatalf("second page: %d keys more=%v", len(rest.KVs), rest.More)
	}
}

func TestWatchResumesFromRevision(t *testing.T) {
	s, _ := storetest.New(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	prefix := "/registry/core/configmaps/"
	r1, _ := s.Create(ctx, prefix+"a/one", []byte("1"), 0)
	r2, _ := s.Update(ctx, prefix+"a/one", []byte("2"), r1, 0)
	_, r3, _ := s.Delete(ctx, prefix+"a/one", r2)

	ch := s.Watch(ctx, prefix, r1)
	want := []struct {
		typ store.EventType
		rev int64
		val string
	}{{store.EventPut, r2, "2"}, {store.EventDelete, r3, "2"}}
	for i, w := range want {
		e := next(t, ch)
		if e.Type != w.typ || e.Revision != w.rev || string(e.KV.Value) != w.val {
			t.Fatalf("event %d: got type %v rev %d val %q, want %+v", i, e.Type, e.Revision, e.KV.Value, w)
		}
	}
	r4, _ := s.Create(ctx, prefix+"b/two", []byte("new"), 0)
	if e := next(t, ch); e.Type != store.EventPut || !e.Created || e.Revision != r4 {
		t.Fatalf("live event: %+v", e)
	}
}

func TestWatchFromCompactedRevision(t *testing.T) {
	s, _ := storetest.New(t, nil)
	ctx := context.Background()
	r1, _ := s.Create(ctx, "/registry/x/a", []byte("1"), 0)
	r2, _ := s.Update(ctx, "/registry/x/a", []byte("2"), r1, 0)
	if err := s.Compact(ctx, r2); err != nil {
		t.Fatal(err)
	}
	e := next(t, s.Watch(ctx, "/registry/x/", r1-1))
	if e.Type != store.EventError || !errors.Is(e.Err, store.ErrCompacted) {
		t.Fatalf("got %+v, want ErrCompacted", e)
	}
	if _, err := s.List(ctx, "/registry/x/", store.ListOptions{Revision: r1}); !errors.Is(err, store.ErrCompacted) {
		t.Fatalf("list at compacted revision: %v", err)
	}
}

func TestCompactorKeepsRetention(t *testing.T) {
	s, _ := storetest.New(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r1, _ := s.Create(ctx, "/registry/x/a", []byte("1"), 0)
	c := &store.Compactor{Store: s, Retention: 200 * time.Millisecond, Interval: 20 * time.Millisecond, Log: discard()}
	go func() { _ = c.Start(ctx) }()
	// Keep writing so revisions advance; after the retention window has
	// passed twice, revision r1 must be gone.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := s.Create(ctx, fmt.Sprintf("/registry/x/%d", time.Now().UnixNano()), nil, 0); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Get(ctx, "/registry/x/a", r1); errors.Is(err, store.ErrCompacted) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("revision was never compacted")
}

func TestEncryptedValuesNeverReachEtcdInPlaintext(t *testing.T) {
	key, err := store.LoadOrCreateKey(filepath.Join(t.TempDir(), "enc.key"))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := store.NewEncrypter("key1", key, "/registry/core/secrets/")
	if err != nil {
		t.Fatal(err)
	}
	s, e := storetest.New(t, enc)
	ctx := context.Background()
	secret := []byte("top-secret-password-4711")
	if _, err := s.Create(ctx, "/registry/core/secrets/default/s", secret, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, "/registry/core/configmaps/default/c", []byte("plain-value"), 0); err != nil {
		t.Fatal(err)
	}
	kv, _, err := s.Get(ctx, "/registry/core/secrets/default/s", 0)
	if err != nil || !bytes.Equal(kv.Value, secret) {
		t.Fatalf("read back: %v %q", err, kv.Value)
	}
	raw, err := e.Client().Get(ctx, "/registry/core/secrets/default/s")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw.Kvs[0].Value, secret) || !bytes.HasPrefix(raw.Kvs[0].Value, []byte("k8s:enc:aesgcm:v1:key1:")) {
		t.Fatalf("raw value is not encrypted: %q", raw.Kvs[0].Value)
	}
	raw, _ = e.Client().Get(ctx, "/registry/core/configmaps/default/c")
	if string(raw.Kvs[0].Value) != "plain-value" {
		t.Fatalf("configmap should be stored as is: %q", raw.Kvs[0].Value)
	}
}

func TestLoadOrCreateKeyIsPrivateAndStable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	k1, err := store.LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode())
	}
	k2, _ := store.LoadOrCreateKey(path)
	if !bytes.Equal(k1, k2) {
		t.Fatal("key changed between loads")
	}
}

func TestTTLKeysExpire(t *testing.T) {
	s, _ := storetest.New(t, nil)
	ctx := context.Background()
	if _, err := s.Create(ctx, "/registry/core/events/ns/e", []byte("x"), time.Second); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(ctx, "/registry/core/events/ns/e", 0); err != nil {
		t.Fatal(err)
	}
	// The lease is granted for ttl plus the reuse window (60 s); we only
	// check it is attached.
	kv, err := s.Client().Get(ctx, "/registry/core/events/ns/e")
	if err != nil || kv.Kvs[0].Lease == 0 {
		t.Fatalf("no lease on key: %v", err)
	}
}

func next(t *testing.T, ch <-chan store.Event) store.Event {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("watch closed")
		}
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no watch event in 5s")
	}
	return store.Event{}
}
