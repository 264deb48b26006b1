package persistentvolume

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

func untomb(obj any) any {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return tomb.Obj
	}
	return obj
}

func (c *Controller) onClaim(obj any) {
	if cl, ok := obj.(*corev1.PersistentVolumeClaim); ok {
		c.claimQueue.Add(claimKey(cl.Namespace, cl.Name))
	}
}

// onClaimDelete wakes the claim's volume, which is now Released: the one
// it names and the one provisioned for it.
func (c *Controller) onClaimDelete(obj any) {
	cl, ok := untomb(obj).(*corev1.PersistentVolumeClaim)
	if !ok {
		return
	}
	if cl.Spec.VolumeName != "" {
		c.volumeQueue.Add(cl.Spec.VolumeName)
	}
	c.volumeQueue.Add(provisionedName(cl))
}

// onVolume wakes the volume and the claim it names.
func (c *Controller) onVolume(obj any) {
	pv, ok := untomb(obj).(*corev1.PersistentVolume)
	if !ok {
		return
	}
	c.volumeQueue.Add(pv.Name)
	if ref := pv.Spec.ClaimRef; ref != nil {
		c.claimQueue.Add(claimKey(ref.Namespace, ref.Name))
	}
}

// onPod wakes the claims a pod uses: its scheduling starts the binding of
// WaitForFirstConsumer claims, its end releases the protection finalizer.
func (c *Controller) onPod(obj any) {
	pod, ok := untomb(obj).(*corev1.Pod)
	if !ok {
		return
	}
	for _, key := range claimKeysOf(pod) {
		c.claimQueue.Add(key)
	}
}

// podClaimKeys indexes a pod under the claims it uses.
func podClaimKeys(obj any) ([]string, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, nil
	}
	return claimKeysOf(pod), nil
}

// claimKeysOf returns the keys of the claims a pod's volumes use:
// persistentVolumeClaim volumes and the <pod>-<volume> claims of
// ephemeral volumes.
func claimKeysOf(pod *corev1.Pod) []string {
	var keys []string
	for i := range pod.Spec.Volumes {
		if name := claimNameOf(pod, &pod.Spec.Volumes[i]); name != "" {
			keys = append(keys, claimKey(pod.Namespace, name))
		}
	}
	return keys
}

func claimNameOf(pod *corev1.Pod, v *corev1.Volume) string {
	switch {
	case v.PersistentVolumeClaim != nil:
		return v.PersistentVolumeClaim.ClaimName
	case v.Ephemeral != nil:
		return pod.Name + "-" + v.Name
	}
	return ""
}

// podUsesClaim says the pod's volumes use the claim (an ephemeral one only
// when the pod owns it).
func podUsesClaim(pod *corev1.Pod, cl *corev1.PersistentVolumeClaim) bool {
	if pod.Namespace != cl.Namespace {
		return false
	}
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		if claimNameOf(pod, v) != cl.Name {
			continue
		}
		if v.Ephemeral == nil || metav1.IsControlledBy(cl, pod) {
			return true
		}
	}
	return false
}
