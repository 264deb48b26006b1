package proxy

import (
	"net"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// The skeleton: the table's fixed sets, maps and chains. Services only add
// elements to the maps and chains of their own. In nft(8) terms:
//
//	map service-ips          ipv4_addr . inet_proto . inet_service : verdict  cluster IPs -> goto svc chain
//	map external-ips         ipv4_addr . inet_proto . inet_service : verdict  external/LB IPs -> goto svc chain
//	map nodeports            inet_proto . inet_service : verdict              node ports -> goto svc chain
//	map no-endpoint-services ipv4_addr . inet_proto . inet_service : verdict  -> goto reject | drop
//	map no-endpoint-nodeports inet_proto . inet_service : verdict             -> goto reject
//	set hairpin              ipv4_addr . ipv4_addr                            endpoint . itself
//	map endpoints-00..63     integer : ipv4_addr . inet_service               service chains' picks (render.go)
//	map endpoint-chains-00..63 integer : verdict                              the same with affinity
//
//	chain nat-prerouting  { type nat hook prerouting priority dstnat; jump services }
//	chain nat-output      { type nat hook output priority dstnat; jump services }
//	chain services {
//		ip daddr . meta l4proto . th dport vmap @service-ips
//		jump external
//	}
//	chain external {
//		meta mark set meta mark | 0x4000
//		ip daddr . meta l4proto . th dport vmap @external-ips
//		fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @nodeports
//		meta mark set meta mark & ~0x4000
//	}
//	chain nat-postrouting { type nat hook postrouting priority srcnat;
//		meta mark & 0x4000 != 0 meta mark set meta mark & ~0x4000 masquerade fully-random
//		ct status dnat ip saddr . ip daddr @hairpin masquerade fully-random
//		ip saddr CLUSTER ip daddr != CLUSTER ip daddr != 224.0.0.0/4 masquerade fully-random
//	}
//	chain filter-prerouting { type filter hook prerouting priority filter; ct state new jump endpoints-check }
//	chain filter-output     { type filter hook output priority filter; ct state new jump endpoints-check }
//	chain endpoints-check {
//		ip daddr . meta l4proto . th dport vmap @no-endpoint-services
//		fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @no-endpoint-nodeports
//	}
//	chain reject { reject }
//
// Lookups cost the same with 10 or 10,000 Services. Traffic to an external
// IP or node port is marked before the lookup (and unmarked if none
// matched), so it is masqueraded whichever Service takes it.

const (
	chainReject         = "reject"
	chainServices       = "services"
	chainExternal       = "external"
	chainEndpointsCheck = "endpoints-check"
	setHairpin          = "hairpin"
	setEndpoints        = "endpoints"
	setEndpointChains   = "endpoint-chains"
)

// nft(8) datatypes of keys and data, so `nft list` prints them.
var (
	typeInteger    = magic(nftables.TypeInteger)
	typeIPAddr     = magic(nftables.TypeIPAddr)
	typeAddrPort   = magic(nftables.MustConcatSetType(nftables.TypeIPAddr, nftables.TypeInetService))
	typeServiceKey = magic(nftables.MustConcatSetType(nftables.TypeIPAddr, nftables.TypeInetProto, nftables.TypeInetService))
	typePortKey    = magic(nftables.MustConcatSetType(nftables.TypeInetProto, nftables.TypeInetService))
	typeAddrPair   = magic(nftables.MustConcatSetType(nftables.TypeIPAddr, nftables.TypeIPAddr))
)

func magic(t nftables.SetDatatype) uint32 { return t.GetNFTMagic() }

func skeletonMaps() []setDef {
	vm := func(name string, keyType, keyLen uint32) setDef {
		return setDef{name: name, flags: unix.NFT_SET_MAP, keyType: keyType, keyLen: keyLen, dataType: unix.NFT_DATA_VERDICT}
	}
	defs := []setDef{
		vm(mapNames[mapServiceIPs], typeServiceKey, 12),
		vm(mapNames[mapExternalIPs], typeServiceKey, 12),
		vm(mapNames[mapNodePorts], typePortKey, 8),
		vm(mapNames[mapNoEndpoints], typeServiceKey, 12),
		vm(mapNames[mapNoEndpointNodePorts], typePortKey, 8),
		{name: setHairpin, keyType: typeAddrPair, keyLen: 8},
	}
	for i := range pickShards {
		defs = append(defs,
			setDef{name: endpointMaps[i], flags: unix.NFT_SET_MAP, keyType: typeInteger, keyLen: 4,
				dataType: typeAddrPort, dataLen: 8, hostOrderKey: true},
			setDef{name: endpointChainMaps[i], flags: unix.NFT_SET_MAP, keyType: typeInteger, keyLen: 4,
				dataType: unix.NFT_DATA_VERDICT, hostOrderKey: true})
	}
	return defs
}

// writeSkeleton adds the fixed sets, chains and rules to a batch that
// has just (re)created the table.
func writeSkeleton(b *batch, cidr *net.IPNet) {
	maps := skeletonMaps()
	for i := range maps {
		b.addSet(&maps[i])
	}
	for _, name := range []string{chainReject, chainServices, chainExternal, chainEndpointsCheck} {
		b.addChain(name, nil)
	}
	base := []struct {
		name string
		def  baseChain
	}{
		{"nat-prerouting", baseChain{"nat", unix.NF_INET_PRE_ROUTING, -100}},
		{"nat-output", baseChain{"nat", unix.NF_INET_LOCAL_OUT, -100}},
		{"nat-postrouting", baseChain{"nat", unix.NF_INET_POST_ROUTING, 100}},
		{"filter-prerouting", baseChain{"filter", unix.NF_INET_PRE_ROUTING, 0}},
		{"filter-output", baseChain{"filter", unix.NF_INET_LOCAL_OUT, 0}},
	}
	for _, c := range base {
		b.addChain(c.name, &c.def)
	}
	skeletonRules(b, cidr)
}

func skeletonRules(b *batch, cidr *net.IPNet) {
	b.addRule(chainReject, reject())

	b.addRule(chainServices, cat(serviceKey(), one(vmap(mapNames[mapServiceIPs])))...)
	b.addRule(chainServices, jumpChain(chainExternal))

	b.addRule(chainExternal, markSet(masqMark)...)
	b.addRule(chainExternal, cat(serviceKey(), one(vmap(mapNames[mapExternalIPs])))...)
	b.addRule(chainExternal, cat(daddrLocal(), portKey(), one(vmap(mapNames[mapNodePorts])))...)
	b.addRule(chainExternal, markClear(masqMark)...)

	b.addRule("nat-prerouting", jumpChain(chainServices))
	b.addRule("nat-output", jumpChain(chainServices))

	b.addRule("nat-postrouting", cat(markTest(masqMark), markClear(masqMark), one(masquerade()))...)
	b.addRule("nat-postrouting", cat(ctBits(expr.CtKeySTATUS, ctStatusDNAT), saddrDaddr(), one(lookup(setHairpin), masquerade()))...)
	if cidr != nil {
		b.addRule("nat-postrouting", cat(addrMatch(offSaddr, cidr, false), addrMatch(offDaddr, cidr, true),
			addrMatch(offDaddr, multicast, true), one(masquerade()))...)
	}

	b.addRule(chainEndpointsCheck, cat(serviceKey(), one(vmap(mapNames[mapNoEndpoints])))...)
	b.addRule(chainEndpointsCheck, cat(daddrLocal(), portKey(), one(vmap(mapNames[mapNoEndpointNodePorts])))...)
	b.addRule("filter-prerouting", cat(ctBits(expr.CtKeySTATE, ctStateNew), one(jumpChain(chainEndpointsCheck)))...)
	b.addRule("filter-output", cat(ctBits(expr.CtKeySTATE, ctStateNew), one(jumpChain(chainEndpointsCheck)))...)
}
