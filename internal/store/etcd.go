package store

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
	"go.uber.org/zap"
)

// Embedded is an etcd server running inside this process. It listens for
// peers only on a loopback port and serves clients in-process, so no client
// port is open at all.
type Embedded struct {
	etcd      *embed.Etcd
	client    *clientv3.Client
	closeOnce sync.Once
}

// StartEmbedded starts etcd with its data in dir and waits until it serves.
func StartEmbedded(ctx context.Context, dir string) (*Embedded, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: etcd data dir: %w", err)
	}
	cfg := embed.NewConfig()
	cfg.Name = "skiff"
	cfg.Dir = dir
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	peer := url.URL{Scheme: "http", Host: "127.0.0.1:0"}
	cfg.ListenPeerUrls = []url.URL{peer}
	cfg.AdvertisePeerUrls = []url.URL{peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.ListenClientUrls = nil
	cfg.AdvertiseClientUrls = nil
	cfg.ListenClientHttpUrls = nil
	// A single member elects itself at once (ticks are advanced at boot),
	// so slow ticks cost no start-up time and save idle CPU.
	cfg.TickMs = 50
	cfg.ElectionMs = 250
	cfg.WatchProgressNotifyInterval = 5 * time.Second
	// Compaction is driven by the API server's compactor, as in Kubernetes.
	cfg.AutoCompactionRetention = "0"
	cfg.QuotaBackendBytes = 2 << 30
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("store: start etcd: %w", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("store: etcd: %w", err)
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, errors.New("store: etcd did not become ready in 60s")
	}
	return &Embedded{etcd: e, client: v3client.New(e.Server)}, nil
}

// Client returns the in-process client.
func (e *Embedded) Client() *clientv3.Client { return e.client }

// Err reports a fatal etcd error.
func (e *Embedded) Err() <-chan error { return e.etcd.Err() }

// Close stops etcd; it is safe to call more than once.
func (e *Embedded) Close() {
	e.closeOnce.Do(func() {
		_ = e.client.Close()
		e.etcd.Close()
	})
}

// ExternalConfig names an etcd cluster the server does not run.
type ExternalConfig struct {
	Endpoints []string
	CAFile    string
	CertFile  string
	KeyFile   string
}

// DialExternal connects to an external etcd cluster. Endpoints are URLs
// (https://host:2379) or host:port pairs.
func DialExternal(ctx context.Context, c ExternalConfig) (*clientv3.Client, error) {
	cfg := clientv3.Config{
		Endpoints:   c.Endpoints,
		DialTimeout: 10 * time.Second,
		Context:     ctx,
		Logger:      zap.NewNop(),
	}
	secure := c.CAFile != "" || c.CertFile != ""
	for _, ep := range c.Endpoints {
		secure = secure || strings.HasPrefix(ep, "https://")
	}
	if secure {
		tc, err := clientTLS(c)
		if err != nil {
			return nil, err
		}
		cfg.TLS = tc
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("store: connect to etcd %v: %w", c.Endpoints, err)
	}
	return cli, nil
}

func clientTLS(c ExternalConfig) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("store: etcd CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("store: etcd CA %s: no certificates", c.CAFile)
		}
		tc.RootCAs = pool
	}
	if c.CertFile != "" || c.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("store: etcd client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
