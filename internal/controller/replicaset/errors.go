package replicaset

import "errors"

var (
	// errGone means the ReplicaSet was deleted or replaced since the cache
	// saw it, so it may not adopt pods.
	errGone = errors.New("replicaset: controller is gone")
	// errNoLabels means the pod template has no labels: a pod made from it
	// could never be selected.
	errNoLabels = errors.New("replicaset: pod template has no labels")
	// errNoTemplate means a ReplicationController has no pod template.
	errNoTemplate = errors.New("replicaset: no pod template")
)
