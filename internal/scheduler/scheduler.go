// Package scheduler places pods on nodes: it is an API client that watches
// pods without spec.nodeName, picks a node for each with the filter and
// score plugins over a cache kept current from informer events, binds it
// through the pods/binding subresource, and preempts lower-priority pods
// when nothing fits.
package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/skiff/skiff/internal/scheduler/framework"
	"github.com/skiff/skiff/internal/scheduler/plugins"
)

// DefaultSchedulerName is the schedulerName pods get by default.
const DefaultSchedulerName = corev1.DefaultSchedulerName

// Config configures a scheduler.
type Config struct {
	Client kubernetes.Interface
	// Factory is the informer factory for everything but pods (the
	// scheduler watches pods through its own, without terminal ones). It
	// is started by Run. Nil: one of its own.
	Factory informers.SharedInformerFactory
	// SchedulerName is the schedulerName handled (default-scheduler).
	SchedulerName string
	// Plugins overrides the default plugins (tests).
	Plugins []framework.WeightedPlugin
	// Parallelism is how many goroutines filter and score nodes (16).
	Parallelism int
	// PercentageOfNodesToScore is the share of feasible nodes searched for
	// before scoring; 0 adapts to the cluster size as kube-scheduler does.
	PercentageOfNodesToScore int32
	// Binders is how many bindings may be in flight at once (64).
	Binders int
	Log     *slog.Logger
	Now     func() time.Time
}

// Scheduler is one scheduler instance.
type Scheduler struct {
	cfg       Config
	client    kubernetes.Interface
	factory   informers.SharedInformerFactory
	podInf    cache.SharedIndexInformer
	podLister corelisters.PodLister
	pdbLister policylisters.PodDisruptionBudgetLister
	synced    []cache.InformerSynced
	queue     *queue
	cache     *clusterCache
	recorder  record.EventRecorder
	log       *slog.Logger

	preFilters  []framework.PreFilterPlugin
	filters     []framework.FilterPlugin
	preScores   []framework.PreScorePlugin
	scores      []weightedScore
	nextStart   int
	binders     chan struct{}
	bindWG      sync.WaitGroup
	rand        *rand.Rand
	scheduled   atomic.Int64
	unscheduled atomic.Int64
}

type weightedScore struct {
	framework.ScorePlugin
	weight int64
}

// New builds a scheduler; Run starts it.
func New(cfg Config) (*Scheduler, error) {
	if cfg.Client == nil {
		return nil, errors.New("scheduler: no client")
	}
	if cfg.SchedulerName == "" {
		cfg.SchedulerName = DefaultSchedulerName
	}
	if cfg.Parallelism <= 0 {
		cfg.Parallelism = 16
	}
	if cfg.Binders <= 0 {
		cfg.Binders = 64
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Factory == nil {
		// Managed fields are half of a cached pod and nothing here reads
		// them.
		cfg.Factory = informers.NewSharedInformerFactoryWithOptions(cfg.Client, 0, informers.WithTransform(StripManagedFields))
	}
	s := &Scheduler{
		cfg: cfg, client: cfg.Client, factory: cfg.Factory, log: cfg.Log.With("component", "scheduler"),
		queue: newQueue(cfg.Now), cache: newClusterCache(cfg.Now), binders: make(chan struct{}, cfg.Binders),
		rand: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x5c4ed)),
	}
	if cfg.Plugins == nil {
		cfg.Plugins = plugins.Default(plugins.Args{Factory: cfg.Factory})
	}
	for _, wp := range cfg.Plugins {
		if p, ok := wp.Plugin.(framework.PreFilterPlugin); ok {
			s.preFilters = append(s.preFilters, p)
		}
		if p, ok := wp.Plugin.(framework.FilterPlugin); ok {
			s.filters = append(s.filters, p)
		}
		if p, ok := wp.Plugin.(framework.PreScorePlugin); ok {
			s.preScores = append(s.preScores, p)
		}
		if p, ok := wp.Plugin.(framework.ScorePlugin); ok && wp.Weight > 0 {
			s.scores = append(s.scores, weightedScore{p, wp.Weight})
		}
	}
	s.setupInformers()
	return s, nil
}

// Run schedules until ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	b := record.NewBroadcaster(record.WithContext(ctx))
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: s.client.CoreV1().Events("")})
	defer b.Shutdown()
	s.recorder = b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: s.cfg.SchedulerName})

	s.factory.Start(ctx.Done())
	go s.podInf.Run(ctx.Done())
	// Waits for the informers the plugins asked for too.
	for _, ok := range s.factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return nil
		}
	}
	if !cache.WaitForCacheSync(ctx.Done(), s.synced...) {
		return nil
	}
	s.log.Info("scheduler started", "nodes", s.cache.NodeCount())
	go s.flushLoop(ctx)
	go func() {
		<-ctx.Done()
		s.queue.Close()
	}()
	for s.scheduleOne(ctx) {
	}
	s.bindWG.Wait()
	return nil
}

// flushLoop moves pods out of back-off when it ends and expires stale
// assumed pods.
func (s *Scheduler) flushLoop(ctx context.Context) {
	t := time.NewTimer(time.Second)
	defer t.Stop()
	expire := time.NewTicker(time.Second)
	defer expire.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-expire.C:
			s.cache.Expire()
		case <-t.C:
			t.Reset(s.queue.flush())
		}
	}
}

// Stats reports what the scheduler did, for tests and benchmarks.
func (s *Scheduler) Stats() (scheduled, unschedulable int64) {
	return s.scheduled.Load(), s.unscheduled.Load()
}

// responsible says the pod waits for this scheduler.
func (s *Scheduler) responsible(pod *corev1.Pod) bool {
	return pod.Spec.NodeName == "" && pod.Spec.SchedulerName == s.cfg.SchedulerName &&
		pod.DeletionTimestamp == nil && len(pod.Spec.SchedulingGates) == 0 &&
		pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed
}

// scheduleOne runs one scheduling cycle; it reports false once the queue
// is closed.
func (s *Scheduler) scheduleOne(ctx context.Context) bool {
	qp := s.queue.Pop()
	if qp == nil {
		return false
	}
	pod := qp.pod
	if s.cache.IsAssumedOrBound(pod.UID) {
		s.queue.Done(pod.UID)
		return true
	}
	state := framework.NewCycleState()
	snap := s.cache.RLock()
	host, fitErr, err := s.schedulePod(ctx, state, pod, snap)
	s.cache.RUnlock()
	if err != nil {
		s.log.Error("scheduling failed", "pod", klogRef(pod), "err", err)
		s.fail(ctx, qp, err.Error(), "", false)
		return true
	}
	if fitErr != nil {
		nominated, msg := "", ""
		if pod.Spec.PreemptionPolicy == nil || *pod.Spec.PreemptionPolicy != corev1.PreemptNever {
			nominated, msg = s.preempt(ctx, pod, fitErr)
		} else {
			msg = "preemption: not eligible due to preemptionPolicy=Never."
		}
		fitErr.postFilterMsg = msg
		s.fail(ctx, qp, fitErr.Error(), nominated, true)
		return true
	}
	assumed := *pod
	assumed.Spec.NodeName = host
	s.cache.Assume(&assumed)
	if pod.Status.NominatedNodeName != "" {
		s.queue.Nominate(pod, "")
	}
	s.bindAsync(ctx, qp, host)
	return true
}

func klogRef(pod *corev1.Pod) string { return pod.Namespace + "/" + pod.Name }

// bindAsync binds in a goroutine so the next cycle need not wait for the
// API round trip; at most cfg.Binders bindings are in flight.
func (s *Scheduler) bindAsync(ctx context.Context, qp *queuedPod, host string) {
	s.binders <- struct{}{}
	s.bindWG.Add(1)
	go func() {
		defer func() { <-s.binders; s.bindWG.Done() }()
		pod := qp.pod
		err := s.client.CoreV1().Pods(pod.Namespace).Bind(ctx, &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
			Target:     corev1.ObjectReference{Kind: "Node", Name: host},
		}, metav1.CreateOptions{})
		if err != nil {
			s.cache.Forget(pod.UID)
			if apierrors.IsNotFound(err) || ctx.Err() != nil {
				s.queue.Done(pod.UID)
				return
			}
			s.log.Warn("binding failed", "pod", klogRef(pod), "node", host, "err", err)
			s.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedScheduling", "Binding rejected: %v", err)
			s.queue.Retry(qp)
			return
		}
		s.cache.FinishBinding(pod.UID)
		s.queue.Done(pod.UID)
		s.scheduled.Add(1)
		s.recorder.Eventf(pod, corev1.EventTypeNormal, "Scheduled", "Successfully assigned %s/%s to %s", pod.Namespace, pod.Name, host)
	}()
}

// fail records why a pod was not scheduled: a FailedScheduling event, the
// PodScheduled=False condition (and the nominated node of preemption) on
// the pod, and back into the queue.
func (s *Scheduler) fail(ctx context.Context, qp *queuedPod, msg, nominated string, unschedulable bool) {
	pod := qp.pod
	s.unscheduled.Add(1)
	if unschedulable {
		s.queue.Unschedulable(qp)
	} else {
		s.queue.Retry(qp)
	}
	if nominated != "" {
		s.queue.Nominate(pod, nominated)
	}
	s.recorder.Event(pod, corev1.EventTypeWarning, "FailedScheduling", msg)
	reason := corev1.PodReasonUnschedulable
	if !unschedulable {
		reason = corev1.PodReasonSchedulerError
	}
	cond := podScheduledCondition(pod)
	if cond != nil && cond.Status == corev1.ConditionFalse && cond.Reason == reason && cond.Message == msg &&
		(nominated == "" || nominated == pod.Status.NominatedNodeName) {
		return
	}
	s.binders <- struct{}{}
	s.bindWG.Add(1)
	go func() {
		defer func() { <-s.binders; s.bindWG.Done() }()
		if err := s.patchStatus(ctx, pod, reason, msg, nominated); err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
			s.log.Warn("update pod status", "pod", klogRef(pod), "err", err)
		}
	}()
}

func podScheduledCondition(pod *corev1.Pod) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == corev1.PodScheduled {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}
