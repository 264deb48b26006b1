package endpointslice

import "errors"

var (
	// errStale means the informer cache does not yet show the slices the
	// last sync of the service wrote or deleted; syncing from it would
	// repeat or undo those writes, so the sync is retried.
	errStale = errors.New("endpointslice: informer cache is older than the last write")
	// errNodeNotFound means pods of the service run on nodes the cache
	// does not know; they are left out until it does.
	errNodeNotFound = errors.New("endpointslice: node of pods not found")
)
