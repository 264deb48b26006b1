package proxy

import (
	"encoding/binary"
	"net"

	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Registers: reg1 is NFT_REG_1 (16 bytes), whose first word is NFT_REG32_00;
// a concatenation loads its fields into consecutive 32-bit registers.
const (
	regVerdict = 0
	reg1       = 1
	reg32_01   = 9
	reg32_02   = 10
)

// masqMark is the packet mark bit that asks nat-postrouting to
// masquerade; kube-proxy's bit, since skiff replaces it.
const masqMark = 0x4000

// serviceKey loads `ip daddr . meta l4proto . th dport` (12 bytes).
func serviceKey() []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg32_01},
		&expr.Payload{DestRegister: reg32_02, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
	}
}

// portKey loads `meta l4proto . th dport` (8 bytes).
func portKey() []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg1},
		&expr.Payload{DestRegister: reg32_01, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
	}
}

// saddrDaddr loads `ip saddr . ip daddr` (8 bytes).
func saddrDaddr() []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: offSaddr, Len: 4},
		&expr.Payload{DestRegister: reg32_01, Base: expr.PayloadBaseNetworkHeader, Offset: offDaddr, Len: 4},
	}
}

// lookup matches reg1 against a set (found by name, also in the batch
// that creates it).
func lookup(set string) expr.Any {
	return &expr.Lookup{SourceRegister: reg1, SetName: set}
}

// vmap looks reg1 up in a verdict map and applies the verdict found.
func vmap(set string) expr.Any {
	return &expr.Lookup{SourceRegister: reg1, DestRegister: regVerdict, IsDestRegSet: true, SetName: set}
}

func gotoChain(chain string) expr.Any {
	return &expr.Verdict{Kind: expr.VerdictGoto, Chain: chain}
}

func jumpChain(chain string) expr.Any {
	return &expr.Verdict{Kind: expr.VerdictJump, Chain: chain}
}

// addrMatch is `ip saddr|daddr [!=] prefix`.
func addrMatch(offset uint32, prefix *net.IPNet, negate bool) []expr.Any {
	op := expr.CmpOpEq
	if negate {
		op = expr.CmpOpNeq
	}
	return []expr.Any{
		&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4, Mask: []byte(prefix.Mask), Xor: []byte{0, 0, 0, 0}},
		&expr.Cmp{Op: op, Register: reg1, Data: []byte(prefix.IP.To4().Mask(prefix.Mask))},
	}
}

const (
	offSaddr = 12
	offDaddr = 16
)

var (
	loopback  = &net.IPNet{IP: net.IPv4(127, 0, 0, 0).To4(), Mask: net.CIDRMask(8, 32)}
	multicast = &net.IPNet{IP: net.IPv4(224, 0, 0, 0).To4(), Mask: net.CIDRMask(4, 32)}
)

// daddrLocal is `fib daddr type local ip daddr != 127.0.0.0/8`: any of the
// node's addresses but loopback (kube-proxy does not serve NodePorts on
// localhost either).
func daddrLocal() []expr.Any {
	return append([]expr.Any{
		&expr.Fib{Register: reg1, FlagDADDR: true, ResultADDRTYPE: true},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: binary.NativeEndian.AppendUint32(nil, unix.RTN_LOCAL)},
	}, addrMatch(offDaddr, loopback, true)...)
}

// markSet is `meta mark set meta mark | bit`.
func markSet(bit uint32) []expr.Any {
	return markOp(^bit, bit)
}

// markClear is `meta mark set meta mark & ~bit`.
func markClear(bit uint32) []expr.Any {
	return markOp(^bit, 0)
}

func markOp(mask, xor uint32) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyMARK, Register: reg1},
		&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4,
			Mask: binary.NativeEndian.AppendUint32(nil, mask), Xor: binary.NativeEndian.AppendUint32(nil, xor)},
		&expr.Meta{Key: expr.MetaKeyMARK, Register: reg1, SourceRegister: true},
	}
}

// markTest is `meta mark & bit != 0`.
func markTest(bit uint32) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyMARK, Register: reg1},
		&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4,
			Mask: binary.NativeEndian.AppendUint32(nil, bit), Xor: []byte{0, 0, 0, 0}},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: reg1, Data: []byte{0, 0, 0, 0}},
	}
}

// ctBits is `ct state|status & bits != 0`.
func ctBits(key expr.CtKey, bits uint32) []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: reg1, Key: key},
		&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4,
			Mask: binary.NativeEndian.AppendUint32(nil, bits), Xor: []byte{0, 0, 0, 0}},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: reg1, Data: []byte{0, 0, 0, 0}},
	}
}

const (
	ctStateNew          = 1 << 3 // NF_CT_STATE_BIT(IP_CT_NEW)
	ctStatusDNAT        = 1 << 5 // IPS_DST_NAT
	icmpPortUnreachable = 3      // ICMP_PORT_UNREACH
)

// dnatTo is `dnat ip to ADDR:PORT`.
func dnatTo(ep endpoint) []expr.Any {
	return []expr.Any{
		&expr.Immediate{Register: reg1, Data: ep.ip[:]},
		&expr.Immediate{Register: reg32_01, Data: binary.BigEndian.AppendUint16(nil, ep.port)},
		dnat(),
	}
}

// dnatPick is `dnat ip to numgen random mod n offset off map @set`.
func dnatPick(n int, off uint32, set string) []expr.Any {
	return []expr.Any{
		&expr.Numgen{Register: reg1, Modulus: uint32(n), Type: unix.NFT_NG_RANDOM, Offset: off},
		&expr.Lookup{SourceRegister: reg1, DestRegister: reg1, IsDestRegSet: true, SetName: set},
		dnat(),
	}
}

// vmapPick is `numgen random mod n offset off vmap @set`.
func vmapPick(n int, off uint32, set string) []expr.Any {
	return []expr.Any{
		&expr.Numgen{Register: reg1, Modulus: uint32(n), Type: unix.NFT_NG_RANDOM, Offset: off},
		vmap(set),
	}
}

func dnat() expr.Any {
	return &expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4,
		RegAddrMin: reg1, RegAddrMax: reg1, RegProtoMin: reg32_01, RegProtoMax: reg32_01, Specified: true}
}

// updateSaddr is `update @set { ip saddr }`; new elements get the set's
// timeout, and an update restarts it.
func updateSaddr(set string) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: offSaddr, Len: 4},
		&expr.Dynset{SrcRegKey: reg1, SetName: set, Operation: unix.NFT_DYNSET_OP_UPDATE},
	}
}

// saddrIn is `ip saddr @set`.
func saddrIn(set string) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: offSaddr, Len: 4},
		lookup(set),
	}
}

func masquerade() expr.Any {
	return &expr.Masq{FullyRandom: true}
}

func reject() expr.Any {
	return &expr.Reject{Type: unix.NFT_REJECT_ICMP_UNREACH, Code: icmpPortUnreachable}
}

func cat(parts ...[]expr.Any) []expr.Any {
	var n int
	for _, p := range parts {
		n += len(p)
	}
	out := make([]expr.Any, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func one(e ...expr.Any) []expr.Any { return e }
