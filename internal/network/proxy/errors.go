package proxy

import "errors"

var (
	// ErrConfig reports an unusable Config.
	ErrConfig = errors.New("proxy: invalid config")
	// ErrNftables reports a failed nftables transaction; the kernel
	// applied none of it.
	ErrNftables = errors.New("proxy: nftables")
)
