package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiff/skiff/internal/agent"
	"github.com/skiff/skiff/internal/auth"
)

// joinToken returns the cluster's join token, creating <data-dir>/token
// (0600) on first start.
func joinToken(cfg Config, ca *auth.CA) (auth.JoinToken, error) {
	path := filepath.Join(cfg.DataDir, "token")
	if data, err := os.ReadFile(path); err == nil {
		return auth.ParseJoinToken(string(data))
	}
	tok := auth.FormatJoinToken(ca.PEM, randomToken()[:32])
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return auth.JoinToken{}, fmt.Errorf("server: join token: %w", err)
	}
	return auth.ParseJoinToken(tok)
}

// nodeClientTLS is how the API server calls agents: the kubelet-client
// certificate (O=system:masters) and the CA that signs agents' certificates.
func (c *credentials) nodeClientTLS(dataDir string) (*tls.Config, error) {
	dir := filepath.Join(dataDir, "tls")
	pair, err := c.ca.LoadOrIssue(filepath.Join(dir, "apiserver-kubelet-client.crt"), filepath.Join(dir, "apiserver-kubelet-client.key"),
		auth.CertSpec{CommonName: "kube-apiserver-kubelet-client", Organization: []string{auth.GroupMasters}, Client: true})
	if err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{*pair}, RootCAs: c.ca.Pool()}, nil
}

// runAgent runs the node agent inside the server, with node credentials
// issued straight from the CA.
func runAgent(ctx context.Context, cfg Config, creds *credentials, apiHost string) error {
	ac := cfg.Agent
	ac.DataDir = filepath.Join(cfg.DataDir, "agent")
	ac.ImageDirs = append(ac.ImageDirs, filepath.Join(cfg.DataDir, "images"), filepath.Join(ac.DataDir, "images"))
	ac.ManifestDirs = append(ac.ManifestDirs, filepath.Join(cfg.DataDir, "manifests"), filepath.Join(ac.DataDir, "manifests"))
	ac.Version = "skiff " + cfg.SkiffVersion
	ac.Log = cfg.Log
	nc, err := auth.IssueNodeCredentials(creds.ca, filepath.Join(ac.DataDir, "tls"), ac.NodeName, []net.IP{ac.NodeIP})
	if err != nil {
		return err
	}
	client, err := nodeClient(apiHost, nc)
	if err != nil {
		return err
	}
	serving, err := agentServing(nc)
	if err != nil {
		return err
	}
	a, err := agent.New(ac, agent.Deps{Client: client, Credentials: serving})
	if err != nil {
		return err
	}
	return a.Start(ctx)
}

// nodeClient is an API client with a node's client certificate.
func nodeClient(host string, nc *auth.NodeCredentials) (kubernetes.Interface, error) {
	return kubernetes.NewForConfig(nodeRestConfig(host, nc))
}

func nodeRestConfig(host string, nc *auth.NodeCredentials) *rest.Config {
	return &rest.Config{
		Host: host, QPS: 50, Burst: 100, UserAgent: "skiff-agent",
		ContentConfig:   rest.ContentConfig{ContentType: runtime.ContentTypeProtobuf, AcceptContentTypes: runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON},
		TLSClientConfig: rest.TLSClientConfig{CAFile: nc.CAFile, CertFile: nc.ClientCert, KeyFile: nc.ClientKey},
	}
}

// JoinClient joins the server with the token as node, keeping the
// credentials in dir (or reusing those there), and returns a client
// configuration with them. `skiff agent --simulate` runs its nodes with it.
func JoinClient(ctx context.Context, server, token, node, dir string) (*rest.Config, error) {
	tok, err := auth.ParseJoinToken(token)
	if err != nil {
		return nil, err
	}
	nc, err := auth.Join(ctx, server, tok, node, nil, dir)
	if err != nil {
		return nil, err
	}
	return nodeRestConfig(strings.TrimSuffix(server, "/"), nc), nil
}

// agentServing loads an agent's serving certificate; callers must present
// a certificate of the same CA in group system:masters (the API server).
func agentServing(nc *auth.NodeCredentials) (*agent.ServingCredentials, error) {
	pair, err := tls.LoadX509KeyPair(nc.ServingCert, nc.ServingKey)
	if err != nil {
		return nil, fmt.Errorf("agent serving certificate: %w", err)
	}
	caPEM, err := os.ReadFile(nc.CAFile)
	if err != nil {
		return nil, fmt.Errorf("agent CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("agent CA %s: no certificates", nc.CAFile)
	}
	return &agent.ServingCredentials{Certificate: pair, ClientCAs: pool, AllowedGroups: []string{auth.GroupMasters}}, nil
}

// RunAgent runs a standalone agent (`skiff agent`): it joins the server
// with the token and runs the node.
func RunAgent(ctx context.Context, server, token string, ac agent.Config) error {
	tok, err := auth.ParseJoinToken(token)
	if err != nil {
		return err
	}
	nc, err := auth.Join(ctx, server, tok, ac.NodeName, []net.IP{ac.NodeIP}, filepath.Join(ac.DataDir, "tls"))
	if err != nil {
		return err
	}
	client, err := nodeClient(strings.TrimSuffix(server, "/"), nc)
	if err != nil {
		return err
	}
	serving, err := agentServing(nc)
	if err != nil {
		return err
	}
	a, err := agent.New(ac, agent.Deps{Client: client, Credentials: serving})
	if err != nil {
		return err
	}
	return a.Start(ctx)
}
