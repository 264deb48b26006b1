package prober

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// maxRedirects is how many same-host redirects a probe follows.
const maxRedirects = 10

// dialContext dials TCP and sets a one-second linger on the connection, so
// that closing it does not leave a socket in TIME_WAIT per probe.
func dialContext(ctx context.Context, d *net.Dialer, addr string) (net.Conn, error) {
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(1)
	}
	return conn, nil
}

// newTransport returns the transport for HTTP probes and hooks: no proxy,
// no keep-alive, no compression, certificates not verified.
func newTransport() *http.Transport {
	d := &net.Dialer{}
	return &http.Transport{
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // kubelet does not verify probe targets
		DisableKeepAlives:   true,
		DisableCompression:  true,
		Proxy:               nil,
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: 10 * time.Second,
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			return dialContext(ctx, d, addr)
		},
	}
}

// newHTTPGetRequest builds the GET request of an httpGet probe or hook:
// scheme (default http), host (default the pod IP), port (number or named
// container port), path and headers, with kubelet's User-Agent
// ("kube-<purpose>/<version>") and Accept "*/*" unless the action sets them.
func newHTTPGetRequest(ctx context.Context, a *corev1.HTTPGetAction, c *corev1.Container, podIP, purpose string) (*http.Request, error) {
	scheme := strings.ToLower(string(a.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	host := a.Host
	if host == "" {
		host = podIP
	}
	port, err := resolvePort(a.Port, c)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(a.Path)
	if err != nil {
		// A path that does not parse is passed on as it is.
		u = &url.URL{Path: a.Path}
	}
	u.Scheme = scheme
	u.Host = net.JoinHostPort(host, strconv.Itoa(port))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	headers := make(http.Header)
	for _, h := range a.HTTPHeaders {
		headers.Add(h.Name, h.Value)
	}
	if _, ok := headers["User-Agent"]; !ok {
		headers.Set("User-Agent", "kube-"+purpose+"/"+kubeVersion)
	}
	if _, ok := headers["Accept"]; !ok {
		headers.Set("Accept", "*/*")
	} else if headers.Get("Accept") == "" {
		headers.Del("Accept")
	}
	req.Header = headers
	req.Host = headers.Get("Host")
	return req, nil
}

// checkRedirect follows redirects to the same host only: a redirect
// elsewhere ends the request with the redirect response.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if req.URL.Hostname() != via[0].URL.Hostname() {
		return http.ErrUseLastResponse
	}
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	return nil
}

// readAtMost reads r up to limit bytes; more data is not an error.
func readAtMost(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if int64(len(b)) > limit {
		b = b[:limit]
	}
	return b, err
}

// httpProbe sends req: a 2xx status is success, a 3xx (a redirect not
// followed) success with a warning, anything else or no response failure.
func httpProbe(transport http.RoundTripper, req *http.Request, timeout time.Duration) (result, string, error) {
	client := &http.Client{Timeout: timeout, Transport: transport, CheckRedirect: checkRedirect}
	res, err := client.Do(req)
	if err != nil {
		// Timeouts and refused connections are failures, not errors.
		return resultFailure, err.Error(), nil
	}
	defer func() { _ = res.Body.Close() }()
	b, err := readAtMost(res.Body, maxOutputLength)
	if err != nil {
		return resultFailure, "", err
	}
	body := string(b)
	if res.StatusCode >= http.StatusOK && res.StatusCode < http.StatusBadRequest {
		if res.StatusCode >= http.StatusMultipleChoices {
			return resultWarning, "Probe terminated redirects, Response body: " + body, nil
		}
		return resultSuccess, body, nil
	}
	// As in kubelet, the response body stays out of the failure message.
	return resultFailure, fmt.Sprintf("HTTP probe failed with statuscode: %d", res.StatusCode), nil
}

// isHTTPResponseToHTTPS reports whether err is an HTTPS request answered in
// plain HTTP.
func isHTTPResponseToHTTPS(err error) bool {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return false
	}
	return strings.Contains(ue.Err.Error(), "server gave HTTP response to HTTPS client")
}
