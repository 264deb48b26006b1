// Package leader runs a function on one process at a time among several
// that share a cluster: they campaign for a coordination.k8s.io Lease in
// kube-system, as kube-scheduler and kube-controller-manager do.
package leader

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Upstream's defaults for the lease.
const (
	LeaseDuration = 15 * time.Second
	RenewDeadline = 10 * time.Second
	RetryPeriod   = 2 * time.Second
	Namespace     = "kube-system"
)

// Identity names this process stably across restarts: the host name and a
// hash of what tells instances on one host apart (the data dir). A
// restarted server so holds its old lease at once instead of waiting for
// it to expire.
func Identity(instance string) string {
	host, _ := os.Hostname()
	sum := sha256.Sum256([]byte(instance))
	return host + "_" + hex.EncodeToString(sum[:4])
}

// Run campaigns for the lease named name and runs fn while it leads. When
// leadership is lost fn's context is cancelled and, once fn has returned,
// the campaign starts again. Run returns when ctx ends, or with fn's error
// if fn fails while leading (the lease is then released).
func Run(ctx context.Context, client kubernetes.Interface, name, identity string, log *slog.Logger, fn func(ctx context.Context) error) error {
	log = log.With("lease", Namespace+"/"+name, "identity", identity)
	for ctx.Err() == nil {
		lctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		// started is set by the elector's goroutine; if Run returns before
		// that goroutine ran, fn sees a cancelled context and returns at once.
		var started atomic.Bool
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock: &resourcelock.LeaseLock{
				LeaseMeta:  metav1.ObjectMeta{Namespace: Namespace, Name: name},
				Client:     client.CoordinationV1(),
				LockConfig: resourcelock.ResourceLockConfig{Identity: identity},
			},
			LeaseDuration: LeaseDuration, RenewDeadline: RenewDeadline, RetryPeriod: RetryPeriod,
			ReleaseOnCancel: true, Name: name,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(c context.Context) {
					started.Store(true)
					log.Info("became leader")
					err := fn(c)
					if c.Err() == nil {
						cancel() // fn gave up while leading: release the lease
					}
					done <- err
				},
				OnStoppedLeading: func() {},
			},
		})
		if err != nil {
			cancel()
			return err
		}
		le.Run(lctx)
		cancel()
		if started.Load() {
			if err := <-done; err != nil && ctx.Err() == nil {
				return err
			}
			if ctx.Err() == nil {
				log.Warn("lost leadership; campaigning again")
			}
		}
	}
	return nil
}
