package prober

import (
	"context"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Manager runs the probes of the containers the agent started and keeps
// their results.
type Manager struct {
	prober *prober
	log    *slog.Logger
	// second is how long one of a probe's seconds lasts; tests shorten it.
	second time.Duration
	now    func() time.Time

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	updates chan Update
	kick    chan struct{}

	mu         sync.Mutex
	stopped    bool
	pods       map[types.UID]*podEntry
	containers map[string]*container
	queue      *updateQueue
}

// podEntry is what the manager knows of a pod.
type podEntry struct {
	ip         string
	containers map[string]struct{}
}

// container is one started container and its probe results.
type container struct {
	id        string
	pod       *corev1.Pod
	spec      *corev1.Container
	startedAt time.Time
	// ctx ends the container's workers.
	ctx    context.Context
	cancel context.CancelFunc

	// Guarded by Manager.mu.
	started bool // startup probe passed, or none
	ready   bool // readiness result; true if no readiness probe
	live    bool // liveness result
}

// NewManager returns a running Manager. exec runs exec probes, rec records
// probe events; log may be nil.
func NewManager(exec Execer, rec Recorder, log *slog.Logger) *Manager {
	return newManager(exec, rec, log, time.Second)
}

func newManager(exec Execer, rec Recorder, log *slog.Logger, second time.Duration) *Manager {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{
		prober: &prober{
			exec:      exec,
			rec:       rec,
			log:       log,
			transport: newTransport(),
			execSlack: second,
		},
		log:        log,
		second:     second,
		now:        time.Now,
		ctx:        ctx,
		cancel:     cancel,
		updates:    make(chan Update, updateBuffer),
		kick:       make(chan struct{}, 1),
		pods:       make(map[types.UID]*podEntry),
		containers: make(map[string]*container),
		queue:      newUpdateQueue(),
	}
	m.wg.Add(1)
	go m.forward()
	return m
}

// ContainerStarted starts probing container c of pod, running as
// containerID since startedAt. Until the first readiness success the
// container is not ready (it is at once if it has no readiness probe); it is
// live; it has not started until its startup probe succeeds (at once if it
// has none), and its liveness and readiness probes only run once it has.
// Calling it again for the same containerID does nothing.
func (m *Manager) ContainerStarted(pod *corev1.Pod, c *corev1.Container, containerID string, startedAt time.Time) {
	if pod == nil || c == nil || containerID == "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped || m.containers[containerID] != nil {
		return
	}
	ctx, cancel := context.WithCancel(m.ctx)
	ct := &container{
		id:        containerID,
		pod:       pod.DeepCopy(),
		spec:      c.DeepCopy(),
		startedAt: startedAt,
		ctx:       ctx,
		cancel:    cancel,
		started:   c.StartupProbe == nil,
		ready:     c.ReadinessProbe == nil,
		live:      true,
	}
	m.containers[containerID] = ct
	pe := m.podLocked(pod.UID)
	if pe.ip == "" {
		pe.ip = podIPOf(pod)
	}
	pe.containers[containerID] = struct{}{}
	if ct.started {
		m.startWorkerLocked(ct, Liveness)
		m.startWorkerLocked(ct, Readiness)
	} else {
		m.startWorkerLocked(ct, Startup)
	}
}

// podLocked returns the entry of pod uid, creating it; m.mu must be held.
func (m *Manager) podLocked(uid types.UID) *podEntry {
	pe := m.pods[uid]
	if pe == nil {
		pe = &podEntry{containers: make(map[string]struct{})}
		m.pods[uid] = pe
	}
	return pe
}

// startWorkerLocked starts the worker for c's probe of kind k, if it has
// one; m.mu must be held.
func (m *Manager) startWorkerLocked(c *container, k Kind) {
	p := probeOf(c.spec, k)
	if p == nil || m.stopped || c.ctx.Err() != nil {
		return
	}
	w := &worker{m: m, c: c, kind: k, spec: withDefaults(p)}
	m.wg.Add(1)
	go w.run()
}

// UpdatePodIP sets the IP that probes of the pod's containers use when
// their handler names no host.
func (m *Manager) UpdatePodIP(uid types.UID, ip string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.stopped {
		m.podLocked(uid).ip = ip
	}
}

// ContainerStopped ends the probes of a container and forgets its results
// and its pending updates.
func (m *Manager) ContainerStopped(containerID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.containers[containerID]; c != nil {
		m.removeLocked(c)
	}
}

// RemovePod ends the probes of all the pod's containers and forgets the pod.
func (m *Manager) RemovePod(uid types.UID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	pe := m.pods[uid]
	if pe == nil {
		return
	}
	for id := range pe.containers {
		if c := m.containers[id]; c != nil {
			m.removeLocked(c)
		}
	}
	delete(m.pods, uid)
}

// removeLocked stops c's workers and forgets it; m.mu must be held.
func (m *Manager) removeLocked(c *container) {
	c.cancel()
	delete(m.containers, c.id)
	if pe := m.pods[c.pod.UID]; pe != nil {
		delete(pe.containers, c.id)
	}
	m.queue.drop(c.id)
}

// Ready reports whether the container is ready: started, and its readiness
// probe (if any) has succeeded. Unknown containers are not ready.
func (m *Manager) Ready(containerID string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.containers[containerID]
	return c != nil && c.started && c.ready
}

// Started reports whether the container's startup probe has succeeded (or
// it has none). Unknown containers have not started.
func (m *Manager) Started(containerID string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.containers[containerID]
	return c != nil && c.started
}

// Updates returns the channel of probe result changes. It is buffered and
// fed by one goroutine: workers never wait for the consumer; while the
// consumer lags, a newer update for the same container and kind replaces a
// queued one. Updates for a container may still arrive shortly after
// ContainerStopped; check the ContainerID. The channel is not closed by
// Stop.
func (m *Manager) Updates() <-chan Update {
	return m.updates
}

// Stop ends all probes and waits for every goroutine of the manager to
// return. The manager does nothing afterwards.
func (m *Manager) Stop() {
	m.once.Do(func() {
		m.mu.Lock()
		m.stopped = true
		for _, c := range m.containers {
			m.removeLocked(c)
		}
		m.pods = make(map[types.UID]*podEntry)
		m.mu.Unlock()
		m.cancel()
		m.wg.Wait()
		m.prober.transport.CloseIdleConnections()
	})
}
