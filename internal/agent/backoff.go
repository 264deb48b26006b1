package agent

import (
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Crash-loop and image-pull back-off, as the kubelet's: 10 s doubling up
// to 5 minutes, forgotten after 10 minutes without a failure.
const (
	backoffInitial = 10 * time.Second
	backoffMax     = 5 * time.Minute
	backoffReset   = 2 * backoffMax
)

type backoffEntry struct {
	delay time.Duration
	at    time.Time
}

type backoffs struct {
	mu  sync.Mutex
	m   map[string]*backoffEntry
	now func() time.Time
}

func newBackoffs() *backoffs {
	return &backoffs{m: map[string]*backoffEntry{}, now: time.Now}
}

func backoffKey(pod *corev1.Pod, what string) string {
	return string(pod.UID) + "/" + what
}

// remaining returns how long since the failure at event the back-off
// still lasts (0: go ahead).
func (b *backoffs) remaining(key string, event time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.m[key]
	if e == nil || b.expired(e) {
		return 0
	}
	if left := e.delay - b.now().Sub(event); left > 0 {
		return left
	}
	return 0
}

func (b *backoffs) expired(e *backoffEntry) bool {
	return b.now().Sub(e.at) > backoffReset
}

// next records a failure: the first waits backoffInitial, each further one
// twice as long.
func (b *backoffs) next(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.m[key]
	switch {
	case e == nil || b.expired(e):
		e = &backoffEntry{delay: backoffInitial}
		b.m[key] = e
	default:
		e.delay *= 2
		if e.delay > backoffMax {
			e.delay = backoffMax
		}
	}
	e.at = b.now()
}

// delay returns the current back-off of key.
func (b *backoffs) delay(key string) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e := b.m[key]; e != nil {
		return e.delay
	}
	return backoffInitial
}

// last returns when key last failed.
func (b *backoffs) last(key string) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e := b.m[key]; e != nil {
		return e.at
	}
	return time.Time{}
}

func (b *backoffs) reset(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m, key)
}

func (b *backoffs) forgetPod(uid types.UID) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k := range b.m {
		if strings.HasPrefix(k, string(uid)+"/") {
			delete(b.m, k)
		}
	}
}
