package apiserver

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/store"
)

// allocator hands out what a resource's objects hold besides their key
// (a service's cluster IP and node ports). The holdings are keys in the
// store, taken and released in the same transaction as the object, so two
// objects can never hold the same one and nothing leaks on a crash.
type allocator interface {
	// allocate fills in what obj needs (cur is nil on a create), checks
	// what the client chose, and returns the claims that take obj's new
	// holdings and release those cur held and obj no longer does.
	allocate(ctx context.Context, obj, cur runtime.Object, dryRun bool) ([]store.Claim, error)
	// release returns the claims that free obj's holdings.
	release(obj runtime.Object) []store.Claim
}

// maxAllocateAttempts bounds the retries when a concurrent write took a
// value this one picked.
const maxAllocateAttempts = 32

// Keys of the service allocations.
const (
	serviceIPPrefix       = "/registry/ranges/serviceips/"
	serviceNodePortPrefix = "/registry/ranges/servicenodeports/"
)

// PortRange is a range of node ports, Base to Base+Size-1.
type PortRange struct{ Base, Size int }

// DefaultNodePortRange is Kubernetes' 30000-32767.
var DefaultNodePortRange = PortRange{Base: 30000, Size: 2768}

func (r PortRange) String() string { return fmt.Sprintf("%d-%d", r.Base, r.Base+r.Size-1) }

func (r PortRange) contains(p int32) bool { return int(p) >= r.Base && int(p) < r.Base+r.Size }

// ParsePortRange reads "30000-32767".
func ParsePortRange(s string) (PortRange, error) {
	var lo, hi int
	if _, err := fmt.Sscanf(s, "%d-%d", &lo, &hi); err != nil || lo < 1 || hi > 65535 || hi < lo {
		return PortRange{}, fmt.Errorf("invalid port range %q (want e.g. 30000-32767)", s)
	}
	return PortRange{Base: lo, Size: hi - lo + 1}, nil
}

// serviceAllocator allocates cluster IPs from the service CIDR and node
// ports from their range.
type serviceAllocator struct {
	st    *store.Store
	cidr  *net.IPNet
	ports PortRange
	// base and size describe the usable IPs (network and broadcast
	// addresses excluded); dynamic picks come from offsets >= static,
	// leaving the lower band for addresses users choose (as Kubernetes).
	base   uint32
	size   uint32
	static uint32
}

func newServiceAllocator(st *store.Store, cidr *net.IPNet, ports PortRange) (*serviceAllocator, error) {
	ip4 := cidr.IP.To4()
	ones, bits := cidr.Mask.Size()
	if ip4 == nil || bits != 32 || ones > 30 {
		return nil, fmt.Errorf("apiserver: service CIDR %s: want an IPv4 range of at least 4 addresses", cidr)
	}
	size := uint32(1)<<(32-ones) - 2
	static := min(max(16, size/16), 256)
	if static >= size {
		static = 0
	}
	return &serviceAllocator{st: st, cidr: cidr, ports: ports,
		base: binary.BigEndian.Uint32(ip4) + 1, size: size, static: static}, nil
}

func ipKey(ip string) string           { return serviceIPPrefix + ip }
func portKey(p int32) string           { return serviceNodePortPrefix + strconv.Itoa(int(p)) }
func owner(svc *corev1.Service) []byte { return []byte(svc.Namespace + "/" + svc.Name) }

// heldIPs and heldPorts are what a stored service holds.
func heldIPs(svc *corev1.Service) []string {
	if svc == nil || svc.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	var out []string
	for _, ip := range svc.Spec.ClusterIPs {
		if ip != "" && ip != corev1.ClusterIPNone {
			out = append(out, ip)
		}
	}
	return out
}

func heldPorts(svc *corev1.Service) []int32 {
	if svc == nil {
		return nil
	}
	seen := map[int32]bool{}
	var out []int32
	add := func(p int32) {
		if p != 0 && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, p := range svc.Spec.Ports {
		add(p.NodePort)
	}
	add(svc.Spec.HealthCheckNodePort)
	return out
}

func (a *serviceAllocator) release(obj runtime.Object) []store.Claim {
	svc := obj.(*corev1.Service)
	var claims []store.Claim
	for _, ip := range heldIPs(svc) {
		claims = append(claims, store.Claim{Key: ipKey(ip)})
	}
	for _, p := range heldPorts(svc) {
		claims = append(claims, store.Claim{Key: portKey(p)})
	}
	return claims
}

func (a *serviceAllocator) allocate(ctx context.Context, obj, cur runtime.Object, dryRun bool) ([]store.Claim, error) {
	svc := obj.(*corev1.Service)
	var prev *corev1.Service
	if cur != nil {
		prev = cur.(*corev1.Service)
	}
	var errs field.ErrorList
	var claims []store.Claim
	ipClaims, err := a.allocateIPs(ctx, svc, prev, &errs)
	if err != nil {
		return nil, err
	}
	portClaims, err := a.allocatePorts(ctx, svc, prev, &errs)
	if err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return nil, apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Service").GroupKind(), svc.Name, errs)
	}
	claims = append(append(claims, ipClaims...), portClaims...)
	// Release what the stored service held and this one no longer does.
	keep := map[string]bool{}
	for _, ip := range heldIPs(svc) {
		keep[ipKey(ip)] = true
	}
	for _, p := range heldPorts(svc) {
		keep[portKey(p)] = true
	}
	if prev != nil {
		for _, c := range a.release(prev) {
			if !keep[c.Key] {
				claims = append(claims, c)
			}
		}
	}
	if dryRun {
		return nil, nil
	}
	return claims, nil
}

// allocateIPs gives a service that needs one its cluster IP: the one the
// client chose if it is in range and free, else a free one.
func (a *serviceAllocator) allocateIPs(ctx context.Context, svc, prev *corev1.Service, errs *field.ErrorList) ([]store.Claim, error) {
	spec := &svc.Spec
	if spec.Type == corev1.ServiceTypeExternalName || (len(spec.ClusterIPs) > 0 && spec.ClusterIPs[0] == corev1.ClusterIPNone) {
		return nil, nil
	}
	families := field.NewPath("spec", "ipFamilies")
	for i, f := range spec.IPFamilies {
		if f != corev1.IPv4Protocol {
			if spec.IPFamilyPolicy != nil && *spec.IPFamilyPolicy == corev1.IPFamilyPolicyRequireDualStack {
				*errs = append(*errs, field.Invalid(field.NewPath("spec", "ipFamilyPolicy"), *spec.IPFamilyPolicy,
					"this cluster is not configured for dual-stack services"))
				return nil, nil
			}
			if i == 0 {
				*errs = append(*errs, field.Invalid(families.Index(i), f, "not configured on this cluster"))
				return nil, nil
			}
			spec.IPFamilies = spec.IPFamilies[:i]
			break
		}
	}
	if len(spec.ClusterIPs) > 1 {
		*errs = append(*errs, field.Invalid(field.NewPath("spec", "clusterIPs").Index(1), spec.ClusterIPs[1],
			"this cluster is not configured for dual-stack services"))
		return nil, nil
	}
	held := map[string]bool{}
	for _, ip := range heldIPs(prev) {
		held[ip] = true
	}
	path := field.NewPath("spec", "clusterIPs").Index(0)
	if len(spec.ClusterIPs) == 1 {
		ip := spec.ClusterIPs[0]
		if held[ip] {
			return nil, nil
		}
		parsed := net.ParseIP(ip)
		if parsed == nil || !a.cidr.Contains(parsed) || !a.usable(parsed) {
			*errs = append(*errs, field.Invalid(path, ip, fmt.Sprintf(
				"failed to allocate IP %s: the provided IP (%s) is not in the valid range. The range of valid IPs is %s", ip, ip, a.cidr)))
			return nil, nil
		}
		taken, err := a.st.Taken(ctx, ipKey(ip))
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		if taken {
			*errs = append(*errs, field.Invalid(path, ip, fmt.Sprintf("failed to allocate IP %s: provided IP is already allocated", ip)))
			return nil, nil
		}
		return []store.Claim{{Key: ipKey(ip), Value: owner(svc)}}, nil
	}
	ip, err := a.pickIP(ctx)
	if err != nil {
		return nil, err
	}
	spec.ClusterIP, spec.ClusterIPs = ip, []string{ip}
	return []store.Claim{{Key: ipKey(ip), Value: owner(svc)}}, nil
}

// usable excludes the network and broadcast addresses.
func (a *serviceAllocator) usable(ip net.IP) bool {
	v := binary.BigEndian.Uint32(ip.To4())
	return v >= a.base && v < a.base+a.size
}

func (a *serviceAllocator) ipAt(off uint32) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], a.base+off)
	return net.IP(b[:]).String()
}

// pickIP returns a free address, preferring the upper band: a few random
// probes (the range is mostly empty), then a scan of what is taken.
func (a *serviceAllocator) pickIP(ctx context.Context) (string, error) {
	band := a.size - a.static
	for range 4 {
		ip := a.ipAt(a.static + rand.Uint32N(band))
		taken, err := a.st.Taken(ctx, ipKey(ip))
		if err != nil {
			return "", apierrors.NewInternalError(err)
		}
		if !taken {
			return ip, nil
		}
	}
	used, err := a.st.Claimed(ctx, serviceIPPrefix)
	if err != nil {
		return "", apierrors.NewInternalError(err)
	}
	start := rand.Uint32N(band)
	for i := range a.size {
		// The upper band from a random start, then the lower band.
		off := a.static + (start+i)%band
		if i >= band {
			off = i - band
		}
		if ip := a.ipAt(off); used[ipKey(ip)] == nil {
			return ip, nil
		}
	}
	return "", apierrors.NewInternalError(errors.New("failed to allocate a serviceIP: range is full"))
}

// allocatePorts gives every port of a NodePort or LoadBalancer service a
// node port (the chosen one if free) and a health check port where the
// service needs one.
func (a *serviceAllocator) allocatePorts(ctx context.Context, svc, prev *corev1.Service, errs *field.ErrorList) ([]store.Claim, error) {
	spec := &svc.Spec
	held := map[int32]bool{}
	for _, p := range heldPorts(prev) {
		held[p] = true
	}
	mine := map[int32]bool{} // taken by this request already
	var claims []store.Claim
	take := func(path *field.Path, p *int32) error {
		if *p != 0 {
			if held[*p] || mine[*p] {
				mine[*p] = true
				return nil
			}
			if !a.ports.contains(*p) {
				*errs = append(*errs, field.Invalid(path, *p, fmt.Sprintf(
					"provided port is not in the valid range. The range of valid ports is %s", a.ports)))
				return nil
			}
			taken, err := a.st.Taken(ctx, portKey(*p))
			if err != nil {
				return apierrors.NewInternalError(err)
			}
			if taken {
				*errs = append(*errs, field.Invalid(path, *p, "provided port is already allocated"))
				return nil
			}
		} else {
			np, err := a.pickPort(ctx, mine)
			if err != nil {
				return err
			}
			*p = np
		}
		mine[*p] = true
		claims = append(claims, store.Claim{Key: portKey(*p), Value: owner(svc)})
		return nil
	}
	needPorts := spec.Type == corev1.ServiceTypeNodePort ||
		(spec.Type == corev1.ServiceTypeLoadBalancer && (spec.AllocateLoadBalancerNodePorts == nil || *spec.AllocateLoadBalancerNodePorts))
	// Ports the client set first, so a dynamic pick cannot take them.
	for _, pass := range []bool{true, false} {
		for i := range spec.Ports {
			p := &spec.Ports[i]
			if (p.NodePort != 0) != pass || (!needPorts && p.NodePort == 0) {
				continue
			}
			if err := take(field.NewPath("spec", "ports").Index(i).Child("nodePort"), &p.NodePort); err != nil {
				return nil, err
			}
		}
	}
	if spec.Type == corev1.ServiceTypeLoadBalancer && spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal {
		if err := take(field.NewPath("spec", "healthCheckNodePort"), &spec.HealthCheckNodePort); err != nil {
			return nil, err
		}
	}
	return claims, nil
}

func (a *serviceAllocator) pickPort(ctx context.Context, mine map[int32]bool) (int32, error) {
	for range 4 {
		p := int32(a.ports.Base + rand.IntN(a.ports.Size))
		if mine[p] {
			continue
		}
		taken, err := a.st.Taken(ctx, portKey(p))
		if err != nil {
			return 0, apierrors.NewInternalError(err)
		}
		if !taken {
			return p, nil
		}
	}
	used, err := a.st.Claimed(ctx, serviceNodePortPrefix)
	if err != nil {
		return 0, apierrors.NewInternalError(err)
	}
	start := rand.IntN(a.ports.Size)
	for i := range a.ports.Size {
		p := int32(a.ports.Base + (start+i)%a.ports.Size)
		if !mine[p] && used[portKey(p)] == nil {
			return p, nil
		}
	}
	return 0, apierrors.NewInternalError(errors.New("failed to allocate a nodePort: range is full"))
}

// RepairServiceAllocations takes the allocation keys of stored services
// that lack them (services written before allocations were kept, or
// restored from a backup), so no new service can be given their cluster
// IP or node ports. It runs before the server serves; a service deleted
// meanwhile through another server may leave its keys held.
func (s *Server) RepairServiceAllocations(ctx context.Context) error {
	h := s.handlers[gvrKey("", "v1", "services")]
	if h == nil || h.alloc == nil {
		return nil
	}
	res, err := s.cfg.Store.List(ctx, h.prefix(""), store.ListOptions{})
	if err != nil {
		return fmt.Errorf("apiserver: repair service allocations: %w", err)
	}
	for _, kv := range res.KVs {
		obj, err := h.decodeServed(kv)
		if err != nil {
			return err
		}
		svc := obj.(*corev1.Service)
		claims := h.alloc.release(svc) // the keys it holds, without values
		for _, c := range claims {
			c.Value = owner(svc)
			took, err := s.cfg.Store.TakeIfFree(ctx, c)
			if err != nil {
				return fmt.Errorf("apiserver: repair %s: %w", c.Key, err)
			}
			if took {
				s.log.Info("took a service allocation it lacked", "service", svc.Namespace+"/"+svc.Name, "key", c.Key)
			}
		}
	}
	return nil
}
