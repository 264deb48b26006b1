package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"

	corev1 "k8s.io/api/core/v1"
)

// Labels and annotations on sandboxes and containers, as the kubelet sets
// them: they let the agent find what it created after a restart.
const (
	labelPodName       = "io.kubernetes.pod.name"
	labelPodNamespace  = "io.kubernetes.pod.namespace"
	labelPodUID        = "io.kubernetes.pod.uid"
	labelContainerName = "io.kubernetes.container.name"

	annoContainerHash        = "io.kubernetes.container.hash"
	annoRestartCount         = "io.kubernetes.container.restartCount"
	annoTerminationPath      = "io.kubernetes.container.terminationMessagePath"
	annoTerminationPolicy    = "io.kubernetes.container.terminationMessagePolicy"
	annoPreStop              = "io.kubernetes.container.preStopHandler"
	annoTerminationGrace     = "io.kubernetes.pod.terminationGracePeriod"
	annoContainerPorts       = "io.kubernetes.container.ports"
	annoPodDeletionGraceSecs = "io.kubernetes.pod.deletionGracePeriod"
)

// containerHash fingerprints a container's spec; a change means the
// container must be recreated (only the image may change in a pod).
func containerHash(c *corev1.Container) string {
	b, _ := json.Marshal(c)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func restartCountOf(annotations map[string]string) int32 {
	n, _ := strconv.Atoi(annotations[annoRestartCount])
	return int32(n)
}
