package agent

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"time"

	criv1 "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Container log rotation, as the kubelet's defaults: a log over 10 MiB is
// renamed and the runtime reopens it; 5 files are kept per container.
const (
	logMaxSize  = 10 << 20
	logMaxFiles = 5
)

// rotateLogs checks running containers' logs every 10 seconds.
func (a *Agent) rotateLogs(ctx context.Context) {
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		resp, err := a.rt.Runtime.ListContainers(ctx, &criv1.ListContainersRequest{
			Filter: &criv1.ContainerFilter{State: &criv1.ContainerStateValue{State: criv1.ContainerState_CONTAINER_RUNNING}},
		})
		if err != nil {
			continue
		}
		for _, c := range resp.Containers {
			a.rotateLog(ctx, c.Id)
		}
	}
}

func (a *Agent) rotateLog(ctx context.Context, id string) {
	st, err := a.rt.Runtime.ContainerStatus(ctx, &criv1.ContainerStatusRequest{ContainerId: id})
	if err != nil || st.Status.LogPath == "" {
		return
	}
	path := st.Status.LogPath
	fi, err := os.Stat(path)
	if err != nil || fi.Size() < logMaxSize {
		return
	}
	rotated := path + "." + time.Now().UTC().Format("20060102-150405.000000")
	if err := os.Rename(path, rotated); err != nil {
		return
	}
	if _, err := a.rt.Runtime.ReopenContainerLog(ctx, &criv1.ReopenContainerLogRequest{ContainerId: id}); err != nil {
		_ = os.Rename(rotated, path) // keep logging to the old file
		return
	}
	old, _ := filepath.Glob(path + ".*")
	sort.Strings(old)
	for len(old) > logMaxFiles-1 {
		_ = os.Remove(old[0])
		old = old[1:]
	}
}
