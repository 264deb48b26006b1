package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiff/skiff/internal/network/dns"
)

// systemService is a selectorless service whose endpoints are the server
// itself: `kubernetes` (the API) and `kube-dns` (the embedded DNS).
type systemService struct {
	namespace, name string
	labels          map[string]string
	clusterIP       net.IP
	// ports pairs each service port with the port the server listens on.
	ports []systemPort
}

type systemPort struct {
	name     string
	protocol corev1.Protocol
	port     int32
	target   int32
}

// firstServiceIP is the service CIDR's first address, the `kubernetes`
// service's.
func firstServiceIP(cidr *net.IPNet) net.IP {
	ip := cidr.IP.To4()
	if ip == nil {
		return nil
	}
	next := make(net.IP, 4)
	copy(next, ip)
	next[3]++
	return next
}

// kubernetesService describes default/kubernetes for an API server on port.
func kubernetesService(cidr *net.IPNet, port int) systemService {
	return systemService{
		namespace: metav1.NamespaceDefault, name: "kubernetes",
		labels:    map[string]string{"component": "apiserver", "provider": "kubernetes"},
		clusterIP: firstServiceIP(cidr),
		ports:     []systemPort{{name: "https", protocol: corev1.ProtocolTCP, port: 443, target: int32(port)}},
	}
}

// dnsService describes kube-system/kube-dns for the DNS server on port.
func dnsService(ip net.IP, port int) systemService {
	return systemService{
		namespace: metav1.NamespaceSystem, name: "kube-dns",
		labels:    map[string]string{"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "skiff-dns"},
		clusterIP: ip,
		ports: []systemPort{
			{name: "dns", protocol: corev1.ProtocolUDP, port: 53, target: int32(port)},
			{name: "dns-tcp", protocol: corev1.ProtocolTCP, port: 53, target: int32(port)},
		},
	}
}

// reconcileSystemServices keeps the services and their endpoints pointing
// at this server: at start, and again every minute in case a user or a
// restart elsewhere changed them. With several servers the last one to
// write wins (a lease-based list of servers is future work).
func reconcileSystemServices(ctx context.Context, client kubernetes.Interface, addr net.IP, log *slog.Logger, svcs ...systemService) {
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		for _, s := range svcs {
			if err := s.reconcile(ctx, client, addr); err != nil && ctx.Err() == nil {
				log.Warn("system service", "service", s.namespace+"/"+s.name, "err", err)
			}
		}
	}, time.Minute)
}

func (s systemService) reconcile(ctx context.Context, client kubernetes.Interface, addr net.IP) error {
	if err := s.ensureService(ctx, client); err != nil {
		return err
	}
	if err := s.ensureEndpoints(ctx, client, addr); err != nil {
		return err
	}
	return s.ensureSlice(ctx, client, addr)
}

func (s systemService) ensureService(ctx context.Context, client kubernetes.Interface) error {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.namespace, Name: s.name, Labels: s.labels},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: s.clusterIP.String()},
	}
	for _, p := range s.ports {
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: p.name, Protocol: p.protocol, Port: p.port, TargetPort: intstr.FromInt32(p.target)})
	}
	cur, err := client.CoreV1().Services(s.namespace).Get(ctx, s.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = client.CoreV1().Services(s.namespace).Create(ctx, svc, metav1.CreateOptions{FieldManager: "skiff-server"})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create: %w", err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	// The ports follow the server (the API port may change); the rest is
	// the user's to change.
	if !apiequality.Semantic.DeepEqual(cur.Spec.Ports, svc.Spec.Ports) {
		cur.Spec.Ports = svc.Spec.Ports
		_, err = client.CoreV1().Services(s.namespace).Update(ctx, cur, metav1.UpdateOptions{FieldManager: "skiff-server"})
	}
	return err
}

func (s systemService) ensureEndpoints(ctx context.Context, client kubernetes.Interface, addr net.IP) error {
	subset := corev1.EndpointSubset{Addresses: []corev1.EndpointAddress{{IP: addr.String()}}}
	for _, p := range s.ports {
		subset.Ports = append(subset.Ports, corev1.EndpointPort{Name: p.name, Port: p.target, Protocol: p.protocol})
	}
	want := &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.namespace, Name: s.name, Labels: s.labels},
		Subsets:    []corev1.EndpointSubset{subset},
	}
	cur, err := client.CoreV1().Endpoints(s.namespace).Get(ctx, s.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = client.CoreV1().Endpoints(s.namespace).Create(ctx, want, metav1.CreateOptions{FieldManager: "skiff-server"})
		if apierrors.IsAlreadyExists(err) {
			err = nil
		}
		return err
	}
	if err != nil || apiequality.Semantic.DeepEqual(cur.Subsets, want.Subsets) {
		return err
	}
	cur.Subsets = want.Subsets
	_, err = client.CoreV1().Endpoints(s.namespace).Update(ctx, cur, metav1.UpdateOptions{FieldManager: "skiff-server"})
	return err
}

func (s systemService) ensureSlice(ctx context.Context, client kubernetes.Interface, addr net.IP) error {
	ready := true
	labels := map[string]string{discoveryv1.LabelServiceName: s.name}
	want := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: s.namespace, Name: s.name, Labels: labels},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{addr.String()}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
	}
	for _, p := range s.ports {
		name, proto, port := p.name, p.protocol, p.target
		want.Ports = append(want.Ports, discoveryv1.EndpointPort{Name: &name, Protocol: &proto, Port: &port})
	}
	cur, err := client.DiscoveryV1().EndpointSlices(s.namespace).Get(ctx, s.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = client.DiscoveryV1().EndpointSlices(s.namespace).Create(ctx, want, metav1.CreateOptions{FieldManager: "skiff-server"})
		if apierrors.IsAlreadyExists(err) {
			err = nil
		}
		return err
	}
	if err != nil {
		return err
	}
	if apiequality.Semantic.DeepEqual(cur.Endpoints, want.Endpoints) && apiequality.Semantic.DeepEqual(cur.Ports, want.Ports) {
		return nil
	}
	cur.Endpoints, cur.Ports = want.Endpoints, want.Ports
	_, err = client.DiscoveryV1().EndpointSlices(s.namespace).Update(ctx, cur, metav1.UpdateOptions{FieldManager: "skiff-server"})
	return err
}

// runClusterServices runs the cluster DNS and keeps the services the
// server itself backs: kubernetes (the API) and kube-dns.
func runClusterServices(ctx context.Context, cfg *rest.Config, sc Config, apiPort int) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	addr := sc.AdvertiseAddress
	if addr == nil {
		addr = sc.Agent.NodeIP
	}
	if addr == nil || sc.ServiceCIDR == nil {
		return nil
	}
	svcs := []systemService{kubernetesService(sc.ServiceCIDR, apiPort)}
	g, gctx := errgroup.WithContext(ctx)
	if sc.DNSPort >= 0 && sc.Agent.ClusterDNS != nil {
		srv, err := startDNS(client, addr, sc)
		if err != nil {
			return err
		}
		g.Go(func() error { return srv.Run(gctx) })
		svcs = append(svcs, dnsService(sc.Agent.ClusterDNS, int(srv.Addr().Port())))
	}
	g.Go(func() error {
		reconcileSystemServices(gctx, client, addr, sc.Log, svcs...)
		return nil
	})
	return g.Wait()
}

// startDNS binds the cluster DNS on the advertise address: on DNSPort, or
// a free port when that one is taken (pods only ever see the service's
// port 53).
func startDNS(client kubernetes.Interface, addr net.IP, sc Config) (*dns.Server, error) {
	cfg := dns.Config{Client: client, Domain: sc.Agent.ClusterDomain, Upstreams: sc.DNSUpstreams, Log: sc.Log,
		Addr: net.JoinHostPort(addr.String(), strconv.Itoa(sc.DNSPort))}
	// It listens on a node address: forward other names only for the
	// cluster (pods, services, nodes), not for the network around it.
	for _, n := range []*net.IPNet{sc.ClusterCIDR, sc.ServiceCIDR} {
		if n == nil {
			continue
		}
		if ip, ok := netip.AddrFromSlice(n.IP); ok {
			ones, _ := n.Mask.Size()
			cfg.RecursionFrom = append(cfg.RecursionFrom, netip.PrefixFrom(ip.Unmap(), ones))
		}
	}
	srv, err := dns.New(cfg)
	if err != nil && sc.DNSPort != 0 && errors.Is(err, syscall.EADDRINUSE) {
		sc.Log.Info("cluster DNS port taken, using a free one", "port", sc.DNSPort)
		cfg.Addr = net.JoinHostPort(addr.String(), "0")
		srv, err = dns.New(cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("server: cluster DNS: %w", err)
	}
	sc.Log.Info("cluster DNS listening", "address", srv.Addr().String(), "upstreams", srv.Upstreams())
	return srv, nil
}
