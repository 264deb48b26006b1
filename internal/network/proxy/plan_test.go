package proxy

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Tests of what the Syncer sends, recorded instead of sent.

type recorder struct {
	batches [][]opRef
	fail    error
}

func (r *recorder) send(b *batch) error {
	r.batches = append(r.batches, slices.Clone(b.ops))
	return r.fail
}

func (r *recorder) last() []opRef { return r.batches[len(r.batches)-1] }

func recordingSyncer(t *testing.T) (*Syncer, *recorder) {
	t.Helper()
	s, err := NewSyncer(Config{Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{}
	s.send = r.send
	return s, r
}

// ops renders a batch's operations one per line.
func ops(b []opRef) string {
	var sb strings.Builder
	for _, op := range b {
		fmt.Fprintf(&sb, "%s %s\n", op.verb, op.name)
	}
	return sb.String()
}

// index returns the position of the first op, or -1.
func index(b []opRef, verb, name string) int {
	return slices.Index(b, opRef{verb, name})
}

func TestFullSyncBatch(t *testing.T) {
	s, r := recordingSyncer(t)
	for i := range 1000 {
		s.SetService(bulk(i, 10))
	}
	st, err := s.Sync()
	if err != nil {
		t.Fatal(err)
	}
	b := r.last()
	if !st.Full || st.Services != 1000 {
		t.Errorf("stats = %+v", st)
	}
	if got := b[:3]; !slices.Equal(got, []opRef{{"add table", "skiff"}, {"delete table", "skiff"}, {"add table", "skiff"}}) {
		t.Errorf("batch starts with %v, want the table replaced", got)
	}
	// Per Service a chain and two rules; elements in bulk.
	if n := len(b); n > 3*1000+300 {
		t.Errorf("full sync of 1,000 services takes %d messages", n)
	}
}

func TestEndpointSwapOnlyTouchesElements(t *testing.T) {
	s, r := recordingSyncer(t)
	for i := 1; i <= 100; i++ {
		s.SetService(numbered(i, 1, 10))
	}
	if _, err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	s.SetService(numbered(42, 2, 10))
	st, err := s.Sync()
	if err != nil {
		t.Fatal(err)
	}
	b := r.last()
	for _, op := range b {
		if !strings.HasSuffix(op.verb, "elements from") && !strings.HasSuffix(op.verb, "elements to") {
			t.Errorf("endpoint swap sent %q:\n%s", op.verb+" "+op.name, ops(b))
		}
	}
	if st.Full || st.Services != 1 || len(b) != 4 {
		t.Errorf("stats %+v, batch:\n%s", st, ops(b))
	}
}

func TestEndpointCountChangeRewritesOneChain(t *testing.T) {
	s, r := recordingSyncer(t)
	for i := 1; i <= 10; i++ {
		s.SetService(numbered(i, 1, 3))
	}
	if _, err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	s.SetService(numbered(5, 1, 4))
	if _, err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	b := r.last()
	want := []opRef{{"flush chain", "svc-default/s5/http"}, {"add rule to", "svc-default/s5/http"}, {"add rule to", "svc-default/s5/http"}}
	var chains []opRef
	for _, op := range b {
		if strings.Contains(op.verb, "chain") || strings.Contains(op.verb, "rule") {
			chains = append(chains, op)
		}
	}
	if !slices.Equal(chains, want) {
		t.Errorf("chain operations:\n%s\nwant:\n%s", ops(chains), ops(want))
	}
}

func TestDeleteOrder(t *testing.T) {
	s, r := recordingSyncer(t)
	svc, sl := numbered(1, 1, 3)
	svc.Spec.SessionAffinity = v1.ServiceAffinityClientIP
	svc.Spec.Type = v1.ServiceTypeNodePort
	svc.Spec.Ports[0].NodePort = 30001
	s.SetService(svc, sl)
	if _, err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	s.DeleteService("default", "s1")
	if _, err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	b := r.last()
	svcChain, ep := "svc-default/s1/http", "default/s1/http/10.42.1.1/8080"
	order := [][2]opRef{
		// the maps' references before the chains they name
		{{"delete elements from", "service-ips"}, {"delete chain", svcChain}},
		{{"delete elements from", "nodeports"}, {"delete chain", svcChain}},
		{{"delete elements from", endpointChainMaps[0]}, {"delete chain", "ep-" + ep}},
		// rules before their chain, and before the sets they read
		{{"flush chain", svcChain}, {"delete chain", svcChain}},
		{{"flush chain", svcChain}, {"delete set", "aff-" + ep}},
		{{"flush chain", "ep-" + ep}, {"delete set", "aff-" + ep}},
		{{"flush chain", "ep-" + ep}, {"delete chain", "ep-" + ep}},
		// the chain that goes to an endpoint chain before it
		{{"flush chain", svcChain}, {"delete chain", "ep-" + ep}},
	}
	for _, o := range order {
		i, j := index(b, o[0].verb, o[0].name), index(b, o[1].verb, o[1].name)
		if i < 0 || j < 0 || i > j {
			t.Errorf("want %v before %v in:\n%s", o[0], o[1], ops(b))
		}
	}
}

func TestAddOrder(t *testing.T) {
	s, r := recordingSyncer(t)
	s.SetService(numbered(2, 1, 1))
	if _, err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	svc, sl := numbered(1, 1, 3)
	svc.Spec.SessionAffinity = v1.ServiceAffinityClientIP
	s.SetService(svc, sl)
	if _, err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	b := r.last()
	svcChain, ep := "svc-default/s1/http", "default/s1/http/10.42.1.2/8080"
	order := [][2]opRef{
		{{"add set", "aff-" + ep}, {"add rule to", "ep-" + ep}},
		{{"add chain", "ep-" + ep}, {"add rule to", svcChain}},
		{{"add chain", "ep-" + ep}, {"add elements to", endpointChainMaps[1]}},
		{{"add set", "aff-" + ep}, {"add rule to", svcChain}},
		{{"add rule to", svcChain}, {"add elements to", "service-ips"}},
	}
	for _, o := range order {
		i, j := index(b, o[0].verb, o[0].name), index(b, o[1].verb, o[1].name)
		if i < 0 || j < 0 || i > j {
			t.Errorf("want %v before %v in:\n%s", o[0], o[1], ops(b))
		}
	}
}

func TestFailedSyncKeepsChangesAndRebuilds(t *testing.T) {
	s, r := recordingSyncer(t)
	s.SetService(numbered(1, 1, 2))
	if _, err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	r.fail = errors.New("boom")
	s.SetService(numbered(1, 2, 2))
	if _, err := s.Sync(); err == nil {
		t.Fatal("sync did not report the failure")
	}
	r.fail = nil
	if !s.Pending() {
		t.Fatal("nothing pending after a failed sync")
	}
	st, err := s.Sync()
	if err != nil || !st.Full {
		t.Fatalf("sync after failure = %+v, %v; want a full sync", st, err)
	}
	if got := s.applied[numberedName(1)][0].clusterEPs; len(got) != 2 || got[1] != eps("10.42.1.3:8080")[0] {
		t.Errorf("applied endpoints %v, want the change made before the failure", got)
	}
	if s.Pending() {
		t.Errorf("still pending after a good sync")
	}
}

func TestSlotsAreReused(t *testing.T) {
	s, _ := recordingSyncer(t)
	for i := 1; i <= 3; i++ {
		s.SetService(numbered(i, 1, 2))
	}
	if _, err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	freed := s.slots.of["svc-default/s2/http"]
	s.DeleteService("default", "s2")
	if _, err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	s.SetService(numbered(4, 1, 2))
	if _, err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if got := s.slots.of["svc-default/s4/http"]; got != freed || s.slots.next != 3 {
		t.Errorf("new chain got slot %d (next %d), want the freed %d", got, s.slots.next, freed)
	}
	if _, ok := s.slots.of["svc-default/s2/http"]; ok {
		t.Errorf("deleted chain kept its slot")
	}
}

func numberedName(i int) types.NamespacedName {
	return types.NamespacedName{Namespace: "default", Name: fmt.Sprintf("s%d", i)}
}

// bulk is Service i of many: cluster IP 10.43.x.y, n endpoints.
func bulk(i, n int) (*v1.Service, []*discoveryv1.EndpointSlice) {
	name := fmt.Sprintf("b%d", i)
	svc := svcOf("default", name, fmt.Sprintf("10.43.%d.%d", 100+i>>8, i&255), tcp("http", 80))
	var list []discoveryv1.Endpoint
	for j := range n {
		k := i*n + j
		list = append(list, ready(fmt.Sprintf("10.42.%d.%d", k>>8, k&255)))
	}
	return svc, slicesOf(sliceOf("default", name, name+"-1", slicePorts(epPort("http", 8080, v1.ProtocolTCP)), list...))
}
