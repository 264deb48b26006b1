package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// User is an authenticated identity.
type User struct {
	Name   string
	UID    string
	Groups []string
}

// Well-known groups.
const (
	GroupMasters       = "system:masters"
	GroupAuthenticated = "system:authenticated"
)

// ErrUnauthorized means credentials were presented but are not valid.
var ErrUnauthorized = errors.New("auth: invalid credentials")

// Authenticator identifies the user behind a request.
type Authenticator struct {
	// ClientCAs verify client certificates; the certificate's CN is the
	// user name and its O values the groups.
	ClientCAs *x509.CertPool
	// Tokens maps bearer tokens to users.
	Tokens map[string]User

	// verified caches client certificates already checked: a connection
	// presents the same certificate on every request.
	mu       sync.Mutex
	verified map[string]verifiedCert
}

type verifiedCert struct {
	user     *User
	notAfter time.Time
}

// maxVerified bounds the certificate cache.
const maxVerified = 4096

// Authenticate returns the request's user, nil for an anonymous request,
// or ErrUnauthorized for bad credentials.
func (a *Authenticator) Authenticate(r *http.Request) (*User, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return nil, ErrUnauthorized
		}
		return a.token(strings.TrimSpace(tok))
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 && a.ClientCAs != nil {
		return a.certificate(r.TLS.PeerCertificates)
	}
	return nil, nil
}

func (a *Authenticator) token(tok string) (*User, error) {
	for known, u := range a.Tokens {
		if subtle.ConstantTimeCompare([]byte(known), []byte(tok)) == 1 {
			u := u
			u.Groups = withAuthenticated(u.Groups)
			return &u, nil
		}
	}
	return nil, ErrUnauthorized
}

func (a *Authenticator) certificate(chain []*x509.Certificate) (*User, error) {
	sum := sha256.Sum256(chain[0].Raw)
	key := string(sum[:])
	a.mu.Lock()
	v, ok := a.verified[key]
	a.mu.Unlock()
	if ok && time.Now().Before(v.notAfter) {
		u := *v.user
		return &u, nil
	}
	u, err := a.verify(chain)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	if a.verified == nil || len(a.verified) >= maxVerified {
		a.verified = map[string]verifiedCert{}
	}
	a.verified[key] = verifiedCert{user: u, notAfter: chain[0].NotAfter}
	a.mu.Unlock()
	cp := *u
	return &cp, nil
}

func (a *Authenticator) verify(chain []*x509.Certificate) (*User, error) {
	opts := x509.VerifyOptions{Roots: a.ClientCAs, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, Intermediates: x509.NewCertPool()}
	for _, c := range chain[1:] {
		opts.Intermediates.AddCert(c)
	}
	if _, err := chain[0].Verify(opts); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	subj := chain[0].Subject
	return &User{Name: subj.CommonName, Groups: withAuthenticated(subj.Organization)}, nil
}

func withAuthenticated(groups []string) []string {
	out := append([]string(nil), groups...)
	for _, g := range out {
		if g == GroupAuthenticated {
			return out
		}
	}
	return append(out, GroupAuthenticated)
}

// LoadTokenFile reads a static token file as Kubernetes' --token-auth-file:
// CSV lines of token,user,uid[,"group1,group2"].
func LoadTokenFile(path string) (map[string]User, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("auth: token file: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	r.Comment = '#'
	out := map[string]User{}
	for line := 1; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("auth: token file %s: %w", path, err)
		}
		if len(rec) < 3 || rec[0] == "" || rec[1] == "" {
			return nil, fmt.Errorf("auth: token file %s line %d: want token,user,uid[,groups]", path, line)
		}
		u := User{Name: rec[1], UID: rec[2]}
		if len(rec) > 3 && rec[3] != "" {
			for _, g := range strings.Split(rec[3], ",") {
				if g = strings.TrimSpace(g); g != "" {
					u.Groups = append(u.Groups, g)
				}
			}
		}
		out[rec[0]] = u
	}
}
