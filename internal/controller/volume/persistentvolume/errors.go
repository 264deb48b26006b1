package persistentvolume

import "errors"

// errMisbound means a claim the controller bound names a volume bound to
// another claim, which only a user's edit can cause; the claim is retried.
var errMisbound = errors.New("persistentvolume: claim bound to a volume of another claim")
