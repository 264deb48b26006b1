package job

import (
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
)

// keyOf is the queue and expectations key of an object: namespace/name.
func keyOf(m *metav1.ObjectMeta) string { return m.Namespace + "/" + m.Name }

// podKey is the key of a pod in expectations: namespace/name.
func podKey(p *corev1.Pod) string { return p.Namespace + "/" + p.Name }

func (c *Controller) onAdd(obj any) {
	if j, ok := obj.(*batchv1.Job); ok {
		c.queue.Add(keyOf(&j.ObjectMeta))
	}
}

func (c *Controller) onUpdate(old, cur any) {
	o, ok := old.(*batchv1.Job)
	j, ok2 := cur.(*batchv1.Job)
	if !ok || !ok2 {
		return
	}
	if o.UID != j.UID {
		c.exp.Forget(keyOf(&j.ObjectMeta))
	}
	c.queue.Add(keyOf(&j.ObjectMeta))
}

func (c *Controller) onDelete(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	j, ok := obj.(*batchv1.Job)
	if !ok {
		return
	}
	key := keyOf(&j.ObjectMeta)
	c.exp.Forget(key)
	c.queue.Add(key)
}

// onPodAdd wakes the pod's Job, counting the pod as one of the creates it
// waits for.
func (c *Controller) onPodAdd(obj any) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if p.DeletionTimestamp != nil {
		c.onPodDelete(p)
		return
	}
	if j := c.resolve(p); j != nil {
		key := keyOf(&j.ObjectMeta)
		c.exp.CreationsObserved(key, 1)
		c.queue.Add(key)
		return
	}
	c.checkOrphan(p)
	c.wakeSelecting(p)
}

// onPodUpdate wakes the pod's Job; a pod given a deletion timestamp counts
// as deleted at once.
func (c *Controller) onPodUpdate(old, cur any) {
	o, ok := old.(*corev1.Pod)
	p, ok2 := cur.(*corev1.Pod)
	if !ok || !ok2 || (p.ResourceVersion != "" && p.ResourceVersion == o.ResourceVersion) {
		return
	}
	c.released.observe(p, false)
	if p.DeletionTimestamp != nil {
		c.onPodDelete(p)
		return
	}
	if j := c.resolve(o); j != nil && metav1.GetControllerOfNoCopy(p) == nil {
		c.queue.Add(keyOf(&j.ObjectMeta)) // released
	}
	if j := c.resolve(p); j != nil {
		c.queue.Add(keyOf(&j.ObjectMeta))
		return
	}
	c.checkOrphan(p)
	c.wakeSelecting(p)
}

// onPodGone handles a pod removed from the cache.
func (c *Controller) onPodGone(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if p, ok := obj.(*corev1.Pod); ok {
		c.released.observe(p, true)
		c.onPodDelete(p)
	}
}

// onPodDelete wakes the pod's Job and counts the deletion it may wait for.
func (c *Controller) onPodDelete(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	c.released.observe(p, false)
	if j := c.resolve(p); j != nil {
		key := keyOf(&j.ObjectMeta)
		c.exp.DeletionObserved(key, podKey(p))
		c.queue.Add(key)
		return
	}
	if p.DeletionTimestamp != nil {
		c.checkOrphan(p) // still there, perhaps held by the finalizer
	}
}

// resolve returns the Job controlling the pod, or nil if there is none in
// the cache with the owner reference's UID.
func (c *Controller) resolve(p *corev1.Pod) *batchv1.Job {
	ref := metav1.GetControllerOfNoCopy(p)
	if ref == nil || ref.Kind != "Job" {
		return nil
	}
	j, err := c.jobs.Jobs(p.Namespace).Get(ref.Name)
	if err != nil || j.UID != ref.UID {
		return nil
	}
	return j
}

// wakeSelecting queues the Jobs whose selector matches an orphan pod, so
// one of them may adopt it.
func (c *Controller) wakeSelecting(p *corev1.Pod) {
	if metav1.GetControllerOfNoCopy(p) != nil || !isActive(p) {
		return
	}
	jobs, err := c.jobs.Jobs(p.Namespace).List(labels.Everything())
	if err != nil {
		return
	}
	for _, j := range jobs {
		if sel, err := selectorOf(j); err == nil && sel.Matches(labels.Set(p.Labels)) {
			c.queue.Add(keyOf(&j.ObjectMeta))
		}
	}
}
