package agent

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	criv1 "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// podManager knows the pods this node should run: those the API binds to
// it, and its static pods.
type podManager struct {
	a        *Agent
	informer cache.SharedIndexInformer
	byUID    cache.Indexer

	mu     sync.RWMutex
	static map[types.UID]*corev1.Pod
}

const uidIndex = "uid"

func newPodManager(a *Agent) *podManager {
	factory := informers.NewSharedInformerFactoryWithOptions(a.client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", a.cfg.NodeName).String()
	}))
	inf := factory.Core().V1().Pods().Informer()
	_ = inf.AddIndexers(cache.Indexers{uidIndex: func(obj interface{}) ([]string, error) {
		return []string{string(obj.(*corev1.Pod).UID)}, nil
	}})
	return &podManager{a: a, informer: inf, byUID: inf.GetIndexer(), static: map[types.UID]*corev1.Pod{}}
}

// get returns the pod with uid: a static pod, or one from the API. Mirror
// pods (the API's copies of static pods) are not run themselves.
func (m *podManager) get(uid types.UID) *corev1.Pod {
	m.mu.RLock()
	p := m.static[uid]
	m.mu.RUnlock()
	if p != nil {
		return p.DeepCopy()
	}
	objs, err := m.byUID.ByIndex(uidIndex, string(uid))
	if err != nil || len(objs) == 0 {
		return nil
	}
	pod := objs[0].(*corev1.Pod)
	if isMirror(pod) {
		return nil
	}
	return pod
}

// runPods runs the pod workers, the runtime watcher and the housekeeping
// until ctx ends.
func (a *Agent) runPods(ctx context.Context) error {
	m := a.pods
	_, _ = m.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj interface{}) { a.workers.kick(ctx, obj.(*corev1.Pod).UID) },
		UpdateFunc: func(old, obj interface{}) {
			// The agent's own status writes come back as updates; only
			// changes of what it runs call for a sync.
			if specChanged(old.(*corev1.Pod), obj.(*corev1.Pod)) {
				a.workers.kick(ctx, obj.(*corev1.Pod).UID)
			}
		},
		DeleteFunc: func(obj interface{}) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if p, ok := obj.(*corev1.Pod); ok {
				a.workers.kick(ctx, p.UID)
			}
		},
	})
	go m.informer.Run(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), m.informer.HasSynced) {
		return nil
	}
	a.adoptRuntimePods(ctx)
	go a.watchProbes(ctx)
	go a.runStaticPods(ctx)
	go a.relist(ctx)
	go a.refreshVolumes(ctx)
	go a.rotateLogs(ctx)
	<-ctx.Done()
	a.workers.wait()
	a.probes.Stop()
	return nil
}

// adoptRuntimePods starts a worker for every pod the runtime has: those
// the API still binds here are adopted as they run, the others (deleted
// while the agent was down) are stopped and removed.
func (a *Agent) adoptRuntimePods(ctx context.Context) {
	resp, err := a.rt.Runtime.ListPodSandbox(ctx, &criv1.ListPodSandboxRequest{})
	if err != nil {
		a.log.Warn("list sandboxes at start", "err", err)
		return
	}
	for _, sb := range resp.Items {
		if uid := sb.Labels[labelPodUID]; uid != "" {
			a.workers.kick(ctx, types.UID(uid))
		}
	}
}

// relist polls the runtime each second and syncs pods whose containers
// changed state (the kubelet's PLEG): a crash is noticed within a second.
func (a *Agent) relist(ctx context.Context) {
	last := map[string]criv1.ContainerState{}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		resp, err := a.rt.Runtime.ListContainers(ctx, &criv1.ListContainersRequest{})
		if err != nil {
			continue
		}
		now := make(map[string]criv1.ContainerState, len(resp.Containers))
		for _, c := range resp.Containers {
			now[c.Id] = c.State
			if old, ok := last[c.Id]; !ok || old != c.State {
				a.workers.kick(ctx, types.UID(c.Labels[labelPodUID]))
			}
		}
		last = now
	}
}

// refreshVolumes rewrites configMap, secret and downward API volumes of
// running pods, so updates reach them within a minute, and enforces
// emptyDir size limits.
func (a *Agent) refreshVolumes(ctx context.Context) {
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, obj := range a.pods.byUID.List() {
			pod := obj.(*corev1.Pod)
			if pod.DeletionTimestamp != nil || isTerminal(pod) || isMirror(pod) {
				continue
			}
			if _, err := a.volumes.Refresh(ctx, pod); err != nil {
				a.log.Debug("refresh volumes", "pod", pod.Namespace+"/"+pod.Name, "err", err)
			}
			a.checkEmptyDirLimits(ctx, pod)
		}
	}
}

// specChanged says an update changed more than the pod's status.
func specChanged(old, cur *corev1.Pod) bool {
	return old.Generation != cur.Generation || !equality.Semantic.DeepEqual(old.Spec, cur.Spec) ||
		!equality.Semantic.DeepEqual(old.ObjectMeta.Labels, cur.ObjectMeta.Labels) ||
		!equality.Semantic.DeepEqual(old.ObjectMeta.Annotations, cur.ObjectMeta.Annotations) ||
		old.DeletionTimestamp != cur.DeletionTimestamp || old.Status.Phase != cur.Status.Phase
}
