package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/skiff/skiff/bench/internal/benchutil"
	"github.com/skiff/skiff/internal/network/proxy"
)

// The traffic section: a node namespace with a bridge, a server pod
// listening on one port per endpoint, and a client pod that opens a
// connection per request (one byte each way, closed with a reset so no
// TIME_WAIT piles up). Only a connection's first packet goes through the
// nat chains, so connections per second is what the proxy can slow down.

const (
	serverIP = "10.42.0.10"
	clientIP = "10.42.0.11"
	workers  = 4
	rounds   = 3
)

func medianRate(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

type trafficNet struct {
	node, server, client *netns
}

func (t *trafficNet) close() {
	for _, n := range []*netns{t.client, t.server, t.node} {
		if n != nil {
			n.close()
		}
	}
}

func newTrafficNet() (*trafficNet, error) {
	t := &trafficNet{}
	var err error
	if t.node, err = newNetns("node"); err != nil {
		return t, err
	}
	steps := [][]string{
		{"link", "add", "br0", "type", "bridge"},
		{"addr", "add", "10.42.0.1/24", "dev", "br0"},
		{"link", "set", "br0", "up"},
	}
	for _, s := range steps {
		if err := t.node.ip(s...); err != nil {
			return t, err
		}
	}
	if err := t.node.exec("sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=1"); err != nil {
		return t, err
	}
	if t.server, err = t.pod("server", "vs", serverIP); err != nil {
		return t, err
	}
	t.client, err = t.pod("client", "vc", clientIP)
	return t, err
}

func (t *trafficNet) pod(role, veth, addr string) (*netns, error) {
	n, err := newNetns(role)
	if err != nil {
		return nil, err
	}
	steps := []func() error{
		func() error {
			return t.node.ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", n.name)
		},
		func() error { return t.node.ip("link", "set", veth, "master", "br0", "up") },
		func() error { return n.ip("addr", "add", addr+"/24", "dev", "eth0") },
		func() error { return n.ip("link", "set", "eth0", "up") },
		func() error { return n.ip("route", "add", "default", "via", "10.42.0.1") },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			n.close()
			return nil, err
		}
	}
	return n, nil
}

// serve listens on ports in ns until ctx ends; each connection gets one
// byte back for one byte.
func serve(ctx context.Context, ns *netns, ports []int) (*sync.WaitGroup, error) {
	lns := make(chan net.Listener, len(ports))
	errc := make(chan error, 1)
	go func() {
		if err := ns.enter(); err != nil { // this thread is retired at the end
			errc <- err
			return
		}
		for _, p := range ports {
			ln, err := net.Listen("tcp4", fmt.Sprintf(":%d", p))
			if err != nil {
				errc <- err
				return
			}
			lns <- ln
		}
		errc <- nil
	}()
	if err := <-errc; err != nil {
		return nil, err
	}
	close(lns)
	var wg sync.WaitGroup
	for ln := range lns {
		wg.Add(2)
		go func() { defer wg.Done(); <-ctx.Done(); ln.Close() }()
		go func() {
			defer wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go answer(c)
			}
		}()
	}
	return &wg, nil
}

func answer(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 1)
	if _, err := io.ReadFull(c, b); err != nil {
		return
	}
	if _, err := c.Write(b); err != nil {
		return
	}
	_, _ = c.Read(b) // until the client's reset
}

// connRate opens connections to addr from ns for d with a few workers and
// returns connections per second.
func connRate(ctx context.Context, ns *netns, addr string, d time.Duration) (float64, error) {
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := ns.enter(); err != nil {
				firstErr.CompareAndSwap(nil, err)
				return
			}
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if err := request(addr); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		return 0, fmt.Errorf("%d of %d connections to %s failed, first: %v", f, f+ok.Load(), addr, firstErr.Load())
	}
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, err
	}
	return float64(ok.Load()) / d.Seconds(), nil
}

func request(addr string) error {
	c, err := net.DialTimeout("tcp4", addr, time.Second)
	if err != nil {
		return err
	}
	tc := c.(*net.TCPConn)
	defer tc.Close()
	_ = tc.SetLinger(0)
	_ = tc.SetDeadline(time.Now().Add(time.Second))
	if _, err := tc.Write([]byte{'x'}); err != nil {
		return err
	}
	b := make([]byte, 1)
	if _, err := io.ReadFull(tc, b); err != nil {
		return err
	}
	if b[0] != 'x' {
		return errors.New("wrong answer")
	}
	return nil
}

func runTraffic(ctx context.Context, b *bench) ([]benchutil.Result, error) {
	tn, err := newTrafficNet()
	defer tn.close()
	if err != nil {
		return nil, err
	}
	ports := make([]int, b.endpoints)
	var epSlices []*discoveryv1.EndpointSlice
	for j := range ports {
		ports[j] = targetPort + j
		epSlices = append(epSlices, &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Namespace: namespace, Name: fmt.Sprintf("svc-00000-%d", j)},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(int32(ports[j])), Protocol: ptr.To(v1.ProtocolTCP)}},
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{serverIP}}},
		})
	}
	sctx, stop := context.WithCancel(ctx)
	wg, err := serve(sctx, tn.server, ports)
	if err != nil {
		stop()
		return nil, err
	}
	defer func() { stop(); wg.Wait() }()

	d := time.Duration(b.seconds) * time.Second
	podAddr := fmt.Sprintf("%s:%d", serverIP, targetPort)
	var bares []float64
	for range rounds {
		bare, err := connRate(ctx, tn.client, podAddr, d)
		if err != nil {
			return nil, err
		}
		bares = append(bares, bare)
	}
	bare := medianRate(bares)
	s, err := proxy.NewSyncer(proxy.Config{NetNS: tn.node.fd, ClusterCIDR: clusterCIDR, Log: quiet})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	stageAll(s, b.services, b.endpoints)
	s.SetService(service(0), epSlices)
	if _, err := s.Sync(); err != nil {
		return nil, err
	}
	// Alternate, so that load from other work hits both alike.
	var pods, svcs []float64
	for range rounds {
		pod, err := connRate(ctx, tn.client, podAddr, d)
		if err != nil {
			return nil, err
		}
		svc, err := connRate(ctx, tn.client, service(0).Spec.ClusterIP+":80", d)
		if err != nil {
			return nil, err
		}
		pods, svcs = append(pods, pod), append(svcs, svc)
	}
	pod, svc := medianRate(pods), medianRate(svcs)
	how := fmt.Sprintf("%d workers in a client pod, a connection per 1-byte request, bridge with br_netfilter; median of %d runs of %ds", workers, rounds, b.seconds)
	return []benchutil.Result{
		row("connections/s to the pod IP, no proxy table", fmt.Sprintf("%.0f", bare), how),
		row("connections/s to the pod IP, proxy table loaded", fmt.Sprintf("%.0f", pod), how+"; "+b.size()+" in the table"),
		row("connections/s to the cluster IP", fmt.Sprintf("%.0f (%.0f %% of the pod IP)", svc, 100*svc/pod), how+"; DNAT to one of "+fmt.Sprint(b.endpoints)+" ports of the pod"),
	}, nil
}
