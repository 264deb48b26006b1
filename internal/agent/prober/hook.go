package prober

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// hookSecond is how long a second of a sleep hook lasts; tests shorten it.
var hookSecond = time.Second

// hookTransport is the transport of httpGet hooks.
var hookTransport = sync.OnceValue(newTransport)

// RunHook runs a postStart or preStop handler h of container c (running as
// containerID) of pod, as kubelet does, until it finishes or ctx ends:
//   - exec runs the command with no timeout of its own; a non-zero exit
//     code fails;
//   - httpGet sends a GET (host defaulting to the pod's IP from its status,
//     User-Agent kube-lifecycle/<version>) and fails only if no response
//     comes; an HTTPS request answered in plain HTTP is retried over HTTP;
//   - sleep waits the seconds, failing if ctx ends first.
//
// On failure it returns kubelet's message for the FailedPostStartHook or
// FailedPreStopHook event, and the error.
func RunHook(ctx context.Context, exec Execer, pod *corev1.Pod, c *corev1.Container, containerID string, h *corev1.LifecycleHandler) (string, error) {
	switch {
	case h == nil:
		err := errors.New("invalid handler: <nil>")
		return "Cannot run handler: " + err.Error(), err
	case h.Exec != nil:
		out, err := runInContainer(ctx, exec, containerID, h.Exec.Command, 0)
		if err != nil {
			return fmt.Sprintf("Exec lifecycle hook (%v) for Container %q in Pod %q failed - error: %v, message: %q",
				h.Exec.Command, c.Name, podDesc(pod), err, string(out)), err
		}
		return "", nil
	case h.HTTPGet != nil:
		if err := runHTTPHook(ctx, pod, c, h.HTTPGet); err != nil {
			return fmt.Sprintf("HTTP lifecycle hook (%s) for Container %q in Pod %q failed - error: %v",
				h.HTTPGet.Path, c.Name, podDesc(pod), err), err
		}
		return "", nil
	case h.Sleep != nil:
		if err := runSleepHook(ctx, h.Sleep.Seconds); err != nil {
			return fmt.Sprintf("Sleep lifecycle hook (%d) for Container %q in Pod %q failed - error: %v",
				h.Sleep.Seconds, c.Name, podDesc(pod), err), err
		}
		return "", nil
	}
	err := fmt.Errorf("invalid handler: %v", h)
	return fmt.Sprintf("Cannot run handler: %v", err), err
}

func runSleepHook(ctx context.Context, seconds int64) error {
	t := time.NewTimer(time.Duration(seconds) * hookSecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return errors.New("container terminated before sleep hook finished")
	case <-t.C:
		return nil
	}
}

func runHTTPHook(ctx context.Context, pod *corev1.Pod, c *corev1.Container, a *corev1.HTTPGetAction) error {
	ip := a.Host
	if ip == "" {
		ip = podIPOf(pod)
		if ip == "" {
			return fmt.Errorf("failed to find networking container: pod %s has no IP", podDesc(pod))
		}
	}
	req, err := newHTTPGetRequest(ctx, a, c, ip, "lifecycle")
	if err != nil {
		return err
	}
	client := &http.Client{Transport: hookTransport(), CheckRedirect: checkRedirect}
	resp, err := client.Do(req)
	discardBody(resp)
	if isHTTPResponseToHTTPS(err) {
		retry := req.Clone(ctx)
		retry.URL.Scheme = "http"
		retry.Header.Del("Authorization")
		resp, httpErr := client.Do(retry)
		discardBody(resp)
		if httpErr == nil {
			err = nil
		}
	}
	return err
}

// discardBody reads (up to the output limit) and closes a response's body.
func discardBody(resp *http.Response) {
	if resp == nil {
		return
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.ContentLength <= maxOutputLength {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxOutputLength))
	}
}
