package prober

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// maxProbeAttempts is how often a probe that errors (as opposed to fails)
// is tried before its error is reported.
const maxProbeAttempts = 3

// maxOutputLength bounds what a probe keeps of a response body or of a
// command's output.
const maxOutputLength = 10 << 10

// result is the outcome of one probe attempt.
type result int

const (
	resultUnknown result = iota
	resultSuccess
	resultWarning
	resultFailure
)

func (r result) String() string {
	switch r {
	case resultSuccess:
		return "success"
	case resultWarning:
		return "warning"
	case resultFailure:
		return "failure"
	}
	return "unknown"
}

// errCanceled reports a probe cut short because its worker was stopped; its
// result is thrown away without an event.
var errCanceled = errors.New("probe canceled")

// target is what a probe runs against.
type target struct {
	pod         *corev1.Pod
	container   *corev1.Container
	containerID string
	podIP       string
}

// prober runs probes and records their events.
type prober struct {
	exec      Execer
	rec       Recorder
	log       *slog.Logger
	transport *http.Transport
	// execSlack is added to an exec probe's timeout for the context of the
	// ExecSync call, so that the runtime reports the timeout itself.
	execSlack time.Duration
}

// probe runs spec (a probe of kind k) against t once, retrying errors, and
// records kubelet's event for a failure, an error or a warning. It returns
// whether the probe succeeded; a non-nil error means the result must be
// thrown away.
func (p *prober) probe(ctx context.Context, k Kind, spec *corev1.Probe, t target, timeout time.Duration) (bool, error) {
	res, output, err := p.runWithRetries(ctx, spec, t, timeout)
	if ctx.Err() != nil {
		return false, errCanceled
	}
	if err != nil {
		p.log.Debug("probe errored", "probe", k.String(), "pod", podDesc(t.pod), "container", t.container.Name, "result", res.String(), "err", err)
		p.event(t.pod, ReasonUnhealthy, fmt.Sprintf("%s probe errored and resulted in %s state: %s", k, res, err))
		return false, err
	}
	switch res {
	case resultSuccess:
		return true, nil
	case resultWarning:
		p.event(t.pod, ReasonProbeWarning, fmt.Sprintf("%s probe warning: %s", k, output))
		return true, nil
	case resultFailure:
		p.log.Debug("probe failed", "probe", k.String(), "pod", podDesc(t.pod), "container", t.container.Name, "output", output)
		p.event(t.pod, ReasonUnhealthy, fmt.Sprintf("%s probe failed: %s", k, output))
	}
	return false, nil
}

func (p *prober) event(pod *corev1.Pod, reason, msg string) {
	if p.rec != nil {
		p.rec.Event(pod, corev1.EventTypeWarning, reason, msg)
	}
}

// runWithRetries runs the probe until it returns without error, at most
// maxProbeAttempts times.
func (p *prober) runWithRetries(ctx context.Context, spec *corev1.Probe, t target, timeout time.Duration) (result, string, error) {
	var (
		res    result
		output string
		err    error
	)
	for i := 0; i < maxProbeAttempts && ctx.Err() == nil; i++ {
		res, output, err = p.run(ctx, spec, t, timeout)
		if err == nil {
			break
		}
	}
	return res, output, err
}

// run runs one attempt of the probe's handler.
func (p *prober) run(ctx context.Context, spec *corev1.Probe, t target, timeout time.Duration) (result, string, error) {
	switch {
	case spec.Exec != nil:
		cmd := expandCommand(spec.Exec.Command, t.container.Env)
		return p.execProbe(ctx, t.containerID, cmd, timeout)
	case spec.HTTPGet != nil:
		req, err := newHTTPGetRequest(ctx, spec.HTTPGet, t.container, t.podIP, "probe")
		if err != nil {
			return resultUnknown, "", err
		}
		return httpProbe(p.transport, req, timeout)
	case spec.TCPSocket != nil:
		port, err := resolvePort(spec.TCPSocket.Port, t.container)
		if err != nil {
			return resultUnknown, "", err
		}
		host := spec.TCPSocket.Host
		if host == "" {
			host = t.podIP
		}
		return tcpProbe(ctx, host, port, timeout)
	case spec.GRPC != nil:
		service := ""
		if spec.GRPC.Service != nil {
			service = *spec.GRPC.Service
		}
		return grpcProbe(ctx, t.podIP, service, int(spec.GRPC.Port), timeout)
	}
	return resultUnknown, "", fmt.Errorf("missing probe handler for %s:%s", podDesc(t.pod), t.container.Name)
}

// resolvePort turns a probe's port into a number: an integer, a named port
// of the container, or a number written as a string.
func resolvePort(param intstr.IntOrString, c *corev1.Container) (int, error) {
	port := -1
	switch param.Type {
	case intstr.Int:
		port = param.IntValue()
	case intstr.String:
		var err error
		if port, err = portByName(c, param.StrVal); err != nil {
			if port, err = strconv.Atoi(param.StrVal); err != nil {
				return port, err
			}
		}
	default:
		return port, fmt.Errorf("intOrString had no kind: %+v", param)
	}
	if port > 0 && port < 65536 {
		return port, nil
	}
	return port, fmt.Errorf("invalid port number: %v", port)
}

func portByName(c *corev1.Container, name string) (int, error) {
	for _, p := range c.Ports {
		if p.Name == name {
			return int(p.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("port %s not found", name)
}
