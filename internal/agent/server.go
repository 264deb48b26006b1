package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ServingCredentials are what the agent's HTTPS endpoint serves with and
// whom it lets in: callers with a client certificate from ClientCAs in
// one of AllowedGroups (the API server's kubelet-client certificate).
type ServingCredentials struct {
	Certificate   tls.Certificate
	ClientCAs     *x509.CertPool
	AllowedGroups []string
}

// listen opens the agent's port on the node IP.
func (a *Agent) listen() (net.Listener, error) {
	if a.creds == nil {
		return nil, errors.New("agent: no serving credentials")
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(a.cfg.NodeIP.String(), strconv.Itoa(a.cfg.Port)))
	if err != nil {
		return nil, fmt.Errorf("agent: listen: %w", err)
	}
	a.port = ln.Addr().(*net.TCPAddr).Port
	return ln, nil
}

// serve answers the API server's requests for logs until ctx ends.
func (a *Agent) serve(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("/containerLogs/", a.serveLogs)
	srv := &http.Server{
		Handler: a.authorize(mux), ReadHeaderTimeout: 30 * time.Second,
		TLSConfig: &tls.Config{
			MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{a.creds.Certificate},
			ClientCAs: a.creds.ClientCAs, ClientAuth: tls.VerifyClientCertIfGiven,
		},
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-errc:
		return fmt.Errorf("agent: serve: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		_ = srv.Close()
	}
	return nil
}

// authorize lets in callers whose verified client certificate names an
// allowed group.
func (a *Agent) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			next.ServeHTTP(w, r)
			return
		}
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		orgs := r.TLS.VerifiedChains[0][0].Subject.Organization
		for _, g := range a.creds.AllowedGroups {
			for _, o := range orgs {
				if o == g {
					next.ServeHTTP(w, r)
					return
				}
			}
		}
		http.Error(w, "Forbidden (user="+r.TLS.VerifiedChains[0][0].Subject.CommonName+", verb=get, resource=nodes, subresource=proxy)", http.StatusForbidden)
	})
}

// pathParts splits /containerLogs/<ns>/<pod>/<container>.
func pathParts(path, prefix string, n int) ([]string, bool) {
	parts := strings.Split(strings.Trim(strings.TrimPrefix(path, prefix), "/"), "/")
	if len(parts) != n {
		return nil, false
	}
	for _, p := range parts {
		if p == "" {
			return nil, false
		}
	}
	return parts, true
}
