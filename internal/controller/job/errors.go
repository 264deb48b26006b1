package job

import "errors"

// errNoSelector means the Job has no usable selector; its pods cannot be
// found, so it is left alone.
var errNoSelector = errors.New("job: invalid or empty selector")

// errGone means the Job was deleted or replaced since the cache saw it,
// so it may not adopt pods.
var errGone = errors.New("job: job is gone")
