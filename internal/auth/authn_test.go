package auth

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
)

func TestAuthenticateClientCertificates(t *testing.T) {
	dir := t.TempDir()
	ca, err := LoadOrCreateCA(dir, "test-ca")
	if err != nil {
		t.Fatal(err)
	}
	other, err := LoadOrCreateCA(t.TempDir(), "other-ca")
	if err != nil {
		t.Fatal(err)
	}
	a := &Authenticator{ClientCAs: ca.Pool()}
	good := leaf(t, ca, CertSpec{CommonName: "alice", Organization: []string{"devs"}, Client: true})
	bad := leaf(t, other, CertSpec{CommonName: "mallory", Organization: []string{GroupMasters}, Client: true})
	for i := 0; i < 2; i++ { // the second round is served from the cache
		u, err := a.Authenticate(withCert(good))
		if err != nil || u.Name != "alice" || len(u.Groups) != 2 || u.Groups[1] != GroupAuthenticated {
			t.Fatalf("round %d: good certificate: %+v %v", i, u, err)
		}
		if _, err := a.Authenticate(withCert(bad)); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("round %d: certificate from another CA: %v", i, err)
		}
	}
	if u, err := a.Authenticate(httptest.NewRequest("GET", "/", nil)); u != nil || err != nil {
		t.Fatalf("anonymous request: %v %v", u, err)
	}
}

func TestAuthenticateTokens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.csv")
	writeTestFile(t, path, "# comment\nt0k3n,bob,42,\"ops,devs\"\nsecond,carol,43\n")
	toks, err := LoadTokenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	a := &Authenticator{Tokens: toks}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer t0k3n")
	u, err := a.Authenticate(r)
	if err != nil || u.Name != "bob" || u.UID != "42" || len(u.Groups) != 3 {
		t.Fatalf("token user: %+v %v", u, err)
	}
	r.Header.Set("Authorization", "Bearer nope")
	if _, err := a.Authenticate(r); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("unknown token: %v", err)
	}
	r.Header.Set("Authorization", "Basic abc")
	if _, err := a.Authenticate(r); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("basic auth: %v", err)
	}
}

func leaf(t *testing.T, ca *CA, spec CertSpec) *x509.Certificate {
	t.Helper()
	certPEM, keyPEM, err := ca.Issue(spec)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func withCert(c *x509.Certificate) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{c}}
	return r
}
