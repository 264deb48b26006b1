package server

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/skiff/skiff/internal/auth"
)

// credentials are the cluster CA and the certificates issued from it.
type credentials struct {
	ca      *auth.CA
	serving *tls.Certificate
}

// loadCredentials loads or creates the CA and serving certificate under
// <data-dir>/tls.
func loadCredentials(cfg Config) (*credentials, error) {
	dir := filepath.Join(cfg.DataDir, "tls")
	ca, err := auth.LoadOrCreateCA(dir, "skiff-ca")
	if err != nil {
		return nil, err
	}
	spec := servingSpec(cfg)
	serving, err := ca.LoadOrIssue(filepath.Join(dir, "serving.crt"), filepath.Join(dir, "serving.key"), spec)
	if err != nil {
		return nil, err
	}
	return &credentials{ca: ca, serving: serving}, nil
}

// servingSpec lists the names the API is reached by: localhost, the host
// name, every address of this host and the --tls-san values.
func servingSpec(cfg Config) auth.CertSpec {
	spec := auth.CertSpec{CommonName: "kube-apiserver", Server: true,
		DNSNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		IPs:      []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		spec.DNSNames = append(spec.DNSNames, h)
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLinkLocalUnicast() && !ipn.IP.IsLoopback() {
				spec.IPs = append(spec.IPs, ipn.IP)
			}
		}
	}
	if ip := net.ParseIP(cfg.BindAddress); ip != nil && !ip.IsUnspecified() {
		spec.IPs = append(spec.IPs, ip)
	}
	for _, san := range cfg.TLSSANs {
		if ip := net.ParseIP(san); ip != nil {
			spec.IPs = append(spec.IPs, ip)
		} else if san != "" {
			spec.DNSNames = append(spec.DNSNames, san)
		}
	}
	return spec
}

// writeKubeconfig issues the admin client certificate (O=system:masters)
// and writes <data-dir>/kubeconfig.yaml with mode 0600.
func (c *credentials) writeKubeconfig(dataDir string, port int) (string, error) {
	path := filepath.Join(dataDir, "kubeconfig.yaml")
	dir := filepath.Join(dataDir, "tls")
	_, err := c.ca.LoadOrIssue(filepath.Join(dir, "admin.crt"), filepath.Join(dir, "admin.key"),
		auth.CertSpec{CommonName: "system:admin", Organization: []string{auth.GroupMasters}, Client: true})
	if err != nil {
		return "", err
	}
	certPEM, err := os.ReadFile(filepath.Join(dir, "admin.crt"))
	if err != nil {
		return "", fmt.Errorf("server: %w", err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, "admin.key"))
	if err != nil {
		return "", fmt.Errorf("server: %w", err)
	}
	data, err := auth.Kubeconfig("https://127.0.0.1:"+strconv.Itoa(port), c.ca.PEM, certPEM, keyPEM)
	if err != nil {
		return "", err
	}
	return path, auth.WriteKubeconfig(path, data)
}
