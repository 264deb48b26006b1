package deployment

import "errors"

var (
	// ErrUnknownStrategy means spec.strategy.type is neither RollingUpdate
	// nor Recreate.
	ErrUnknownStrategy = errors.New("deployment: unknown strategy type")
	// ErrHashCollision means a ReplicaSet with the new ReplicaSet's name
	// exists with another template; status.collisionCount was bumped and
	// the next sync tries another name.
	ErrHashCollision = errors.New("deployment: pod template hash collision")
)
