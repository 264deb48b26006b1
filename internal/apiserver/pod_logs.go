package apiserver

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// logParams are the query parameters passed on to the node.
var logParams = []string{"follow", "previous", "timestamps", "tailLines", "sinceSeconds", "sinceTime", "limitBytes"}

// servePodLogs serves pods/log by proxying to the agent of the pod's
// node, as the API server proxies to the kubelet.
func (h *resourceHandler) servePodLogs(req *request) error {
	obj, _, err := h.getObject(req.ctx, req.ri.Namespace, req.ri.Name, 0)
	if err != nil {
		return err
	}
	pod := obj.(*corev1.Pod)
	container, err := logContainer(pod, req.query.Get("container"))
	if err != nil {
		return err
	}
	if pod.Spec.NodeName == "" {
		return badRequest("pod %s does not have a host assigned", pod.Name)
	}
	target, err := h.s.nodeURL(req, pod.Spec.NodeName)
	if err != nil {
		return err
	}
	target.Path = "/containerLogs/" + pod.Namespace + "/" + pod.Name + "/" + container
	q := url.Values{}
	for _, p := range logParams {
		if v := req.query.Get(p); v != "" {
			q.Set(p, v)
		}
	}
	target.RawQuery = q.Encode()
	return h.s.proxyToNode(req, target)
}

// logContainer picks the container whose log is asked for, as Kubernetes
// does: the only one, or the one named.
func logContainer(pod *corev1.Pod, name string) (string, error) {
	var names []string
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			if name == c.Name {
				return name, nil
			}
		}
	}
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	if name != "" {
		return "", badRequest("container %s is not valid for pod %s", name, pod.Name)
	}
	if len(names) == 1 {
		return names[0], nil
	}
	return "", badRequest("a container name must be specified for pod %s, choose one of: [%s]", pod.Name, strings.Join(names, " "))
}

// nodeURL returns the HTTPS address of a node's agent.
func (s *Server) nodeURL(req *request, nodeName string) (*url.URL, error) {
	h := s.handlers[gvrKey("", "v1", "nodes")]
	obj, _, err := h.getObject(req.ctx, "", nodeName, 0)
	if err != nil {
		return nil, err
	}
	node := obj.(*corev1.Node)
	port := node.Status.DaemonEndpoints.KubeletEndpoint.Port
	host := ""
	for _, t := range []corev1.NodeAddressType{corev1.NodeInternalIP, corev1.NodeExternalIP, corev1.NodeHostName} {
		for _, a := range node.Status.Addresses {
			if a.Type == t && host == "" {
				host = a.Address
			}
		}
	}
	if host == "" || port == 0 {
		return nil, apierrors.NewServiceUnavailable(fmt.Sprintf("node %s has no reachable agent address", nodeName))
	}
	return &url.URL{Scheme: "https", Host: net.JoinHostPort(host, strconv.Itoa(int(port)))}, nil
}

// proxyToNode streams a node's answer back, turning its errors into
// Status errors.
func (s *Server) proxyToNode(req *request, target *url.URL) error {
	if s.cfg.NodeClientTLS == nil {
		return apierrors.NewServiceUnavailable("the API server has no credentials for nodes")
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: s.cfg.NodeClientTLS.Clone(), ResponseHeaderTimeout: 30 * time.Second}}
	r, err := http.NewRequestWithContext(req.ctx, http.MethodGet, target.String(), nil)
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	resp, err := client.Do(r)
	if err != nil {
		return apierrors.NewServiceUnavailable(fmt.Sprintf("Get %q: %v", target.String(), err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return statusError(int32(resp.StatusCode), reasonFor(resp.StatusCode), strings.TrimSpace(string(msg)))
	}
	req.w.Header().Set("Content-Type", "text/plain")
	req.w.WriteHeader(http.StatusOK)
	flusher, _ := req.w.(http.Flusher)
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := req.w.Write(buf[:n]); werr != nil {
				return nil
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		if err != nil {
			return nil
		}
	}
}

func reasonFor(code int) metav1.StatusReason {
	switch code {
	case http.StatusBadRequest:
		return metav1.StatusReasonBadRequest
	case http.StatusNotFound:
		return metav1.StatusReasonNotFound
	case http.StatusUnauthorized:
		return metav1.StatusReasonUnauthorized
	case http.StatusForbidden:
		return metav1.StatusReasonForbidden
	}
	return metav1.StatusReasonInternalError
}
