package e2e

import (
	"bytes"
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/skiff/skiff/internal/auth"
)

// TestSecretsEncryptedAtRest greps the whole data directory (etcd's WAL
// and database) for a secret's value: it must not be there in plaintext,
// while a ConfigMap's value is.
func TestSecretsEncryptedAtRest(t *testing.T) {
	s := startServer(t)
	s.mustKubectl("create", "secret", "generic", "creds", "--from-literal=password=PlainTextPassword4711")
	s.mustKubectl("create", "configmap", "plain", "--from-literal=value=PlainConfigValue4711")
	if got := s.mustKubectl("get", "secret", "creds", "-o", "jsonpath={.data.password}"); got != "UGxhaW5UZXh0UGFzc3dvcmQ0NzEx" {
		t.Fatalf("secret read back as %q", got)
	}
	s.stop()
	key := filepath.Join(s.dataDir, "cred", "encryption.key")
	if st, err := os.Stat(key); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("encryption key %s: %v %v", key, err, st)
	}
	var sawConfig bool
	err := filepath.Walk(filepath.Join(s.dataDir, "db"), func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, secret := range []string{"PlainTextPassword4711", "UGxhaW5UZXh0UGFzc3dvcmQ0NzEx"} {
			if bytes.Contains(data, []byte(secret)) {
				t.Errorf("%s holds the secret in plaintext", path)
			}
		}
		sawConfig = sawConfig || bytes.Contains(data, []byte("PlainConfigValue4711"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !sawConfig {
		t.Fatal("the ConfigMap value is not in the data dir either: the check looks in the wrong place")
	}
}

// TestWatchFromCompactedRevision: with a short history, a watch from an
// old resourceVersion gets 410 Gone (Expired), as client-go expects.
func TestWatchFromCompactedRevision(t *testing.T) {
	s := startServer(t, "--compaction-retention=1s")
	c := s.client().CoreV1().ConfigMaps("default")
	ctx := context.Background()
	first, err := c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "old revision compacted", func() bool {
		_, _ = c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "b-"}}, metav1.CreateOptions{})
		w, err := c.Watch(ctx, metav1.ListOptions{ResourceVersion: first.ResourceVersion})
		if err != nil {
			return apierrors.IsResourceExpired(err) || apierrors.IsGone(err)
		}
		defer w.Stop()
		select {
		case ev := <-w.ResultChan():
			if ev.Type == watch.Error {
				st := apierrors.FromObject(ev.Object)
				return apierrors.IsResourceExpired(st) || apierrors.IsGone(st)
			}
		case <-time.After(2 * time.Second):
		}
		return false
	})
	// A list at the compacted revision is refused the same way.
	_, err = c.List(ctx, metav1.ListOptions{ResourceVersion: first.ResourceVersion, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
	if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
		t.Fatalf("list at a compacted revision: %v", err)
	}
}

// TestExternalEtcd runs the server against an etcd it does not own (here
// started by the test on loopback, with TLS and client certificates) and
// checks objects survive a restart.
func TestExternalEtcd(t *testing.T) {
	dir := t.TempDir()
	ca, err := auth.LoadOrCreateCA(filepath.Join(dir, "pki"), "etcd-ca")
	if err != nil {
		t.Fatal(err)
	}
	serverCert, serverKey := issue(t, ca, dir, "etcd-server", auth.CertSpec{CommonName: "etcd", IPs: []net.IP{net.ParseIP("127.0.0.1")}, Server: true, Client: true})
	clientCert, clientKey := issue(t, ca, dir, "etcd-client", auth.CertSpec{CommonName: "skiff", Client: true})
	caFile := filepath.Join(dir, "pki", "ca.crt")

	cfg := embed.NewConfig()
	cfg.Dir = filepath.Join(dir, "etcd")
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	client := url.URL{Scheme: "https", Host: "127.0.0.1:" + strconv.Itoa(freePort(t))}
	peer := url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(freePort(t))}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.ClientTLSInfo.CertFile, cfg.ClientTLSInfo.KeyFile = serverCert, serverKey
	cfg.ClientTLSInfo.TrustedCAFile, cfg.ClientTLSInfo.ClientCertAuth = caFile, true
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close) // after the server's own cleanup: it holds connections
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(30 * time.Second):
		t.Fatal("etcd not ready")
	}
	s := startServer(t, "--datastore-endpoint", client.String(), "--datastore-cafile", caFile,
		"--datastore-certfile", clientCert, "--datastore-keyfile", clientKey)
	s.mustKubectl("apply", "-f", "testdata/app.yaml")
	s.restart()
	contains(t, s.mustKubectl("get", "deploy,svc,cm,secret", "-o", "name"), "deployment.apps/web", "service/web", "configmap/web-config", "secret/web-secret")
	if _, err := os.Stat(filepath.Join(s.dataDir, "db")); !os.IsNotExist(err) {
		t.Fatalf("an external datastore must not start an embedded etcd: %v", err)
	}
}

// issue writes a certificate and key from ca into dir.
func issue(t *testing.T, ca *auth.CA, dir, name string, spec auth.CertSpec) (string, string) {
	t.Helper()
	certPEM, keyPEM, err := ca.Issue(spec)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	writeFile(t, certFile, string(certPEM))
	writeFile(t, keyFile, string(keyPEM))
	return certFile, keyFile
}

// TestRestartKeepsObjects checks the embedded store across restarts.
func TestRestartKeepsObjects(t *testing.T) {
	s := startServer(t)
	s.mustKubectl("apply", "-f", "testdata/app.yaml")
	uid := s.mustKubectl("get", "deploy", "web", "-o", "jsonpath={.metadata.uid}")
	s.restart()
	if got := s.mustKubectl("get", "deploy", "web", "-o", "jsonpath={.metadata.uid}"); got != uid {
		t.Fatalf("uid after restart %q, want %q", got, uid)
	}
}
