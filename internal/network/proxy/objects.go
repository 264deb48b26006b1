package proxy

import (
	"encoding/binary"
	"time"

	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// The nftables objects a batch can create and delete: the table, chains,
// rules, sets and maps, and their elements. The attribute layout is the
// kernel's (include/uapi/linux/netfilter/nf_tables.h); rule expressions are
// encoded by google/nftables.

// baseChain hooks a chain into the packet path.
type baseChain struct {
	kind     string // "nat" or "filter"
	hook     uint32 // unix.NF_INET_*
	priority int32
}

func (b *batch) addTable() {
	m := b.begin(unix.NFT_MSG_NEWTABLE, unix.NLM_F_CREATE, opRef{"add table", b.table})
	b.str(unix.NFTA_TABLE_NAME, b.table)
	b.u32(unix.NFTA_TABLE_FLAGS, 0)
	b.end(m)
}

func (b *batch) delTable() {
	m := b.begin(unix.NFT_MSG_DELTABLE, 0, opRef{"delete table", b.table})
	b.str(unix.NFTA_TABLE_NAME, b.table)
	b.end(m)
}

// addChain adds a chain; base may be nil for a regular chain.
func (b *batch) addChain(name string, base *baseChain) {
	m := b.begin(unix.NFT_MSG_NEWCHAIN, unix.NLM_F_CREATE, opRef{"add chain", name})
	b.str(unix.NFTA_CHAIN_TABLE, b.table)
	b.str(unix.NFTA_CHAIN_NAME, name)
	if base != nil {
		h := b.nest(unix.NFTA_CHAIN_HOOK)
		b.u32(unix.NFTA_HOOK_HOOKNUM, base.hook)
		b.u32(unix.NFTA_HOOK_PRIORITY, uint32(base.priority))
		b.unnest(h)
		b.u32(unix.NFTA_CHAIN_POLICY, nfAccept)
		b.str(unix.NFTA_CHAIN_TYPE, base.kind)
	}
	b.end(m)
}

// flushChain deletes all rules of a chain.
func (b *batch) flushChain(name string) {
	m := b.begin(unix.NFT_MSG_DELRULE, 0, opRef{"flush chain", name})
	b.str(unix.NFTA_RULE_TABLE, b.table)
	b.str(unix.NFTA_RULE_CHAIN, name)
	b.end(m)
}

// delChain deletes an empty chain nothing refers to.
func (b *batch) delChain(name string) {
	m := b.begin(unix.NFT_MSG_DELCHAIN, 0, opRef{"delete chain", name})
	b.str(unix.NFTA_CHAIN_TABLE, b.table)
	b.str(unix.NFTA_CHAIN_NAME, name)
	b.end(m)
}

// addRule appends a rule to a chain.
func (b *batch) addRule(chain string, exprs ...expr.Any) {
	m := b.begin(unix.NFT_MSG_NEWRULE, unix.NLM_F_CREATE|unix.NLM_F_APPEND, opRef{"add rule to", chain})
	b.str(unix.NFTA_RULE_TABLE, b.table)
	b.str(unix.NFTA_RULE_CHAIN, chain)
	list := b.nest(unix.NFTA_RULE_EXPRESSIONS)
	for _, e := range exprs {
		data, err := expr.Marshal(unix.NFPROTO_IPV4, e)
		if err != nil {
			b.fail(err)
			continue
		}
		elem := b.nest(unix.NFTA_LIST_ELEM)
		b.buf = append(b.buf, data...)
		b.pad()
		b.unnest(elem)
	}
	b.unnest(list)
	b.end(m)
}

// setDef describes a set or map.
type setDef struct {
	name     string
	flags    uint32 // unix.NFT_SET_*
	keyType  uint32 // nft datatype magic, for nft(8)'s listing
	keyLen   uint32
	dataType uint32 // maps only; unix.NFT_DATA_VERDICT for verdict maps
	dataLen  uint32
	timeout  time.Duration
	// hostOrderKey tells nft(8) to print integer keys in host byte order
	// (the pick maps' keys).
	hostOrderKey bool
}

func (b *batch) addSet(s *setDef) {
	m := b.begin(unix.NFT_MSG_NEWSET, unix.NLM_F_CREATE, opRef{"add set", s.name})
	b.str(unix.NFTA_SET_TABLE, b.table)
	b.str(unix.NFTA_SET_NAME, s.name)
	b.u32(unix.NFTA_SET_FLAGS, s.flags)
	b.u32(unix.NFTA_SET_KEY_TYPE, s.keyType)
	b.u32(unix.NFTA_SET_KEY_LEN, s.keyLen)
	if s.flags&unix.NFT_SET_MAP != 0 {
		b.u32(unix.NFTA_SET_DATA_TYPE, s.dataType)
		b.u32(unix.NFTA_SET_DATA_LEN, s.dataLen)
	}
	b.u32(unix.NFTA_SET_ID, b.newID()) // the kernel requires one
	if s.timeout > 0 {
		b.u64(unix.NFTA_SET_TIMEOUT, uint64(s.timeout.Milliseconds()))
	}
	if s.hostOrderKey {
		// libnftnl user data: NFTNL_UDATA_SET_KEYBYTEORDER = 1 (host).
		ud := []byte{0, 4}
		ud = binary.NativeEndian.AppendUint32(ud, 1)
		b.attr(unix.NFTA_SET_USERDATA, ud)
	}
	b.end(m)
}

func (b *batch) delSet(name string) {
	m := b.begin(unix.NFT_MSG_DELSET, 0, opRef{"delete set", name})
	b.str(unix.NFTA_SET_TABLE, b.table)
	b.str(unix.NFTA_SET_NAME, name)
	b.end(m)
}

// elem is a set element: a key, and for maps either a verdict (goto a
// chain, or a bare verdict code) or data.
type elem struct {
	key     []byte
	data    []byte
	verdict *verdict
}

type verdict struct {
	code  int32 // unix.NFT_GOTO, unix.NF_DROP, ...
	chain string
}

// addElems adds elements to a set, in as many messages as the 16-bit
// attribute lengths need.
func (b *batch) addElems(set string, elems []elem) {
	b.elems(unix.NFT_MSG_NEWSETELEM, unix.NLM_F_CREATE, opRef{"add elements to", set}, set, elems)
}

func (b *batch) delElems(set string, elems []elem) {
	b.elems(unix.NFT_MSG_DELSETELEM, 0, opRef{"delete elements from", set}, set, elems)
}

func (b *batch) elems(msg, flags uint16, op opRef, set string, elems []elem) {
	for len(elems) > 0 {
		m := b.begin(msg, flags, op)
		b.str(unix.NFTA_SET_ELEM_LIST_TABLE, b.table)
		b.str(unix.NFTA_SET_ELEM_LIST_SET, set)
		list := b.nest(unix.NFTA_SET_ELEM_LIST_ELEMENTS)
		for len(elems) > 0 && len(b.buf)-list < maxNested {
			b.elem(&elems[0])
			elems = elems[1:]
		}
		b.unnest(list)
		b.end(m)
	}
}

func (b *batch) elem(e *elem) {
	el := b.nest(unix.NFTA_LIST_ELEM)
	k := b.nest(unix.NFTA_SET_ELEM_KEY)
	b.attr(unix.NFTA_DATA_VALUE, e.key)
	b.unnest(k)
	switch {
	case e.verdict != nil:
		d := b.nest(unix.NFTA_SET_ELEM_DATA)
		v := b.nest(unix.NFTA_DATA_VERDICT)
		b.u32(unix.NFTA_VERDICT_CODE, uint32(e.verdict.code))
		if e.verdict.chain != "" {
			b.str(unix.NFTA_VERDICT_CHAIN, e.verdict.chain)
		}
		b.unnest(v)
		b.unnest(d)
	case e.data != nil:
		d := b.nest(unix.NFTA_SET_ELEM_DATA)
		b.attr(unix.NFTA_DATA_VALUE, e.data)
		b.unnest(d)
	}
	b.unnest(el)
}

// Netfilter verdict codes (linux/netfilter.h).
const (
	nfDrop   = 0
	nfAccept = 1
)
