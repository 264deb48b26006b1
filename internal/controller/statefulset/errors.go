package statefulset

import "errors"

var (
	// errGone means the StatefulSet was deleted or replaced since the cache
	// saw it, so it may not adopt pods or revisions.
	errGone = errors.New("statefulset: controller is gone")
	// errRevisionCollision means every name tried for the current
	// template's ControllerRevision belongs to a revision of another
	// template.
	errRevisionCollision = errors.New("statefulset: controller revision name collision")
	// errClaimDeleting means a pod's PersistentVolumeClaim is being deleted;
	// the pod is created once the claim is gone and made anew.
	errClaimDeleting = errors.New("statefulset: persistent volume claim is being deleted")
)
