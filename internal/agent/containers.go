package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	criv1 "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff/skiff/internal/agent/envvars"
	"github.com/skiff/skiff/internal/agent/volume"
)

// startContainer creates and starts attempt number restarts of c in the
// pod's newest sandbox. Failures leave the container waiting with
// Kubernetes' reason and an event; the return says when to retry.
func (a *Agent) startContainer(ctx context.Context, pod *corev1.Pod, c *corev1.Container, rp *runtimePod, st *podState, vols volume.Volumes, restarts int32) time.Duration {
	sb := rp.sandbox()
	if sb == nil {
		return retrySoon
	}
	imageRef, retry := a.ensureImage(ctx, pod, c, st)
	if imageRef == "" {
		return retry
	}
	cfg, err := a.containerConfig(ctx, pod, c, rp, vols, imageRef, restarts)
	if err != nil {
		reason := "CreateContainerConfigError"
		if !errors.Is(err, envvars.ErrConfig) {
			reason = "CreateContainerError"
		}
		st.setWaiting(c.Name, reason, err.Error())
		a.recorder.Eventf(pod, corev1.EventTypeWarning, "Failed", "Error: %v", err)
		return retrySoon
	}
	sbCfg, err := a.sandboxConfig(pod, sb.Metadata.GetAttempt())
	if err != nil {
		return retrySoon
	}
	created, err := a.rt.Runtime.CreateContainer(ctx, &criv1.CreateContainerRequest{PodSandboxId: sb.Id, Config: cfg, SandboxConfig: sbCfg})
	if err != nil {
		st.setWaiting(c.Name, "CreateContainerError", err.Error())
		a.recorder.Eventf(pod, corev1.EventTypeWarning, "Failed", "Error: %v", err)
		return retrySoon
	}
	a.recorder.Eventf(pod, corev1.EventTypeNormal, "Created", "Created container: %s", c.Name)
	if _, err := a.rt.Runtime.StartContainer(ctx, &criv1.StartContainerRequest{ContainerId: created.ContainerId}); err != nil {
		st.setWaiting(c.Name, "RunContainerError", err.Error())
		a.recorder.Eventf(pod, corev1.EventTypeWarning, "Failed", "Error: failed to start container %q: %v", c.Name, err)
		return retrySoon
	}
	a.recorder.Eventf(pod, corev1.EventTypeNormal, "Started", "Started container %s", c.Name)
	st.clearWaiting(c.Name)
	a.markAlive(created.ContainerId)
	if c.Lifecycle != nil && c.Lifecycle.PostStart != nil {
		if err := a.runPostStart(ctx, pod, c, created.ContainerId, rp.ip()); err != nil {
			return retrySoon
		}
	}
	a.probes.ContainerStarted(pod, c, created.ContainerId, time.Now())
	st.probed[created.ContainerId] = true
	return 0
}

// containerConfig describes one container attempt to CRI.
func (a *Agent) containerConfig(ctx context.Context, pod *corev1.Pod, c *corev1.Container, rp *runtimePod, vols volume.Volumes, imageRef string, restarts int32) (*criv1.ContainerConfig, error) {
	envs, err := envvars.Resolve(ctx, a.client, pod, c, rp.ip(), a.cfg.NodeIP.String(), a.cfg.NodeName, a.node.allocatable())
	if err != nil {
		return nil, err
	}
	mounts, err := volume.ContainerMountsWithEnv(pod, c, vols, envs)
	if err != nil {
		return nil, err
	}
	extra, err := a.podFileMounts(pod, c, restarts, rp.ip())
	if err != nil {
		return nil, err
	}
	values := map[string]string{}
	for _, e := range envs {
		values[e.Key] = string(e.Value)
	}
	return &criv1.ContainerConfig{
		Metadata:    &criv1.ContainerMetadata{Name: c.Name, Attempt: uint32(restarts)},
		Image:       &criv1.ImageSpec{Image: imageRef, UserSpecifiedImage: c.Image},
		Command:     expandAll(c.Command, values),
		Args:        expandAll(c.Args, values),
		WorkingDir:  c.WorkingDir,
		Envs:        envs,
		Mounts:      append(mounts, extra...),
		Labels:      map[string]string{labelPodName: pod.Name, labelPodNamespace: pod.Namespace, labelPodUID: string(pod.UID), labelContainerName: c.Name},
		Annotations: a.containerAnnotations(pod, c, restarts),
		LogPath:     filepath.Join(c.Name, strconv.Itoa(int(restarts))+".log"),
		Stdin:       c.Stdin,
		StdinOnce:   c.StdinOnce,
		Tty:         c.TTY,
		Linux:       &criv1.LinuxContainerConfig{Resources: containerResources(pod, c), SecurityContext: securityContext(pod, c)},
	}, nil
}

func (a *Agent) containerAnnotations(pod *corev1.Pod, c *corev1.Container, restarts int32) map[string]string {
	path := c.TerminationMessagePath
	if path == "" {
		path = corev1.TerminationMessagePathDefault
	}
	return map[string]string{
		annoContainerHash:     containerHash(c),
		annoRestartCount:      strconv.Itoa(int(restarts)),
		annoTerminationPath:   path,
		annoTerminationPolicy: string(c.TerminationMessagePolicy),
		annoTerminationGrace:  strconv.FormatInt(gracePeriod(pod), 10),
	}
}

// podFileMounts are the files the agent manages for every container: the
// termination message file and /etc/hosts (unless the pod uses the host's
// network).
func (a *Agent) podFileMounts(pod *corev1.Pod, c *corev1.Container, restarts int32, podIP string) ([]*criv1.Mount, error) {
	dir := filepath.Join(a.cfg.DataDir, "pods", string(pod.UID), "containers", c.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("container dir: %w", err)
	}
	term := filepath.Join(dir, strconv.Itoa(int(restarts))+"-termination-log")
	if err := os.WriteFile(term, nil, 0o666); err != nil {
		return nil, fmt.Errorf("termination log: %w", err)
	}
	// Writable by any user the container runs as, whatever the umask.
	if err := os.Chmod(term, 0o666); err != nil {
		return nil, fmt.Errorf("termination log: %w", err)
	}
	path := c.TerminationMessagePath
	if path == "" {
		path = corev1.TerminationMessagePathDefault
	}
	mounts := []*criv1.Mount{{ContainerPath: path, HostPath: term}}
	if pod.Spec.HostNetwork {
		return mounts, nil
	}
	hosts, err := a.writeHostsFile(pod, podIP)
	if err != nil {
		return nil, err
	}
	return append(mounts, &criv1.Mount{ContainerPath: "/etc/hosts", HostPath: hosts}), nil
}

// writeHostsFile writes the pod's /etc/hosts as the kubelet does.
func (a *Agent) writeHostsFile(pod *corev1.Pod, podIP string) (string, error) {
	path := filepath.Join(a.cfg.DataDir, "pods", string(pod.UID), "etc-hosts")
	content := "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
		"fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n"
	if podIP != "" {
		host := podHostname(pod)
		if pod.Spec.Subdomain != "" {
			fqdn := host + "." + pod.Spec.Subdomain + "." + pod.Namespace + ".svc." + a.cfg.ClusterDomain
			content += podIP + "\t" + fqdn + "\t" + host + "\n"
		} else {
			content += podIP + "\t" + host + "\n"
		}
	}
	for _, ha := range pod.Spec.HostAliases {
		for _, h := range ha.Hostnames {
			content += ha.IP + "\t" + h + "\n"
		}
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		return "", fmt.Errorf("hosts file: %w", err)
	}
	return path, nil
}

// ensureImage makes the container's image present per its pull policy.
// It returns the image's ID, or "" and when to retry.
func (a *Agent) ensureImage(ctx context.Context, pod *corev1.Pod, c *corev1.Container, st *podState) (string, time.Duration) {
	present := a.imageID(ctx, c.Image)
	policy := c.ImagePullPolicy
	if present != "" && policy != corev1.PullAlways {
		a.recorder.Eventf(pod, corev1.EventTypeNormal, "Pulled", "Container image %q already present on machine", c.Image)
		return present, 0
	}
	if policy == corev1.PullNever {
		msg := fmt.Sprintf("Container image %q is not present with pull policy of Never", c.Image)
		st.setWaiting(c.Name, "ErrImageNeverPull", msg)
		a.recorder.Eventf(pod, corev1.EventTypeWarning, "ErrImageNeverPull", "%s", msg)
		return "", retrySoon
	}
	key := backoffKey(pod, "image:"+c.Image)
	if wait := a.backoff.remaining(key, a.backoff.last(key)); wait > 0 {
		st.setWaiting(c.Name, "ImagePullBackOff", fmt.Sprintf("Back-off pulling image %q", c.Image))
		a.recorder.Eventf(pod, corev1.EventTypeNormal, "BackOff", "Back-off pulling image %q", c.Image)
		return "", wait
	}
	a.recorder.Eventf(pod, corev1.EventTypeNormal, "Pulling", "Pulling image %q", c.Image)
	start := time.Now()
	resp, err := a.rt.Images.PullImage(ctx, &criv1.PullImageRequest{Image: &criv1.ImageSpec{Image: c.Image}})
	if err != nil {
		a.backoff.next(key)
		msg := fmt.Sprintf("failed to pull and unpack image %q: %v", c.Image, err)
		st.setWaiting(c.Name, "ErrImagePull", msg)
		a.recorder.Eventf(pod, corev1.EventTypeWarning, "Failed", "Failed to pull image %q: %v", c.Image, err)
		a.recorder.Eventf(pod, corev1.EventTypeWarning, "Failed", "Error: ErrImagePull")
		return "", a.backoff.delay(key)
	}
	a.backoff.reset(key)
	a.recorder.Eventf(pod, corev1.EventTypeNormal, "Pulled", "Successfully pulled image %q in %v", c.Image, time.Since(start).Round(time.Millisecond))
	return resp.ImageRef, 0
}

// imageID returns the ID of a present image, or "".
func (a *Agent) imageID(ctx context.Context, image string) string {
	resp, err := a.rt.Images.ImageStatus(ctx, &criv1.ImageStatusRequest{Image: &criv1.ImageSpec{Image: image}})
	if err != nil || resp.Image == nil {
		return ""
	}
	return resp.Image.Id
}
