package store

import (
	"context"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// EventType says what happened to a key.
type EventType int

// The kinds of watch events.
const (
	EventPut EventType = iota
	EventDelete
	// EventError ends a watch; Err says why (ErrCompacted for a revision
	// older than the history).
	EventError
	// EventProgress carries only a revision: nothing under the prefix
	// changed up to it.
	EventProgress
)

// Event is one change under a watched prefix.
type Event struct {
	Type EventType
	// KV is the new value for puts; for deletes it is the value before
	// the delete with ModRevision set to the revision of the delete.
	KV *KV
	// Prev is the value before the change, nil for creates.
	Prev *KV
	// Created is true for a put that created the key.
	Created  bool
	Revision int64
	Err      error
}

// Watch streams the changes under prefix after revision fromRev (0: from
// now). The channel closes when ctx ends or after an EventError.
func (s *Store) Watch(ctx context.Context, prefix string, fromRev int64) <-chan Event {
	out := make(chan Event, 100)
	opts := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithPrevKV(), clientv3.WithProgressNotify()}
	if fromRev > 0 {
		opts = append(opts, clientv3.WithRev(fromRev+1))
	}
	ctx, cancel := context.WithCancel(ctx)
	wch := s.client.Watch(clientv3.WithRequireLeader(ctx), prefix, opts...)
	go func() {
		defer close(out)
		defer cancel()
		for resp := range wch {
			if err := resp.Err(); err != nil {
				send(ctx, out, Event{Type: EventError, Err: mapErr(err)})
				return
			}
			if resp.IsProgressNotify() {
				if !send(ctx, out, Event{Type: EventProgress, Revision: resp.Header.Revision}) {
					return
				}
				continue
			}
			for _, ev := range resp.Events {
				e, err := s.event(ev)
				if err != nil {
					e = Event{Type: EventError, Err: err}
				}
				if !send(ctx, out, e) || e.Type == EventError {
					return
				}
			}
		}
		if ctx.Err() == nil {
			send(ctx, out, Event{Type: EventError, Err: mapErr(context.Canceled)})
		}
	}()
	return out
}

func (s *Store) event(ev *clientv3.Event) (Event, error) {
	e := Event{Revision: ev.Kv.ModRevision}
	if ev.PrevKv != nil {
		prev, err := s.fromEtcd(ev.PrevKv)
		if err != nil {
			return e, err
		}
		e.Prev = prev
	}
	if ev.Type == clientv3.EventTypeDelete {
		e.Type = EventDelete
		if e.Prev != nil {
			kv := *e.Prev
			kv.ModRevision = ev.Kv.ModRevision
			e.KV = &kv
		} else {
			e.KV = &KV{Key: string(ev.Kv.Key), ModRevision: ev.Kv.ModRevision}
		}
		return e, nil
	}
	kv, err := s.fromEtcd(ev.Kv)
	if err != nil {
		return e, err
	}
	e.Type, e.KV, e.Created = EventPut, kv, ev.IsCreate()
	return e, nil
}

func send(ctx context.Context, out chan<- Event, e Event) bool {
	select {
	case out <- e:
		return true
	case <-ctx.Done():
		return false
	}
}
