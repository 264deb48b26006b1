package agent

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// resyncPeriod re-syncs every pod even without events.
const resyncPeriod = 10 * time.Second

// workers runs one goroutine per pod, so a slow pod never holds up
// another; triggers for a pod that is syncing coalesce into one more sync.
type workers struct {
	a  *Agent
	mu sync.Mutex
	m  map[types.UID]*worker
	wg sync.WaitGroup
}

type worker struct {
	uid     types.UID
	trigger chan struct{}
	state   *podState
}

func newWorkers(a *Agent) *workers {
	return &workers{a: a, m: map[types.UID]*worker{}}
}

// kick asks for a sync of uid, starting its worker if needed.
func (ws *workers) kick(ctx context.Context, uid types.UID) {
	ws.mu.Lock()
	w, ok := ws.m[uid]
	if !ok {
		w = &worker{uid: uid, trigger: make(chan struct{}, 1), state: newPodState()}
		ws.m[uid] = w
		ws.wg.Add(1)
		go ws.run(ctx, w)
	}
	ws.mu.Unlock()
	select {
	case w.trigger <- struct{}{}:
	default:
	}
}

func (ws *workers) run(ctx context.Context, w *worker) {
	defer ws.wg.Done()
	timer := time.NewTimer(resyncPeriod)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.trigger:
		case <-timer.C:
		}
		next, done := ws.a.syncPod(ctx, w.uid, w.state)
		if done {
			ws.mu.Lock()
			delete(ws.m, w.uid)
			ws.mu.Unlock()
			// A trigger that raced the exit starts a new worker.
			select {
			case <-w.trigger:
				ws.kick(ctx, w.uid)
			default:
			}
			return
		}
		if next <= 0 || next > resyncPeriod {
			next = resyncPeriod
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(next)
	}
}

// wait blocks until every worker has exited.
func (ws *workers) wait() { ws.wg.Wait() }

// podState is what the agent remembers of a pod between syncs.
type podState struct {
	mu sync.Mutex
	// waiting holds why a container is not running (ErrImagePull,
	// CrashLoopBackOff, CreateContainerConfigError, ...).
	waiting map[string]corev1.ContainerStateWaiting
	// startTime is when the agent first accepted the pod.
	startTime time.Time
	// killed is set once the pod's containers were stopped for deletion
	// or completion.
	killed bool
	// probed holds the containers the prober follows (by ID): those this
	// agent started, and running ones it adopted after a restart.
	probed map[string]bool
}

func newPodState() *podState {
	return &podState{waiting: map[string]corev1.ContainerStateWaiting{}, probed: map[string]bool{}}
}

func (s *podState) setWaiting(name, reason, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waiting[name] = corev1.ContainerStateWaiting{Reason: reason, Message: msg}
}

func (s *podState) clearWaiting(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.waiting, name)
}

func (s *podState) waitingFor(name string) (corev1.ContainerStateWaiting, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.waiting[name]
	return w, ok
}
