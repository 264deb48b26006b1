package plugins

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// hostPort adds a container port claiming a host port.
func hostPort(proto corev1.Protocol, ip string, port int32) podOpt {
	return func(p *corev1.Pod) {
		c := &p.Spec.Containers[0]
		c.Ports = append(c.Ports, corev1.ContainerPort{ContainerPort: port, HostPort: port, HostIP: ip, Protocol: proto})
	}
}

func TestNodePortsFilter(t *testing.T) {
	taken := fail(framework.Unschedulable, "node(s) didn't have free ports for the requested pod ports")
	cases := []struct {
		name     string
		existing []podOpt
		pod      *corev1.Pod
		want     filterResult
	}{
		{"no ports", []podOpt{hostPort("TCP", "", 80)}, makePod("p"), pass},
		{"free port", []podOpt{hostPort("TCP", "", 80)}, makePod("p", hostPort("TCP", "", 81)), pass},
		{"same port", []podOpt{hostPort("TCP", "", 80)}, makePod("p", hostPort("TCP", "", 80)), taken},
		{"default protocol is TCP", []podOpt{hostPort("TCP", "", 80)}, makePod("p", hostPort("", "", 80)), taken},
		{"other protocol", []podOpt{hostPort("TCP", "", 80)}, makePod("p", hostPort("UDP", "", 80)), pass},
		{"distinct IPs", []podOpt{hostPort("TCP", "10.0.0.1", 80)}, makePod("p", hostPort("TCP", "10.0.0.2", 80)), pass},
		{"same IP", []podOpt{hostPort("TCP", "10.0.0.1", 80)}, makePod("p", hostPort("TCP", "10.0.0.1", 80)), taken},
		{"wildcard wanted, one IP used", []podOpt{hostPort("TCP", "10.0.0.1", 80)}, makePod("p", hostPort("TCP", "0.0.0.0", 80)), taken},
		{"one IP wanted, wildcard used", []podOpt{hostPort("TCP", "", 80)}, makePod("p", hostPort("TCP", "10.0.0.1", 80)), taken},
		{"any of several ports", []podOpt{hostPort("TCP", "", 443)}, makePod("p", hostPort("TCP", "", 80), hostPort("TCP", "", 443)), taken},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			existing := makePod("old", append(c.existing, on("n"))...)
			got := runFilter(t, &nodePorts{}, c.pod, cluster(nodes(makeNode("n")), existing))
			checkFilter(t, got, map[string]filterResult{"n": c.want})
		})
	}
}
