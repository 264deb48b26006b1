package simulate

import "errors"

var (
	// ErrConfig marks an invalid Config or missing dependency.
	ErrConfig = errors.New("simulate: invalid config")
	// ErrNoPodIP means a node's pod range has no free address.
	ErrNoPodIP = errors.New("simulate: no free pod IP")
)
