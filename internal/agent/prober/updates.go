package prober

// updateBuffer is the capacity of the channel Updates returns.
const updateBuffer = 64

// updateKey identifies the updates that supersede each other: a newer
// update for the same container and kind replaces a pending older one.
type updateKey struct {
	containerID string
	kind        Kind
}

// updateQueue holds updates not yet handed to the Updates channel, at most
// one per container and kind, in the order their keys were first queued.
// Workers add to it without blocking; Manager.forward drains it. It is
// guarded by Manager.mu.
type updateQueue struct {
	order   []updateKey
	pending map[updateKey]Update
}

func newUpdateQueue() *updateQueue {
	return &updateQueue{pending: make(map[updateKey]Update)}
}

// push queues u, replacing a pending update of the same key.
func (q *updateQueue) push(u Update) {
	k := updateKey{u.ContainerID, u.Kind}
	if _, ok := q.pending[k]; !ok {
		q.order = append(q.order, k)
	}
	q.pending[k] = u
}

// pop removes and returns the oldest pending update.
func (q *updateQueue) pop() (Update, bool) {
	for len(q.order) > 0 {
		k := q.order[0]
		q.order[0] = updateKey{}
		q.order = q.order[1:]
		if u, ok := q.pending[k]; ok {
			delete(q.pending, k)
			return u, true
		}
	}
	return Update{}, false
}

// drop forgets the pending updates of a container.
func (q *updateQueue) drop(containerID string) {
	for k := range q.pending {
		if k.containerID == containerID {
			delete(q.pending, k)
		}
	}
	kept := q.order[:0]
	for _, k := range q.order {
		if k.containerID != containerID {
			kept = append(kept, k)
		}
	}
	q.order = kept
}

// forward hands queued updates to the Updates channel until the manager
// stops. It is the only goroutine that can block on a slow consumer.
func (m *Manager) forward() {
	defer m.wg.Done()
	for {
		m.mu.Lock()
		u, ok := m.queue.pop()
		m.mu.Unlock()
		if !ok {
			select {
			case <-m.kick:
				continue
			case <-m.ctx.Done():
				return
			}
		}
		select {
		case m.updates <- u:
		case <-m.ctx.Done():
			return
		}
	}
}

// pushLocked queues an update for c; m.mu must be held.
func (m *Manager) pushLocked(c *container, k Kind, success bool) {
	m.queue.push(Update{
		PodUID:        c.pod.UID,
		ContainerName: c.spec.Name,
		ContainerID:   c.id,
		Kind:          k,
		Success:       success,
	})
	select {
	case m.kick <- struct{}{}:
	default:
	}
}
