package store

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Claim is a key written or removed in the same transaction as an object:
// the allocations an object holds (a service's cluster IP and node ports).
// A claim with a Value takes the key and fails the write if another holds
// it; a claim without one releases the key.
type Claim struct {
	Key   string
	Value []byte
}

// ClaimedError says a write failed because one of its claims was held.
type ClaimedError struct{ Key string }

func (e *ClaimedError) Error() string { return fmt.Sprintf("store: %s is already claimed", e.Key) }

// claimOps adds the claims' conditions and operations to a transaction,
// returning the keys whose absence it checks, in order.
func claimOps(claims []Claim, cmps []clientv3.Cmp, ops []clientv3.Op) ([]clientv3.Cmp, []clientv3.Op, []string) {
	var taken []string
	for _, c := range claims {
		if c.Value == nil {
			ops = append(ops, clientv3.OpDelete(c.Key))
			continue
		}
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(c.Key), "=", 0))
		ops = append(ops, clientv3.OpPut(c.Key, string(c.Value)))
		taken = append(taken, c.Key)
	}
	return cmps, ops, taken
}

// failedClaim finds, after a failed transaction, the first claimed key
// another holds; the else branch read each of them in order after the
// object's own key.
func failedClaim(resp *clientv3.TxnResponse, taken []string) error {
	for i, key := range taken {
		if r := resp.Responses[1+i].GetResponseRange(); r != nil && r.Count > 0 {
			return &ClaimedError{Key: key}
		}
	}
	return nil
}

func countOps(key string, taken []string) []clientv3.Op {
	ops := []clientv3.Op{clientv3.OpGet(key, clientv3.WithCountOnly())}
	for _, k := range taken {
		ops = append(ops, clientv3.OpGet(k, clientv3.WithCountOnly()))
	}
	return ops
}

// CreateWithClaims is Create that also applies claims atomically. It
// returns ErrExists if key exists, a *ClaimedError if a claim is held.
func (s *Store) CreateWithClaims(ctx context.Context, key string, value []byte, ttl time.Duration, claims []Claim) (int64, error) {
	put, err := s.putOp(ctx, key, value, ttl)
	if err != nil {
		return 0, err
	}
	cmps, ops, taken := claimOps(claims, []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(key), "=", 0)}, []clientv3.Op{put})
	resp, err := s.client.Txn(ctx).If(cmps...).Then(ops...).Else(countOps(key, taken)...).Commit()
	if err != nil {
		return 0, mapErr(err)
	}
	if !resp.Succeeded {
		if resp.Responses[0].GetResponseRange().Count > 0 {
			return 0, ErrExists
		}
		if err := failedClaim(resp, taken); err != nil {
			return 0, err
		}
		return 0, ErrConflict
	}
	return resp.Header.Revision, nil
}

// UpdateWithClaims is Update that also applies claims atomically.
func (s *Store) UpdateWithClaims(ctx context.Context, key string, value []byte, modRev int64, ttl time.Duration, claims []Claim) (int64, error) {
	put, err := s.putOp(ctx, key, value, ttl)
	if err != nil {
		return 0, err
	}
	cmps, ops, taken := claimOps(claims, []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(key), "=", modRev)}, []clientv3.Op{put})
	resp, err := s.client.Txn(ctx).If(cmps...).Then(ops...).Else(countOps(key, taken)...).Commit()
	if err != nil {
		return 0, mapErr(err)
	}
	if !resp.Succeeded {
		if resp.Responses[0].GetResponseRange().Count == 0 {
			return 0, ErrNotFound
		}
		if err := failedClaim(resp, taken); err != nil {
			return 0, err
		}
		return 0, ErrConflict
	}
	return resp.Header.Revision, nil
}

// DeleteWithClaims is Delete that also releases (or takes) claims
// atomically.
func (s *Store) DeleteWithClaims(ctx context.Context, key string, modRev int64, claims []Claim) (*KV, int64, error) {
	cmp := clientv3.Compare(clientv3.ModRevision(key), ">", 0)
	if modRev > 0 {
		cmp = clientv3.Compare(clientv3.ModRevision(key), "=", modRev)
	}
	cmps, ops, taken := claimOps(claims, []clientv3.Cmp{cmp}, []clientv3.Op{clientv3.OpDelete(key, clientv3.WithPrevKV())})
	resp, err := s.client.Txn(ctx).If(cmps...).Then(ops...).Else(countOps(key, taken)...).Commit()
	if err != nil {
		return nil, 0, mapErr(err)
	}
	if !resp.Succeeded {
		if resp.Responses[0].GetResponseRange().Count == 0 {
			return nil, 0, ErrNotFound
		}
		if err := failedClaim(resp, taken); err != nil {
			return nil, 0, err
		}
		return nil, 0, ErrConflict
	}
	del := resp.Responses[0].GetResponseDeleteRange()
	if len(del.PrevKvs) == 0 {
		return nil, 0, ErrNotFound
	}
	kv, err := s.fromEtcd(del.PrevKvs[0])
	return kv, resp.Header.Revision, err
}

// Claimed lists the claimed keys under prefix with their values.
func (s *Store) Claimed(ctx context.Context, prefix string) (map[string][]byte, error) {
	resp, err := s.client.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, mapErr(err)
	}
	out := make(map[string][]byte, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		out[string(kv.Key)] = kv.Value
	}
	return out, nil
}

// Taken says whether a claim key is held.
func (s *Store) Taken(ctx context.Context, key string) (bool, error) {
	resp, err := s.client.Get(ctx, key, clientv3.WithCountOnly())
	if err != nil {
		return false, mapErr(err)
	}
	return resp.Count > 0, nil
}

// TakeIfFree writes a claim key on its own if nobody holds it, and says
// whether it did.
func (s *Store) TakeIfFree(ctx context.Context, c Claim) (bool, error) {
	resp, err := s.client.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(c.Key), "=", 0)).
		Then(clientv3.OpPut(c.Key, string(c.Value))).Commit()
	if err != nil {
		return false, mapErr(err)
	}
	return resp.Succeeded, nil
}
