package dns

import "errors"

var (
	// ErrConfig reports an unusable Config.
	ErrConfig = errors.New("dns: invalid config")
	// ErrResolvConf reports a resolv.conf that could not be read.
	ErrResolvConf = errors.New("dns: reading resolv.conf")
	// ErrListen reports that the address could not be bound.
	ErrListen = errors.New("dns: listen")
	// ErrRun reports a second call to Run, or Run after Close.
	ErrRun = errors.New("dns: server already run or closed")
	// errNoUpstream is what forwarding fails with when every upstream
	// failed or none is configured.
	errNoUpstream = errors.New("dns: no upstream answered")
)

// errMismatch reports an upstream reply to a different question.
var errMismatch = errors.New("dns: upstream answered another question")
