package daemonset

import "errors"

var (
	// errGone means the DaemonSet was deleted or replaced since the cache
	// saw it, so it may not adopt pods.
	errGone = errors.New("daemonset: controller is gone")
	// errRevisionCollision means a ControllerRevision of another template
	// already has the name of the current one; the collision count was
	// raised and the next sync picks a new name.
	errRevisionCollision = errors.New("daemonset: controller revision name collision")
)
