package proxy

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// topology is a node like a skiff node, all in throwaway namespaces: the
// node namespace has a bridge br0 (10.42.0.1/24, hairpin on its ports)
// with pods behind it, an uplink to an "external" host (node
// 192.168.77.1, external 192.168.77.2) and the service CIDR routed to the
// bridge, so that host-originated traffic to cluster IPs gets past the
// routing decision to the nat output hook (this kernel has no dummy
// devices) and nothing leaves.
type topology struct {
	node *testNS
	ext  *testNS
	pods map[string]*testPod
}

type testPod struct {
	name string
	ns   *testNS
	ip   string
}

const (
	bridgeIP  = "10.42.0.1"
	nodeExtIP = "192.168.77.1"
	extIP     = "192.168.77.2"
	// externalIP is a Service's external IP, routed to the node.
	externalIP = "192.168.78.1"
	podPort    = 8080 // TCP and UDP servers in every pod
)

func newTopology(t *testing.T, pods ...string) *topology {
	t.Helper()
	node := newNS(t, "node")
	node.run(t, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	node.run(t, "sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=1")
	node.run(t, "ip", "link", "add", "br0", "type", "bridge")
	node.run(t, "ip", "addr", "add", bridgeIP+"/24", "dev", "br0")
	node.run(t, "ip", "link", "set", "br0", "up")
	node.run(t, "ip", "route", "add", "10.43.0.0/16", "dev", "br0")

	tp := &topology{node: node, pods: map[string]*testPod{}}
	for i, name := range pods {
		tp.pods[name] = tp.addPod(t, i, name)
	}
	ext := newNS(t, "ext")
	node.run(t, "ip", "link", "add", "up0", "type", "veth", "peer", "name", "eth0", "netns", ext.name)
	node.run(t, "ip", "addr", "add", nodeExtIP+"/24", "dev", "up0")
	node.run(t, "ip", "link", "set", "up0", "up")
	ext.run(t, "ip", "addr", "add", extIP+"/24", "dev", "eth0")
	ext.run(t, "ip", "link", "set", "eth0", "up")
	ext.run(t, "ip", "route", "add", "default", "via", nodeExtIP)
	tp.ext = ext
	return tp
}

func (tp *topology) addPod(t *testing.T, i int, name string) *testPod {
	t.Helper()
	ns := newNS(t, name)
	p := &testPod{name: name, ns: ns, ip: fmt.Sprintf("10.42.0.%d", 10+i)}
	veth := fmt.Sprintf("vp%d", i)
	tp.node.run(t, "ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns.name)
	tp.node.run(t, "ip", "link", "set", veth, "master", "br0", "up")
	tp.node.run(t, "ip", "link", "set", veth, "type", "bridge_slave", "hairpin", "on")
	ns.run(t, "ip", "addr", "add", p.ip+"/24", "dev", "eth0")
	ns.run(t, "ip", "link", "set", "eth0", "up")
	ns.run(t, "ip", "route", "add", "default", "via", bridgeIP)
	serve(t, ns, name)
	return p
}

// serve runs a TCP and a UDP server on podPort in ns until the test ends.
// Both answer "<name> <client address>".
func serve(t *testing.T, ns *testNS, name string) {
	t.Helper()
	var ln net.Listener
	var pc net.PacketConn
	err := inNetns(ns.fd, func() error {
		var err error
		if ln, err = net.Listen("tcp4", fmt.Sprintf(":%d", podPort)); err != nil {
			return err
		}
		pc, err = net.ListenPacket("udp4", fmt.Sprintf(":%d", podPort))
		return err
	})
	if err != nil {
		t.Fatalf("listen in %s: %v", ns.name, err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "%s %s\n", name, c.RemoteAddr())
			c.Close()
		}
	}()
	go func() {
		defer wg.Done()
		buf := make([]byte, 512)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo([]byte(fmt.Sprintf("%s %s\n", name, from)), from)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		pc.Close()
		wg.Wait()
	})
}

// reply is what a test server answered.
type reply struct {
	server string // pod name
	client string // the client address the server saw, without port
}

// dial connects to addr from inside ns and reads the server's answer.
func dial(ns *testNS, network, addr string) (reply, error) {
	return dialTimeout(ns, network, addr, 2*time.Second)
}

func dialTimeout(ns *testNS, network, addr string, timeout time.Duration) (reply, error) {
	return dialFrom(ns, network, nil, addr, timeout)
}

// dialFrom dials from a given local address (nil: any).
func dialFrom(ns *testNS, network string, local net.Addr, addr string, timeout time.Duration) (reply, error) {
	var c net.Conn
	err := inNetns(ns.fd, func() error {
		var err error
		c, err = (&net.Dialer{Timeout: timeout, LocalAddr: local}).Dial(network, addr)
		return err
	})
	if err != nil {
		return reply{}, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if network == "udp4" {
		if _, err := c.Write([]byte("hi")); err != nil {
			return reply{}, err
		}
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return reply{}, err
	}
	f := strings.Fields(line)
	if len(f) != 2 {
		return reply{}, fmt.Errorf("bad answer %q", line)
	}
	host, _, err := net.SplitHostPort(f[1])
	if err != nil {
		return reply{}, err
	}
	return reply{server: f[0], client: host}, nil
}

// hits dials n times and counts the answers per server.
func hits(t *testing.T, ns *testNS, network, addr string, n int) map[string]int {
	t.Helper()
	out := map[string]int{}
	for range n {
		r, err := dial(ns, network, addr)
		if err != nil {
			t.Fatalf("%s %s from %s: %v", network, addr, ns.name, err)
		}
		out[r.server]++
	}
	return out
}
