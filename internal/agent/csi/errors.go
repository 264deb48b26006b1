package csi

import "errors"

// Sentinel errors; check them with errors.Is.
var (
	// ErrDriverNotFound is a driver name no plugin registered on this
	// node. The kubelet's words are kept in the message, since pods show
	// it in their FailedMount events.
	ErrDriverNotFound = errors.New("not found in the list of registered CSI drivers")
	// ErrRejected is a plugin the watcher refused: wrong type, no name,
	// no supported version, or a name another plugin holds with a version
	// at least as high.
	ErrRejected = errors.New("csi: plugin rejected")
)
