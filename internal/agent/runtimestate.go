package agent

import (
	"context"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/types"
	criv1 "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// runtimePod is what the runtime has for one pod: its sandboxes and
// containers, newest first.
type runtimePod struct {
	UID        types.UID
	Name       string
	Namespace  string
	Sandboxes  []*criv1.PodSandboxStatus
	Containers []*criv1.ContainerStatus
}

// sandbox returns the newest sandbox, or nil.
func (p *runtimePod) sandbox() *criv1.PodSandboxStatus {
	if p == nil || len(p.Sandboxes) == 0 {
		return nil
	}
	return p.Sandboxes[0]
}

// ready says the newest sandbox is running.
func (p *runtimePod) ready() bool {
	s := p.sandbox()
	return s != nil && s.State == criv1.PodSandboxState_SANDBOX_READY
}

// ip returns the newest sandbox's pod IP.
func (p *runtimePod) ip() string {
	if s := p.sandbox(); s != nil && s.Network != nil {
		return s.Network.Ip
	}
	return ""
}

// latest returns the newest container named name in the newest sandbox,
// and the one before it (for lastState), if any.
func (p *runtimePod) latest(name string) (cur, prev *criv1.ContainerStatus) {
	if p == nil {
		return nil, nil
	}
	for _, c := range p.Containers {
		if c.Metadata.GetName() != name {
			continue
		}
		if cur == nil {
			cur = c
		} else if prev == nil {
			prev = c
			break
		}
	}
	return cur, prev
}

// running lists the running containers.
func (p *runtimePod) running() []*criv1.ContainerStatus {
	var out []*criv1.ContainerStatus
	if p == nil {
		return out
	}
	for _, c := range p.Containers {
		if c.State == criv1.ContainerState_CONTAINER_RUNNING {
			out = append(out, c)
		}
	}
	return out
}

// podState reads everything the runtime has for pod uid.
func (a *Agent) podState(ctx context.Context, uid types.UID) (*runtimePod, error) {
	sbs, err := a.rt.Runtime.ListPodSandbox(ctx, &criv1.ListPodSandboxRequest{
		Filter: &criv1.PodSandboxFilter{LabelSelector: map[string]string{labelPodUID: string(uid)}},
	})
	if err != nil {
		return nil, fmt.Errorf("list sandboxes: %w", err)
	}
	p := &runtimePod{UID: uid}
	for _, sb := range sbs.Items {
		st, err := a.rt.Runtime.PodSandboxStatus(ctx, &criv1.PodSandboxStatusRequest{PodSandboxId: sb.Id})
		if err != nil {
			continue // removed meanwhile
		}
		p.Sandboxes = append(p.Sandboxes, st.Status)
		p.Name, p.Namespace = sb.Metadata.Name, sb.Metadata.Namespace
	}
	sort.Slice(p.Sandboxes, func(i, j int) bool { return p.Sandboxes[i].CreatedAt > p.Sandboxes[j].CreatedAt })
	cs, err := a.rt.Runtime.ListContainers(ctx, &criv1.ListContainersRequest{
		Filter: &criv1.ContainerFilter{LabelSelector: map[string]string{labelPodUID: string(uid)}},
	})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	for _, c := range cs.Containers {
		if sb := p.sandbox(); sb == nil || c.PodSandboxId != sb.Id {
			continue // containers of older sandboxes are gone with them
		}
		st, err := a.rt.Runtime.ContainerStatus(ctx, &criv1.ContainerStatusRequest{ContainerId: c.Id})
		if err != nil {
			continue
		}
		p.Containers = append(p.Containers, st.Status)
	}
	sort.Slice(p.Containers, func(i, j int) bool { return p.Containers[i].CreatedAt > p.Containers[j].CreatedAt })
	return p, nil
}
