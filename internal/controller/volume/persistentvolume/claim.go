package persistentvolume

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff/skiff/internal/controller/volume/pvmatch"
)

// syncClaim keeps a claim's protection finalizer and moves its binding on.
func (c *Controller) syncClaim(ctx context.Context, key string) error {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	claim, err := c.claims.PersistentVolumeClaims(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	claim, err = c.protectClaim(ctx, claim)
	if err != nil || claim == nil {
		return err
	}
	if claim.Annotations[AnnBindCompleted] == "" {
		return c.syncUnboundClaim(ctx, claim)
	}
	return c.syncBoundClaim(ctx, claim)
}

// syncUnboundClaim binds a Pending claim to the best volume, provisions
// one, or says what it waits for. A claim being deleted is left alone.
func (c *Controller) syncUnboundClaim(ctx context.Context, claim *corev1.PersistentVolumeClaim) error {
	if claim.DeletionTimestamp != nil {
		return nil
	}
	if claim.Spec.VolumeName != "" {
		return c.syncPreboundClaim(ctx, claim)
	}
	class, err := c.classOf(claim)
	if err != nil {
		return err
	}
	delay := class != nil && class.VolumeBindingMode != nil && *class.VolumeBindingMode == storagev1.VolumeBindingWaitForFirstConsumer
	var node *corev1.Node
	var unscheduled []string
	if delay {
		if node, unscheduled, err = c.consumerNode(claim); err != nil {
			return err
		}
	}
	opts := pvmatch.Options{DelayBinding: delay}
	if node != nil {
		opts.NodeLabels = nonNil(node.Labels)
	}
	if pv := pvmatch.Find(claim, c.allVolumes(), opts); pv != nil {
		return c.bind(ctx, pv, claim)
	}
	if assigned, err := c.assignDefaultClass(ctx, claim); err != nil || assigned {
		return err
	}
	switch {
	case delay && node == nil:
		c.waitForConsumer(claim, unscheduled)
	case pvmatch.ClaimClass(claim) != "":
		return c.provision(ctx, claim, class, node)
	default:
		c.recorder.Event(claim, corev1.EventTypeNormal, reasonFailedBinding, "no persistent volumes available for this claim and no storage class is set")
	}
	_, err = c.setClaimPhase(ctx, claim, corev1.ClaimPending, nil)
	return err
}

// waitForConsumer reports a WaitForFirstConsumer claim without a
// scheduled consumer: which pods wait for scheduling, if any do.
func (c *Controller) waitForConsumer(claim *corev1.PersistentVolumeClaim, unscheduled []string) {
	switch len(unscheduled) {
	case 0:
		c.recorder.Event(claim, corev1.EventTypeNormal, reasonWaitForFirstConsumer, "waiting for first consumer to be created before binding")
	case 1:
		c.recorder.Eventf(claim, corev1.EventTypeNormal, reasonWaitForPodScheduled, "waiting for pod %s to be scheduled", unscheduled[0])
	default:
		c.recorder.Eventf(claim, corev1.EventTypeNormal, reasonWaitForPodScheduled, "waiting for pods %s to be scheduled", strings.Join(unscheduled, ","))
	}
}

// syncPreboundClaim binds a claim to the volume its spec.volumeName names,
// if that volume exists, fits and is not someone else's.
func (c *Controller) syncPreboundClaim(ctx context.Context, claim *corev1.PersistentVolumeClaim) error {
	pv, err := c.volumes.Get(claim.Spec.VolumeName)
	if apierrors.IsNotFound(err) {
		_, err = c.setClaimPhase(ctx, claim, corev1.ClaimPending, nil)
		return err
	}
	if err != nil {
		return err
	}
	switch {
	case pv.Spec.ClaimRef == nil:
		if err := pvmatch.Satisfies(pv, claim); err != nil {
			c.recorder.Eventf(claim, corev1.EventTypeWarning, reasonVolumeMismatch, "Cannot bind to requested volume %q: %v", pv.Name, err)
			_, err = c.setClaimPhase(ctx, claim, corev1.ClaimPending, nil)
			return err
		}
		return c.bind(ctx, pv, claim)
	case pvmatch.IsBoundTo(pv, claim):
		return c.bind(ctx, pv, claim)
	}
	c.recorder.Eventf(claim, corev1.EventTypeWarning, reasonFailedBinding, "volume %q already bound to a different claim.", pv.Name)
	if claim.Annotations[AnnBoundByController] != "" {
		return fmt.Errorf("%w: claim %s/%s names volume %s, which is bound to %s/%s", errMisbound,
			claim.Namespace, claim.Name, pv.Name, pv.Spec.ClaimRef.Namespace, pv.Spec.ClaimRef.Name)
	}
	_, err = c.setClaimPhase(ctx, claim, corev1.ClaimPending, nil)
	return err
}

// syncBoundClaim keeps a bound claim's status, notices a lost or misbound
// volume, and grows the volume when the claim asks for more.
func (c *Controller) syncBoundClaim(ctx context.Context, claim *corev1.PersistentVolumeClaim) error {
	if claim.Spec.VolumeName == "" {
		_, err := c.setClaimPhaseEvent(ctx, claim, corev1.ClaimLost, nil, reasonClaimLost,
			"Bound claim has lost reference to PersistentVolume. Data on the volume is lost!")
		return err
	}
	pv, err := c.volumes.Get(claim.Spec.VolumeName)
	if apierrors.IsNotFound(err) {
		_, err = c.setClaimPhaseEvent(ctx, claim, corev1.ClaimLost, nil, reasonClaimLost,
			"Bound claim has lost its PersistentVolume. Data on the volume is lost!")
		return err
	}
	if err != nil {
		return err
	}
	ref := pv.Spec.ClaimRef
	if ref != nil && (ref.Name != claim.Name || ref.Namespace != claim.Namespace || ref.UID != claim.UID) {
		_, err = c.setClaimPhaseEvent(ctx, claim, corev1.ClaimLost, nil, reasonClaimMisbound,
			"Two claims are bound to the same volume, this one is bound incorrectly")
		return err
	}
	if ref == nil || claim.Status.Phase != corev1.ClaimBound || pv.Status.Phase != corev1.VolumeBound {
		return c.bind(ctx, pv, claim)
	}
	return c.expand(ctx, claim, pv)
}

// classOf returns the claim's StorageClass; nil when it names none or the
// class does not exist (binding is then Immediate, as upstream).
func (c *Controller) classOf(claim *corev1.PersistentVolumeClaim) (*storagev1.StorageClass, error) {
	name := pvmatch.ClaimClass(claim)
	if name == "" {
		return nil, nil
	}
	class, err := c.classes.Get(name)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return class, err
}

// consumerNode finds the node a WaitForFirstConsumer claim binds on: the
// selected-node annotation, else the node of the first scheduled pod
// using it. Without one it returns the pods still waiting to schedule.
func (c *Controller) consumerNode(claim *corev1.PersistentVolumeClaim) (*corev1.Node, []string, error) {
	name := claim.Annotations[AnnSelectedNode]
	var unscheduled []string
	if name == "" {
		pods, err := c.podsUsing(claim)
		if err != nil {
			return nil, nil, err
		}
		for _, pod := range pods {
			switch {
			case podTerminated(pod):
			case pod.Spec.NodeName == "":
				unscheduled = append(unscheduled, pod.Name)
			case name == "":
				name = pod.Spec.NodeName
			}
		}
	}
	if name == "" {
		return nil, unscheduled, nil
	}
	node, err := c.nodes.Get(name)
	if err != nil {
		return nil, nil, fmt.Errorf("node %q of the claim's consumer: %w", name, err)
	}
	return node, nil, nil
}

// podsUsing returns the pods in the claim's namespace whose volumes use
// it, sorted by name.
func (c *Controller) podsUsing(claim *corev1.PersistentVolumeClaim) ([]*corev1.Pod, error) {
	var out []*corev1.Pod
	if c.podIndex != nil {
		objs, err := c.podIndex.ByIndex(podClaimIndex, claimKey(claim.Namespace, claim.Name))
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if pod, ok := o.(*corev1.Pod); ok && podUsesClaim(pod, claim) {
				out = append(out, pod)
			}
		}
	} else {
		pods, err := c.pods.Pods(claim.Namespace).List(labels.Everything())
		if err != nil {
			return nil, err
		}
		for _, pod := range pods {
			if podUsesClaim(pod, claim) {
				out = append(out, pod)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// podTerminated says the pod no longer runs and never will again: it
// finished, or it was deleted with no grace left (force-deleted, or the
// node agent is done with it).
func podTerminated(pod *corev1.Pod) bool {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return true
	}
	return pod.DeletionTimestamp != nil && pod.DeletionGracePeriodSeconds != nil && *pod.DeletionGracePeriodSeconds == 0
}

// assignDefaultClass gives a claim without a class the default class, as
// upstream's retroactive default StorageClass assignment; it reports
// whether it did.
func (c *Controller) assignDefaultClass(ctx context.Context, claim *corev1.PersistentVolumeClaim) (bool, error) {
	if pvmatch.HasClass(claim) {
		return false, nil
	}
	def, err := c.defaultClass()
	if def == nil || err != nil {
		return false, err
	}
	next := claim.DeepCopy()
	next.Spec.StorageClassName = &def.Name
	if _, err := c.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Update(ctx, next, metav1.UpdateOptions{}); err != nil {
		return false, fmt.Errorf("assigning default class %q to claim %s/%s: %w", def.Name, claim.Namespace, claim.Name, err)
	}
	return true, nil
}

// defaultClass returns the default StorageClass, the newest when several
// are marked, or nil.
func (c *Controller) defaultClass() (*storagev1.StorageClass, error) {
	classes, err := c.classes.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	var def *storagev1.StorageClass
	for _, class := range classes {
		if class.Annotations[AnnDefaultClass] != "true" && class.Annotations[annBetaDefaultClass] != "true" {
			continue
		}
		if def == nil || class.CreationTimestamp.After(def.CreationTimestamp.Time) ||
			(class.CreationTimestamp.Equal(&def.CreationTimestamp) && class.Name < def.Name) {
			def = class
		}
	}
	return def, nil
}

// allVolumes lists the volumes in the cache.
func (c *Controller) allVolumes() []*corev1.PersistentVolume {
	pvs, _ := c.volumes.List(labels.Everything())
	return pvs
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
