package agent

import (
	"context"
	"fmt"
	"strings"

	"github.com/skiff/skiff/internal/runtime"
	"github.com/skiff/skiff/internal/runtime/pause"
)

func pauseRef() string { return pause.Ref }

// prepareImages imports the pause image and the tarballs of the image
// directories into the runtime.
func (a *Agent) prepareImages(ctx context.Context, ctd *runtime.Containerd) error {
	address := strings.TrimPrefix(a.cfg.ContainerRuntimeEndpoint, "unix://")
	if ctd != nil {
		address = ctd.Address()
	}
	if err := pause.Ensure(ctx, a.rt, address); err != nil {
		return fmt.Errorf("agent: pause image: %w", err)
	}
	for _, dir := range a.cfg.ImageDirs {
		if err := runtime.ImportDir(ctx, address, dir); err != nil {
			a.log.Warn("import images", "dir", dir, "err", err)
		}
	}
	return nil
}
