package job

import "errors"

// errNoSelector means the Job has no usable selector; its pods cannot be
// found, so it is left alone.
var errNoSelector = errors.New("job: invalid or empty selector")
