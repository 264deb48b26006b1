// Package store keeps API objects in etcd. Keys follow
// /registry/<group>/<resource>/[<namespace>/]<name>; values are opaque bytes
// (the API server's encoding). Every write is a transaction that compares the
// key's mod revision, so a stale writer gets ErrConflict, and the mod revision
// of a key is the object's resourceVersion.
package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// KV is one stored key at one revision.
type KV struct {
	Key            string
	Value          []byte
	ModRevision    int64
	CreateRevision int64
}

// ListOptions selects part of a prefix.
type ListOptions struct {
	// Revision reads at that revision; 0 reads the newest.
	Revision int64
	// Limit caps the number of keys returned; 0 means no limit.
	Limit int64
	// StartKey continues a list from this key (inclusive).
	StartKey string
}

// ListResult is the answer to List.
type ListResult struct {
	KVs []*KV
	// Revision is the store revision the list was read at.
	Revision int64
	// More says keys remain after the last one returned.
	More bool
	// Remaining counts the keys after the last one returned.
	Remaining int64
}

// Store reads and writes keys in etcd.
type Store struct {
	client *clientv3.Client
	crypt  *Encrypter
	leases *leaseCache
	// compacted is the newest revision this process compacted to.
	compacted atomic.Int64
}

// New returns a Store over client. crypt may be nil; when set, values of keys
// it covers are encrypted before they reach etcd.
func New(client *clientv3.Client, crypt *Encrypter) *Store {
	return &Store{client: client, crypt: crypt, leases: &leaseCache{client: client}}
}

// Client returns the etcd client, for components that need etcd primitives
// directly (compaction, health).
func (s *Store) Client() *clientv3.Client { return s.client }

// Get returns key at rev (0: newest) and the store revision it was read at.
func (s *Store) Get(ctx context.Context, key string, rev int64) (*KV, int64, error) {
	opts := []clientv3.OpOption{}
	if rev > 0 {
		opts = append(opts, clientv3.WithRev(rev))
	}
	resp, err := s.client.Get(ctx, key, opts...)
	if err != nil {
		return nil, 0, mapErr(err)
	}
	if len(resp.Kvs) == 0 {
		return nil, resp.Header.Revision, ErrNotFound
	}
	kv, err := s.fromEtcd(resp.Kvs[0])
	return kv, resp.Header.Revision, err
}

// List returns the keys under prefix, in key order.
func (s *Store) List(ctx context.Context, prefix string, o ListOptions) (*ListResult, error) {
	start := prefix
	if o.StartKey != "" {
		start = o.StartKey
	}
	opts := []clientv3.OpOption{clientv3.WithRange(clientv3.GetPrefixRangeEnd(prefix))}
	if o.Revision > 0 {
		opts = append(opts, clientv3.WithRev(o.Revision))
	}
	if o.Limit > 0 {
		opts = append(opts, clientv3.WithLimit(o.Limit))
	}
	resp, err := s.client.Get(ctx, start, opts...)
	if err != nil {
		return nil, mapErr(err)
	}
	res := &ListResult{Revision: resp.Header.Revision, More: resp.More, KVs: make([]*KV, 0, len(resp.Kvs))}
	for _, ekv := range resp.Kvs {
		kv, err := s.fromEtcd(ekv)
		if err != nil {
			return nil, err
		}
		res.KVs = append(res.KVs, kv)
	}
	if res.More {
		res.Remaining = resp.Count - int64(len(resp.Kvs))
	}
	return res, nil
}

// Count returns how many keys are under prefix.
func (s *Store) Count(ctx context.Context, prefix string) (int64, error) {
	resp, err := s.client.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return 0, mapErr(err)
	}
	return resp.Count, nil
}

// Create writes key only if it does not exist and returns the new revision.
// A positive ttl attaches the key to a lease so it expires.
func (s *Store) Create(ctx context.Context, key string, value []byte, ttl time.Duration) (int64, error) {
	return s.CreateWithClaims(ctx, key, value, ttl, nil)
}

// Update replaces key if its mod revision is still modRev.
func (s *Store) Update(ctx context.Context, key string, value []byte, modRev int64, ttl time.Duration) (int64, error) {
	return s.UpdateWithClaims(ctx, key, value, modRev, ttl, nil)
}

// Delete removes key if its mod revision is still modRev (0: any) and
// returns the value it had and the revision of the deletion.
func (s *Store) Delete(ctx context.Context, key string, modRev int64) (*KV, int64, error) {
	return s.DeleteWithClaims(ctx, key, modRev, nil)
}

// Revision returns the store's newest revision.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	resp, err := s.client.Get(ctx, "/registry/health", clientv3.WithCountOnly())
	if err != nil {
		return 0, mapErr(err)
	}
	return resp.Header.Revision, nil
}

// Compact discards history before rev.
func (s *Store) Compact(ctx context.Context, rev int64) error {
	_, err := s.client.Compact(ctx, rev)
	if err != nil && !errors.Is(mapErr(err), ErrCompacted) {
		return mapErr(err)
	}
	for {
		cur := s.compacted.Load()
		if rev <= cur || s.compacted.CompareAndSwap(cur, rev) {
			return nil
		}
	}
}

// CompactedRevision returns the newest revision this process compacted
// to: history before it is gone.
func (s *Store) CompactedRevision() int64 { return s.compacted.Load() }

func (s *Store) putOp(ctx context.Context, key string, value []byte, ttl time.Duration) (clientv3.Op, error) {
	v, err := s.crypt.encrypt(key, value)
	if err != nil {
		return clientv3.Op{}, err
	}
	var opts []clientv3.OpOption
	if ttl > 0 {
		id, err := s.leases.get(ctx, ttl)
		if err != nil {
			return clientv3.Op{}, err
		}
		opts = append(opts, clientv3.WithLease(id))
	}
	return clientv3.OpPut(key, string(v), opts...), nil
}

func (s *Store) fromEtcd(kv *mvccpb.KeyValue) (*KV, error) {
	key := string(kv.Key)
	v, err := s.crypt.decrypt(key, kv.Value)
	if err != nil {
		return nil, err
	}
	return &KV{Key: key, Value: v, ModRevision: kv.ModRevision, CreateRevision: kv.CreateRevision}, nil
}

func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, rpctypes.ErrCompacted):
		return fmt.Errorf("%w: %w", ErrCompacted, err)
	case errors.Is(err, rpctypes.ErrFutureRev):
		return fmt.Errorf("%w: %w", ErrFutureRevision, err)
	}
	return fmt.Errorf("store: %w", err)
}

// leaseCache shares etcd leases between keys with similar TTLs (events), so
// a burst of writes does not grant one lease each.
type leaseCache struct {
	client *clientv3.Client
	mu     sync.Mutex
	id     clientv3.LeaseID
	ttl    time.Duration
	expiry time.Time
}

const leaseReuse = time.Minute

func (l *leaseCache) get(ctx context.Context, ttl time.Duration) (clientv3.LeaseID, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	// A lease can serve a key whose ttl ends no later than the lease
	// (at most leaseReuse later than asked).
	if l.id != 0 && l.ttl == ttl && now.Add(ttl).Before(l.expiry) {
		return l.id, nil
	}
	grant := ttl + leaseReuse
	resp, err := l.client.Grant(ctx, int64(grant.Seconds()))
	if err != nil {
		return 0, mapErr(err)
	}
	l.id, l.ttl, l.expiry = resp.ID, ttl, now.Add(grant)
	return l.id, nil
}
