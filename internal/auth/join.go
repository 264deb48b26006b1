package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Joining a node: the server keeps a join token in <data-dir>/token of the
// form K10<sha256 of the CA certificate>::server:<secret>, as k3s does. An
// agent fetches the CA from /cacerts, checks it against the hash, and posts
// certificate requests to /skiff/v1/join with the secret as bearer token.
// It gets a client certificate (system:node:<name>, O=system:nodes) and a
// serving certificate for its own HTTPS endpoint.

// Join paths on the API server's port (outside the Kubernetes API).
const (
	CACertsPath = "/cacerts"
	JoinPath    = "/skiff/v1/join"
	// NodesGroup is the group of node client certificates.
	NodesGroup = "system:nodes"
)

// JoinToken is a parsed join token.
type JoinToken struct {
	CAHash string // hex sha256 of the CA PEM; empty trusts on first use
	Secret string
}

// FormatJoinToken returns the token string for a CA and secret.
func FormatJoinToken(caPEM []byte, secret string) string {
	sum := sha256.Sum256(caPEM)
	return "K10" + hex.EncodeToString(sum[:]) + "::server:" + secret
}

// ParseJoinToken reads a token in the K10 form, or a bare secret.
func ParseJoinToken(s string) (JoinToken, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "K10") {
		if s == "" {
			return JoinToken{}, errors.New("auth: empty join token")
		}
		return JoinToken{Secret: s}, nil
	}
	hash, rest, ok := strings.Cut(strings.TrimPrefix(s, "K10"), "::")
	secret, ok2 := strings.CutPrefix(rest, "server:")
	if !ok || !ok2 || secret == "" || len(hash) != 64 {
		return JoinToken{}, errors.New("auth: malformed join token")
	}
	return JoinToken{CAHash: hash, Secret: secret}, nil
}

// JoinRequest is what an agent posts.
type JoinRequest struct {
	Node       string   `json:"node"`
	ClientCSR  string   `json:"clientCSR"`
	ServingCSR string   `json:"servingCSR"`
	IPs        []string `json:"ips"`
}

// JoinResponse carries the signed certificates.
type JoinResponse struct {
	Client  string `json:"client"`
	Serving string `json:"serving"`
	CA      string `json:"ca"`
}

// NodeCredentials are the PEM files of a joined node.
type NodeCredentials struct {
	CAFile, ClientCert, ClientKey, ServingCert, ServingKey string
}

// JoinHandler serves /skiff/v1/join for agents that know the secret.
func JoinHandler(ca *CA, secret string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if r.Method != http.MethodPost || secret == "" || !constantEqual(tok, secret) {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		var req JoinRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil || req.Node == "" {
			http.Error(w, "bad join request", http.StatusBadRequest)
			return
		}
		resp, err := signJoin(ca, req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(resp)
	})
}

func signJoin(ca *CA, req JoinRequest) (*JoinResponse, error) {
	clientKey, err := csrKey(req.ClientCSR)
	if err != nil {
		return nil, err
	}
	servingKey, err := csrKey(req.ServingCSR)
	if err != nil {
		return nil, err
	}
	client, err := ca.SignPublicKey(clientKey, CertSpec{CommonName: "system:node:" + req.Node, Organization: []string{NodesGroup}, Client: true})
	if err != nil {
		return nil, err
	}
	spec := CertSpec{CommonName: req.Node, DNSNames: []string{req.Node, "localhost"}, Server: true}
	for _, s := range req.IPs {
		if ip := net.ParseIP(s); ip != nil {
			spec.IPs = append(spec.IPs, ip)
		}
	}
	serving, err := ca.SignPublicKey(servingKey, spec)
	if err != nil {
		return nil, err
	}
	return &JoinResponse{Client: string(client), Serving: string(serving), CA: string(ca.PEM)}, nil
}

func csrKey(p string) (interface{}, error) {
	block, _ := pem.Decode([]byte(p))
	if block == nil {
		return nil, errors.New("auth: no PEM certificate request")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("auth: certificate request: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("auth: certificate request: %w", err)
	}
	return csr.PublicKey, nil
}

func constantEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// IssueNodeCredentials writes a node's credentials straight from the CA
// (the agent inside skiff server needs no join).
func IssueNodeCredentials(ca *CA, dir, node string, ips []net.IP) (*NodeCredentials, error) {
	c := nodeFiles(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	if err := writeFileAtomic(c.CAFile, ca.PEM, 0o644); err != nil {
		return nil, err
	}
	if _, err := ca.LoadOrIssue(c.ClientCert, c.ClientKey, CertSpec{CommonName: "system:node:" + node, Organization: []string{NodesGroup}, Client: true}); err != nil {
		return nil, err
	}
	spec := CertSpec{CommonName: node, DNSNames: []string{node, "localhost"}, IPs: ips, Server: true}
	if _, err := ca.LoadOrIssue(c.ServingCert, c.ServingKey, spec); err != nil {
		return nil, err
	}
	return c, nil
}

func nodeFiles(dir string) *NodeCredentials {
	return &NodeCredentials{
		CAFile: filepath.Join(dir, "ca.crt"), ClientCert: filepath.Join(dir, "client.crt"), ClientKey: filepath.Join(dir, "client.key"),
		ServingCert: filepath.Join(dir, "serving.crt"), ServingKey: filepath.Join(dir, "serving.key"),
	}
}

// Join gets node credentials from a server, or reuses those in dir when
// they are still valid.
func Join(ctx context.Context, server string, token JoinToken, node string, ips []net.IP, dir string) (*NodeCredentials, error) {
	c := nodeFiles(dir)
	if _, err := tls.LoadX509KeyPair(c.ClientCert, c.ClientKey); err == nil {
		if _, err := tls.LoadX509KeyPair(c.ServingCert, c.ServingKey); err == nil {
			return c, nil
		}
	}
	caPEM, err := fetchCA(ctx, server, token.CAHash)
	if err != nil {
		return nil, err
	}
	resp, keys, err := postJoin(ctx, server, token.Secret, node, ips, caPEM)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	for path, data := range map[string][]byte{
		c.CAFile: caPEM, c.ClientCert: []byte(resp.Client), c.ServingCert: []byte(resp.Serving),
		c.ClientKey: keys[0], c.ServingKey: keys[1],
	} {
		if err := writeFileAtomic(path, data, 0o600); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// fetchCA downloads the CA and checks it against the token's hash.
func fetchCA(ctx context.Context, server, hash string) ([]byte, error) {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // checked against the token's hash below
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(server, "/")+CACertsPath, nil)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("auth: fetch CA: %w", err)
	}
	defer resp.Body.Close()
	caPEM, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("auth: fetch CA: %s %w", resp.Status, err)
	}
	if hash != "" {
		sum := sha256.Sum256(caPEM)
		if hex.EncodeToString(sum[:]) != hash {
			return nil, errors.New("auth: the server's CA does not match the join token")
		}
	}
	return caPEM, nil
}

func postJoin(ctx context.Context, server, secret, node string, ips []net.IP, caPEM []byte) (*JoinResponse, [2][]byte, error) {
	var keys [2][]byte
	var csrs [2]string
	for i := range csrs {
		csr, keyPEM, err := newCSR(node)
		if err != nil {
			return nil, keys, err
		}
		csrs[i], keys[i] = csr, keyPEM
	}
	jr := JoinRequest{Node: node, ClientCSR: csrs[0], ServingCSR: csrs[1]}
	for _, ip := range ips {
		jr.IPs = append(jr.IPs, ip.String())
	}
	body, _ := json.Marshal(jr)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(server, "/")+JoinPath, bytes.NewReader(body))
	if err != nil {
		return nil, keys, fmt.Errorf("auth: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := client.Do(req)
	if err != nil {
		return nil, keys, fmt.Errorf("auth: join: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, keys, fmt.Errorf("auth: join refused: %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	var jresp JoinResponse
	if err := json.NewDecoder(resp.Body).Decode(&jresp); err != nil {
		return nil, keys, fmt.Errorf("auth: join answer: %w", err)
	}
	return &jresp, keys, nil
}

func newCSR(node string) (string, []byte, error) {
	key, err := newKey()
	if err != nil {
		return "", nil, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		return "", nil, fmt.Errorf("auth: certificate request: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", nil, err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}
