package autoscaling

import (
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff/skiff/internal/registry"
)

// Placeholders: each is replaced by a real strategy or table in its own file.
var (
	hpaV1Strategy = registry.Strategy{}
	hpaV1Table    *registry.Table
	hpaV1ToV2     func(runtime.Object) (runtime.Object, error)
	hpaV2Strategy = registry.Strategy{}
	hpaV2Table    *registry.Table
	hpaV2ToV1     func(runtime.Object) (runtime.Object, error)
)
