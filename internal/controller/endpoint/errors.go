package endpoint

import "errors"

// errStale means the informer cache does not yet show the Endpoints the
// last sync of the service wrote; syncing from it would undo or repeat
// that write, so the sync is retried.
var errStale = errors.New("endpoint: informer cache is older than the last write")
