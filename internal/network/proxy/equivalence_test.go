package proxy

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/utils/ptr"
)

// TestIncrementalEqualsFull applies random changes to a few Services one
// sync at a time, then checks that the table is the one a single full
// sync of the final state writes (slot numbers aside).
func TestIncrementalEqualsFull(t *testing.T) {
	requireRoot(t)
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) { incrementalEqualsFull(t, seed) })
	}
}

func incrementalEqualsFull(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	incrNS, fullNS := newNS(t, "incr"), newNS(t, "full")
	incr := newTestSyncer(t, incrNS)
	gen := &serviceGen{rng: rng, svcs: map[int]*genService{}}
	for step := range 120 {
		i, what := gen.step()
		if svc, sl := gen.objects(i); svc != nil {
			incr.SetService(svc, sl)
		} else {
			incr.DeleteService("default", fmt.Sprintf("g%d", i))
		}
		for incr.Pending() {
			if _, err := incr.Sync(); err != nil {
				t.Fatalf("step %d (%s of g%d): %v", step, what, i, err)
			}
		}
		if step%20 == 19 {
			compareWithFull(t, gen, incr, incrNS, fullNS, step)
		}
	}
}

// compareWithFull writes the generator's Services into fullNS with one
// full sync and compares that table with the incremental one.
func compareWithFull(t *testing.T, gen *serviceGen, incr *Syncer, incrNS, fullNS *testNS, step int) {
	t.Helper()
	full, err := NewSyncer(Config{NetNS: fullNS.fd, ClusterCIDR: incr.cidr, NodeName: incr.node, Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer full.conn.close()
	for i := range gen.svcs {
		if svc, sl := gen.objects(i); svc != nil {
			full.SetService(svc, sl)
		}
	}
	if st := mustSync(t, full); !st.Full {
		t.Fatalf("first sync not full")
	}
	a := normalized(t, incr.slots.of, incrNS)
	b := normalized(t, full.slots.of, fullNS)
	if diff := cmp.Diff(b, a); diff != "" {
		t.Fatalf("after step %d the incremental table differs from a full sync (-full +incremental):\n%s", step, diff)
	}
}

// genService is a randomly evolving Service.
type genService struct {
	deleted, affinity, nodePort, external, local, udp bool
	timeout                                           int32
	eps                                               []genEndpoint
}

type genEndpoint struct {
	host        int
	ready, term bool
	node        string
}

type serviceGen struct {
	rng  *rand.Rand
	svcs map[int]*genService
}

func (g *serviceGen) step() (int, string) {
	i := g.rng.IntN(6)
	s, ok := g.svcs[i]
	if !ok || s.deleted {
		s = &genService{timeout: 60}
		g.svcs[i] = s
		g.endpoints(s)
		return i, "create"
	}
	switch g.rng.IntN(8) {
	case 0:
		s.deleted = true
		return i, "delete"
	case 1:
		s.affinity = !s.affinity
		return i, "affinity"
	case 2:
		s.timeout = []int32{30, 60, 90}[g.rng.IntN(3)]
		return i, "timeout"
	case 3:
		s.nodePort = !s.nodePort
		return i, "node port"
	case 4:
		s.external = !s.external
		return i, "external IP"
	case 5:
		s.local = !s.local
		return i, "local"
	case 6:
		s.udp = !s.udp
		return i, "udp port"
	}
	g.endpoints(s)
	return i, "endpoints"
}

func (g *serviceGen) endpoints(s *genService) {
	s.eps = nil
	for _, host := range g.rng.Perm(6)[:g.rng.IntN(5)] {
		s.eps = append(s.eps, genEndpoint{host: host + 1, ready: g.rng.IntN(4) > 0, term: g.rng.IntN(2) == 0,
			node: []string{"node1", "node2"}[g.rng.IntN(2)]})
	}
}

func (g *serviceGen) objects(i int) (*v1.Service, []*discoveryv1.EndpointSlice) {
	s := g.svcs[i]
	if s == nil || s.deleted {
		return nil, nil
	}
	name := fmt.Sprintf("g%d", i)
	svc := svcOf("default", name, fmt.Sprintf("10.43.2.%d", i+1), tcp("http", 80))
	ports := slicePorts(epPort("http", 8080, v1.ProtocolTCP))
	if s.udp {
		svc.Spec.Ports = append(svc.Spec.Ports, udp("dns", 53))
		ports = append(ports, epPort("dns", 5353, v1.ProtocolUDP))
	}
	if s.affinity {
		svc.Spec.SessionAffinity = v1.ServiceAffinityClientIP
		svc.Spec.SessionAffinityConfig = &v1.SessionAffinityConfig{ClientIP: &v1.ClientIPConfig{TimeoutSeconds: ptr.To(s.timeout)}}
	}
	if s.nodePort {
		svc.Spec.Type = v1.ServiceTypeNodePort
		for j := range svc.Spec.Ports {
			svc.Spec.Ports[j].NodePort = int32(30000 + 10*i + j)
		}
	}
	if s.external {
		svc.Spec.ExternalIPs = []string{fmt.Sprintf("192.0.2.%d", i+1)}
	}
	if s.local {
		svc.Spec.InternalTrafficPolicy = ptr.To(v1.ServiceInternalTrafficPolicyLocal)
	}
	var list []discoveryv1.Endpoint
	for _, e := range s.eps {
		ep := ready(fmt.Sprintf("10.42.%d.%d", i, e.host), onNode(e.node))
		if !e.ready {
			ep.Conditions.Ready = ptr.To(false)
			ep.Conditions.Serving = ptr.To(e.term)
			ep.Conditions.Terminating = ptr.To(e.term)
		}
		list = append(list, ep)
	}
	return svc, slicesOf(sliceOf("default", name, name+"-1", ports, list...))
}

var (
	offsetRE = regexp.MustCompile(`,\s*"offset":\s*\d+`)
	shardRE  = regexp.MustCompile(`@(endpoints|endpoint-chains)-\d+`)
)

// normalized lists a table's chains with their rules and its sets with
// their elements, with the pick maps' slot numbers turned into the names
// of the chains that own them.
func normalized(t *testing.T, slotOf map[string]uint32, ns *testNS) map[string][]string {
	t.Helper()
	chainOf := map[uint32]string{}
	for name, slot := range slotOf {
		chainOf[slot] = name
	}
	tab, ok := ns.listTable(t, "skiff")
	if !ok {
		t.Fatal("no table")
	}
	out := map[string][]string{}
	for name := range tab.Chains {
		key := "chain " + name
		out[key] = []string{}
		for _, r := range tab.Rules[name] {
			b, _ := json.Marshal(r.Expr)
			out[key] = append(out[key], shardRE.ReplaceAllString(offsetRE.ReplaceAllString(string(b), ""), "@$1"))
		}
	}
	for name, set := range tab.Sets {
		key, pickMap := "set "+name, strings.HasPrefix(name, "endpoint")
		if pickMap {
			key = "set " + strings.TrimRight(name, "-0123456789")
		} else {
			out[key] = append(out[key], fmt.Sprintf("(type %s map %s flags %v timeout %d)", set.Type, set.Map, set.Flags, set.Timeout))
		}
		for _, e := range set.Elem {
			s := string(e)
			if pickMap {
				var pair []json.RawMessage
				var k uint32
				mustJSON(t, e, &pair)
				mustJSON(t, pair[0], &k)
				s = fmt.Sprintf("%s[%d] %s", chainOf[k>>pickBits], k&(maxEndpoints-1), pair[1])
			}
			out[key] = append(out[key], s)
		}
		slices.Sort(out[key])
	}
	for k, v := range out {
		if strings.HasPrefix(k, "set endpoint") && len(v) == 0 {
			delete(out, k)
		}
	}
	return out
}
