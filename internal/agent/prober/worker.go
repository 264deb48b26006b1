package prober

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// worker runs one probe of one container: first once the initial delay
// since the container started has passed, then every period, until its
// container's context ends, its startup probe has an outcome, or its
// liveness probe failed past the threshold.
type worker struct {
	m    *Manager
	c    *container
	kind Kind
	spec *corev1.Probe

	// lastSuccess and streak count the consecutive equal results.
	lastSuccess bool
	streak      int
}

func (w *worker) run() {
	defer w.m.wg.Done()
	if !w.wait(w.firstDelay()) {
		return
	}
	ticker := time.NewTicker(time.Duration(w.spec.PeriodSeconds) * w.m.second)
	defer ticker.Stop()
	for w.probeOnce() {
		select {
		case <-w.c.ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// firstDelay is what remains of the initial delay, which counts from when
// the container started.
func (w *worker) firstDelay() time.Duration {
	start := w.c.startedAt.Add(time.Duration(w.spec.InitialDelaySeconds) * w.m.second)
	return max(start.Sub(w.m.now()), 0)
}

// wait sleeps for d; it reports false if the worker was stopped meanwhile.
func (w *worker) wait(d time.Duration) bool {
	if d <= 0 {
		return w.c.ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-w.c.ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// probeOnce probes once and applies the thresholds; it reports whether the
// worker goes on.
func (w *worker) probeOnce() (keepGoing bool) {
	defer func() {
		if r := recover(); r != nil {
			w.m.log.Error("probe panicked", "probe", w.kind.String(), "container", w.c.id, "panic", r)
			keepGoing = w.c.ctx.Err() == nil
		}
	}()
	t, ok := w.m.target(w.c)
	if !ok {
		return false
	}
	timeout := time.Duration(w.spec.TimeoutSeconds) * w.m.second
	success, err := w.m.prober.probe(w.c.ctx, w.kind, w.spec, t, timeout)
	if w.c.ctx.Err() != nil {
		return false
	}
	if err != nil {
		// An errored probe counts neither way.
		return true
	}
	if w.streak > 0 && success == w.lastSuccess {
		w.streak++
	} else {
		w.lastSuccess, w.streak = success, 1
	}
	if (!success && w.streak < int(w.spec.FailureThreshold)) || (success && w.streak < int(w.spec.SuccessThreshold)) {
		return true
	}
	w.m.report(w.c, w.kind, success)
	switch {
	case w.kind == Startup:
		// Started, or doomed: either way this worker is done.
		return false
	case w.kind == Liveness && !success:
		// The container is about to be killed; a new one gets new workers.
		return false
	}
	return true
}

// target returns what c's probes run against, with the pod's current IP;
// false if c is no longer tracked.
func (m *Manager) target(c *container) (target, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.containers[c.id] != c {
		return target{}, false
	}
	ip := ""
	if pe := m.pods[c.pod.UID]; pe != nil {
		ip = pe.ip
	}
	return target{pod: c.pod, container: c.spec, containerID: c.id, podIP: ip}, true
}

// report records a result that crossed its threshold and queues the update
// it causes, if any.
func (m *Manager) report(c *container, k Kind, success bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.containers[c.id] != c || c.ctx.Err() != nil {
		return
	}
	switch k {
	case Readiness:
		if c.ready != success {
			c.ready = success
			m.pushLocked(c, Readiness, success)
		}
	case Liveness:
		if !success && c.live {
			c.live = false
			m.pushLocked(c, Liveness, false)
		}
	case Startup:
		if !success {
			m.pushLocked(c, Startup, false)
			return
		}
		if c.started {
			return
		}
		c.started = true
		m.pushLocked(c, Startup, true)
		if c.spec.ReadinessProbe == nil {
			// Ready follows started when there is no readiness probe.
			m.pushLocked(c, Readiness, true)
		}
		m.startWorkerLocked(c, Liveness)
		m.startWorkerLocked(c, Readiness)
	}
}
