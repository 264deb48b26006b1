package proxy

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Rendering: what a Service's ports become in the table. A port with
// endpoints gets a service chain; the skeleton's maps send its cluster IP,
// external IPs and node port there. A port without endpoints gets entries
// in the no-endpoint maps instead, which reject (or drop) new connections.

// mapID names one of the skeleton's maps that Services put elements in.
type mapID uint8

const (
	mapServiceIPs mapID = iota
	mapExternalIPs
	mapNodePorts
	mapNoEndpoints
	mapNoEndpointNodePorts
	numMaps
)

var mapNames = [numMaps]string{
	mapServiceIPs:          "service-ips",
	mapExternalIPs:         "external-ips",
	mapNodePorts:           "nodeports",
	mapNoEndpoints:         "no-endpoint-services",
	mapNoEndpointNodePorts: "no-endpoint-nodeports",
}

// elemKey is an element's map and key. Keys are `ip . proto . port` (12
// bytes, each field padded to 4) or `proto . port` (8 bytes, zero-filled
// to 12).
type elemKey struct {
	m   mapID
	key [12]byte
}

func (k elemKey) bytes() []byte {
	if k.m == mapNodePorts || k.m == mapNoEndpointNodePorts {
		return k.key[:8]
	}
	return k.key[:]
}

func addrPortKey(m mapID, ip [4]byte, proto uint8, port uint16) elemKey {
	k := elemKey{m: m}
	copy(k.key[0:4], ip[:])
	k.key[4] = proto
	binary.BigEndian.PutUint16(k.key[8:], port)
	return k
}

func portOnlyKey(m mapID, proto uint8, port uint16) elemKey {
	k := elemKey{m: m}
	k.key[0] = proto
	binary.BigEndian.PutUint16(k.key[4:], port)
	return k
}

// target is a map element's verdict: goto a chain, or drop.
type target struct {
	code  int32
	chain string
}

func gotoTarget(chain string) target { return target{code: unix.NFT_GOTO, chain: chain} }

var (
	rejectTarget = gotoTarget(chainReject)
	dropTarget   = target{code: nfDrop}
)

// chainSpec is a service chain: pick one of eps (sticking to the
// client's previous pick if affinity is set) and DNAT to it.
type chainSpec struct {
	name     string
	key      string // the port's key, for the endpoint chains' names
	eps      []endpoint
	affinity time.Duration
}

func (c *chainSpec) equal(d *chainSpec) bool {
	return c.name == d.name && c.affinity == d.affinity && slices.Equal(c.eps, d.eps)
}

// sameRules reports whether two versions of a chain (same name, same
// slot) have the same rules: without affinity the rules name only the
// number of endpoints (the pick map holds the rest) or the one endpoint.
func sameRules(a, b *chainSpec) bool {
	switch {
	case a.affinity != b.affinity:
		return false
	case b.affinity != 0:
		return slices.Equal(a.eps, b.eps)
	case len(a.eps) != len(b.eps):
		return false
	case len(b.eps) == 1:
		return a.eps[0] == b.eps[0]
	}
	return true
}

// Picks: a service chain with several endpoints picks one with `numgen
// random mod N offset slot<<pickBits` and looks the number up in a map
// shared with other chains: endpoints-NN (number -> address . port) or,
// with affinity, endpoint-chains-NN (number -> goto endpoint chain), NN
// being the slot modulo pickShards. Every chain owns a slot (a key range).
//
// Why shared and sharded: the kernel looks sets up by name by walking the
// table's list of sets, so a set per Service makes a full sync quadratic
// (anonymous sets too: naming them walks the list); and adding an element
// to a map checks it against every rule that reads the map, so one map
// read by every chain is quadratic as well. 64 shards keep both walks
// short. And an endpoint change that keeps the number of endpoints only
// replaces map elements; the chain's rules stay.
const (
	pickBits     = 12
	maxEndpoints = 1 << pickBits // per chain; more are left out
	maxSlots     = 1 << (32 - pickBits)
	pickShards   = 64
)

var endpointMaps, endpointChainMaps = shardNames(setEndpoints), shardNames(setEndpointChains)

func shardNames(base string) [pickShards]string {
	var out [pickShards]string
	for i := range out {
		out[i] = fmt.Sprintf("%s-%02d", base, i)
	}
	return out
}

// pick is one element of a chain's pick map.
type pick struct {
	key   uint32
	ep    endpoint // an endpoints map
	chain string   // an endpoint-chains map (affinity)
}

func shardOf(slot uint32) uint32 { return slot % pickShards }

// picks lists a chain's pick map elements; none for a chain with one
// endpoint, which DNATs (or jumps) to it directly.
func picks(c *chainSpec, slot uint32) []pick {
	if len(c.eps) < 2 {
		return nil
	}
	out := make([]pick, len(c.eps))
	for i, ep := range c.eps {
		out[i] = pick{key: slot<<pickBits | uint32(i), ep: ep}
		if c.affinity != 0 {
			out[i].chain = epChainName(c.key, ep)
		}
	}
	return out
}

// pickElems sorts picks into elements of the maps they belong in.
func pickElems(ps []pick) (endpoints, chains [pickShards][]elem) {
	for _, p := range ps {
		key := binary.NativeEndian.AppendUint32(nil, p.key)
		shard := shardOf(p.key >> pickBits)
		if p.chain != "" {
			chains[shard] = append(chains[shard], elem{key: key, verdict: &verdict{code: unix.NFT_GOTO, chain: p.chain}})
			continue
		}
		data := make([]byte, 8)
		copy(data, p.ep.ip[:])
		binary.BigEndian.PutUint16(data[4:], p.ep.port)
		endpoints[shard] = append(endpoints[shard], elem{key: key, data: data})
	}
	return endpoints, chains
}

// epSpec is an endpoint chain of a Service with session affinity: it
// records the client in the endpoint's affinity set and DNATs.
type epSpec struct {
	chain   string
	set     string
	ep      endpoint
	timeout time.Duration
}

func epChainName(key string, ep endpoint) string { return "ep-" + key + "/" + epSuffix(ep) }
func affSetName(key string, ep endpoint) string  { return "aff-" + key + "/" + epSuffix(ep) }

func epSuffix(ep endpoint) string {
	return netip.AddrFrom4(ep.ip).String() + "/" + strconv.Itoa(int(ep.port))
}

type elemSpec struct {
	k elemKey
	t target
}

// rendering is everything a Service puts in the table.
type rendering struct {
	chains  []chainSpec
	eps     []epSpec
	elems   []elemSpec
	hairpin [][4]byte
}

// render renders a Service's ports.
func render(ports []*svcPort) *rendering {
	r := &rendering{}
	for _, p := range ports {
		r.port(p)
	}
	r.endpointChains()
	return r
}

func (r *rendering) port(p *svcPort) {
	cluster := chainSpec{name: "svc-" + p.key, key: p.key, eps: capped(p.clusterEPs), affinity: p.affinity}
	internal := cluster
	if p.local {
		internal = chainSpec{name: "svcl-" + p.key, key: p.key, eps: capped(p.localEPs), affinity: p.affinity}
	}
	ipKey := addrPortKey(mapServiceIPs, p.clusterIP, p.proto, p.port)
	switch {
	case len(internal.eps) > 0:
		r.addChain(internal)
		r.elems = append(r.elems, elemSpec{ipKey, gotoTarget(internal.name)})
	case p.local && len(p.clusterEPs) > 0:
		// Endpoints elsewhere but none here: drop, as kube-proxy does.
		r.elems = append(r.elems, elemSpec{addrPortKey(mapNoEndpoints, p.clusterIP, p.proto, p.port), dropTarget})
	default:
		r.elems = append(r.elems, elemSpec{addrPortKey(mapNoEndpoints, p.clusterIP, p.proto, p.port), rejectTarget})
	}
	if len(p.externals) == 0 && p.nodePort == 0 {
		return
	}
	extMap, npMap, t := mapExternalIPs, mapNodePorts, gotoTarget(cluster.name)
	if len(cluster.eps) > 0 {
		r.addChain(cluster)
	} else {
		extMap, npMap, t = mapNoEndpoints, mapNoEndpointNodePorts, rejectTarget
	}
	for _, ip := range p.externals {
		r.elems = append(r.elems, elemSpec{addrPortKey(extMap, ip, p.proto, p.port), t})
	}
	if p.nodePort != 0 {
		r.elems = append(r.elems, elemSpec{portOnlyKey(npMap, p.proto, p.nodePort), t})
	}
}

// capped keeps the first maxEndpoints endpoints.
func capped(eps []endpoint) []endpoint {
	return eps[:min(len(eps), maxEndpoints)]
}

func (r *rendering) addChain(c chainSpec) {
	for i := range r.chains {
		if r.chains[i].name == c.name {
			return
		}
	}
	r.chains = append(r.chains, c)
}

// endpointChains lists the endpoint chains of the chains with affinity,
// and the endpoint addresses for the hairpin set, each once.
func (r *rendering) endpointChains() {
	seenEP := map[string]bool{}
	seenIP := map[[4]byte]bool{}
	for _, c := range r.chains {
		for _, ep := range c.eps {
			if !seenIP[ep.ip] {
				seenIP[ep.ip] = true
				r.hairpin = append(r.hairpin, ep.ip)
			}
			if c.affinity == 0 {
				continue
			}
			name := epChainName(c.key, ep)
			if seenEP[name] {
				continue
			}
			seenEP[name] = true
			r.eps = append(r.eps, epSpec{chain: name, set: affSetName(c.key, ep), ep: ep, timeout: c.affinity})
		}
	}
}

// ruleWriter writes chains' rules into a batch.
type ruleWriter struct {
	b    *batch
	cidr *net.IPNet
}

// serviceChain writes a service chain's rules (the chain exists and is
// empty); its picks go into the pick maps separately.
func (w ruleWriter) serviceChain(c *chainSpec, slot uint32) {
	if w.cidr != nil {
		w.b.addRule(c.name, cat(addrMatch(offSaddr, w.cidr, true), markSet(masqMark))...)
	} else {
		w.b.addRule(c.name, markSet(masqMark)...)
	}
	offset := slot << pickBits
	if c.affinity == 0 {
		if len(c.eps) == 1 {
			w.b.addRule(c.name, dnatTo(c.eps[0])...)
		} else {
			w.b.addRule(c.name, dnatPick(len(c.eps), offset, endpointMaps[shardOf(slot)])...)
		}
		return
	}
	for _, ep := range c.eps {
		w.b.addRule(c.name, cat(saddrIn(affSetName(c.key, ep)), one(gotoChain(epChainName(c.key, ep))))...)
	}
	if len(c.eps) == 1 {
		w.b.addRule(c.name, gotoChain(epChainName(c.key, c.eps[0])))
	} else {
		w.b.addRule(c.name, vmapPick(len(c.eps), offset, endpointChainMaps[shardOf(slot)])...)
	}
}

// endpointChain writes an endpoint chain's rules (the chain and its set
// exist).
func (w ruleWriter) endpointChain(e *epSpec) {
	w.b.addRule(e.chain, updateSaddr(e.set)...)
	w.b.addRule(e.chain, dnatTo(e.ep)...)
}

// affinitySet creates an endpoint's affinity set.
func (w ruleWriter) affinitySet(e *epSpec) {
	w.b.addSet(&setDef{name: e.set, flags: unix.NFT_SET_TIMEOUT | unix.NFT_SET_EVAL,
		keyType: typeIPAddr, keyLen: 4, timeout: e.timeout})
}

// targetElems turns element specs into batch elements.
func targetElems(specs []elemSpec) []elem {
	out := make([]elem, len(specs))
	for i := range specs {
		out[i] = elem{key: specs[i].k.bytes(), verdict: &verdict{code: specs[i].t.code, chain: specs[i].t.chain}}
	}
	return out
}
