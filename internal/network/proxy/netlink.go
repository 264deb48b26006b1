package proxy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// This file is the transport: one nftables transaction is one buffer of
// netlink messages between a batch begin and a batch end, sent with one
// sendmsg. The kernel applies all of it or none of it.
//
// google/nftables v0.3.0's Conn asks for an acknowledgement (and an echo of
// every rule) per message and reads them one recvmsg at a time: a
// 1,000-rule batch overflows the default socket buffers, and with larger
// buffers 5,000 rules take ~450 ms against ~50 ms without the replies. So
// the proxy writes its own batches, still with google/nftables' expression
// encoders (rules.go), asks for an acknowledgement of the last message
// only and reads the errors the kernel sends for failed messages, as
// nft(8) does.

// nlmsgHeaderLen is sizeof(struct nlmsghdr) + sizeof(struct nfgenmsg).
const (
	nlmsgHeaderLen = 16
	nfgenHeaderLen = 4
	// maxNested bounds one message's nested element list: attribute
	// lengths are 16 bits.
	maxNested = 60000
	// ackTimeout bounds the wait for the kernel's replies. The kernel
	// processes a batch inside sendmsg, so the replies are queued by the
	// time it returns; the timeout only guards against a lost reply.
	ackTimeout = 10 * time.Second
)

// opRef names what a message does, for error messages.
type opRef struct {
	verb string
	name string
}

// batch accumulates one transaction's messages.
type batch struct {
	table string
	buf   []byte
	ops   []opRef // ops[i] is message seq i+1; seq 0 is the batch begin
	last  int     // offset of the last message's header
	ids   uint32  // set ids handed out
	err   error   // first encoding error
}

// newID returns a set id unique in the batch.
func (b *batch) newID() uint32 {
	b.ids++
	return b.ids
}

func newBatch(table string) *batch {
	b := &batch{table: table, buf: make([]byte, 0, 4096)}
	b.control(unix.NFNL_MSG_BATCH_BEGIN)
	return b
}

// messages is the number of nftables messages in the batch, begin and end
// not counted.
func (b *batch) messages() int { return len(b.ops) }

// control appends a batch begin or end message.
func (b *batch) control(typ uint16) {
	start := len(b.buf)
	b.buf = append(b.buf, make([]byte, nlmsgHeaderLen+nfgenHeaderLen)...)
	h := b.buf[start:]
	binary.NativeEndian.PutUint32(h[0:], uint32(nlmsgHeaderLen+nfgenHeaderLen))
	binary.NativeEndian.PutUint16(h[4:], typ)
	binary.NativeEndian.PutUint16(h[6:], unix.NLM_F_REQUEST)
	if typ == unix.NFNL_MSG_BATCH_BEGIN {
		binary.NativeEndian.PutUint32(h[8:], 0)
	} else {
		binary.NativeEndian.PutUint32(h[8:], uint32(len(b.ops)+1))
	}
	h[16] = unix.AF_UNSPEC
	binary.BigEndian.PutUint16(h[18:], unix.NFNL_SUBSYS_NFTABLES)
}

// begin starts an nftables message of the given NFT_MSG_* type and
// returns its offset for end.
func (b *batch) begin(msg uint16, flags uint16, op opRef) int {
	b.ops = append(b.ops, op)
	start := len(b.buf)
	b.last = start
	b.buf = append(b.buf, make([]byte, nlmsgHeaderLen+nfgenHeaderLen)...)
	h := b.buf[start:]
	binary.NativeEndian.PutUint16(h[4:], unix.NFNL_SUBSYS_NFTABLES<<8|msg)
	binary.NativeEndian.PutUint16(h[6:], unix.NLM_F_REQUEST|flags)
	binary.NativeEndian.PutUint32(h[8:], uint32(len(b.ops)))
	h[16] = unix.AF_INET
	return start
}

// end writes the message length.
func (b *batch) end(start int) {
	binary.NativeEndian.PutUint32(b.buf[start:], uint32(len(b.buf)-start))
}

func (b *batch) attr(typ uint16, data []byte) {
	n := 4 + len(data)
	b.buf = binary.NativeEndian.AppendUint16(b.buf, uint16(n))
	b.buf = binary.NativeEndian.AppendUint16(b.buf, typ)
	b.buf = append(b.buf, data...)
	b.pad()
}

func (b *batch) pad() {
	for len(b.buf)%4 != 0 {
		b.buf = append(b.buf, 0)
	}
}

func (b *batch) str(typ uint16, s string) {
	n := 4 + len(s) + 1
	b.buf = binary.NativeEndian.AppendUint16(b.buf, uint16(n))
	b.buf = binary.NativeEndian.AppendUint16(b.buf, typ)
	b.buf = append(b.buf, s...)
	b.buf = append(b.buf, 0)
	b.pad()
}

func (b *batch) u32(typ uint16, v uint32) {
	b.attr(typ, binary.BigEndian.AppendUint32(nil, v))
}

func (b *batch) u64(typ uint16, v uint64) {
	b.attr(typ, binary.BigEndian.AppendUint64(nil, v))
}

// nest opens a nested attribute; close it with unnest.
func (b *batch) nest(typ uint16) int {
	start := len(b.buf)
	b.buf = append(b.buf, 0, 0, 0, 0)
	binary.NativeEndian.PutUint16(b.buf[start+2:], typ|unix.NLA_F_NESTED)
	return start
}

func (b *batch) unnest(start int) {
	n := len(b.buf) - start
	if n > 0xffff {
		b.fail(fmt.Errorf("nested attribute of %d bytes", n))
	}
	binary.NativeEndian.PutUint16(b.buf[start:], uint16(n))
}

func (b *batch) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

// finish closes the batch: only the last message asks for an
// acknowledgement (once it arrives, every error the kernel had to report
// is in front of it), and a batch end follows.
func (b *batch) finish() {
	flags := binary.NativeEndian.Uint16(b.buf[b.last+6:])
	binary.NativeEndian.PutUint16(b.buf[b.last+6:], flags|unix.NLM_F_ACK)
	b.control(unix.NFNL_MSG_BATCH_END)
}

// renumber adds base to every message's sequence number.
func (b *batch) renumber(base uint32) {
	for off := 0; off+nlmsgHeaderLen <= len(b.buf); {
		n := int(binary.NativeEndian.Uint32(b.buf[off:]))
		seq := binary.NativeEndian.Uint32(b.buf[off+8:])
		binary.NativeEndian.PutUint32(b.buf[off+8:], seq+base)
		off += (n + 3) &^ 3
	}
}

// nlConn is a NETLINK_NETFILTER socket kept from batch to batch: closing
// one waits for the kernel to free what the last transaction deleted (an
// RCU grace period, ~5 ms on the test VM), keeping it open does not.
type nlConn struct {
	netns  int
	fd     int // -1: not open
	sndbuf int
	seq    uint32 // the next batch's first sequence number
}

func newConn(netns int) *nlConn { return &nlConn{netns: netns, fd: -1, seq: 1} }

// close closes the socket; the next send opens a new one.
func (c *nlConn) close() {
	if c.fd >= 0 {
		unix.Close(c.fd)
		c.fd, c.sndbuf = -1, 0
	}
}

// send commits the batch. An error from the kernel means it applied none
// of the batch; after any other error the socket is replaced.
func (c *nlConn) send(b *batch) error {
	if b.err != nil {
		return fmt.Errorf("%w: encode: %w", ErrNftables, b.err)
	}
	if len(b.ops) == 0 {
		return nil
	}
	b.finish()
	if err := c.open(len(b.buf)); err != nil {
		return err
	}
	base := c.seq
	c.seq += uint32(len(b.ops)) + 2
	b.renumber(base)
	if err := unix.Sendto(c.fd, b.buf, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		c.close()
		return fmt.Errorf("%w: send %d bytes: %w", ErrNftables, len(b.buf), err)
	}
	rejected, err := b.replies(c.fd, base)
	if err != nil {
		c.close()
		return err
	}
	return rejected
}

// open opens the socket if needed and makes its send buffer hold n bytes
// (the kernel refuses a message larger than the send buffer).
func (c *nlConn) open(n int) error {
	if c.fd < 0 {
		fd, err := netlinkSocket(c.netns)
		if err != nil {
			return err
		}
		if err := prepareSocket(fd); err != nil {
			unix.Close(fd)
			return err
		}
		c.fd = fd
	}
	if n+1<<16 > c.sndbuf {
		c.sndbuf = max(n+1<<16, 1<<20)
		if err := unix.SetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, c.sndbuf); err != nil {
			c.close()
			return fmt.Errorf("%w: setsockopt SO_SNDBUFFORCE: %w", ErrNftables, err)
		}
	}
	return nil
}

// replies reads until the acknowledgement of the batch's last message.
// rejected holds the errors the kernel reported for the batch; err is a
// failure to read them.
func (b *batch) replies(fd int, base uint32) (rejected, err error) {
	var errs []error
	buf := make([]byte, 1<<16)
	last := base + uint32(len(b.ops))
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) {
				err = fmt.Errorf("no acknowledgement after %s", ackTimeout)
			}
			return nil, fmt.Errorf("%w: receive: %w", ErrNftables, errors.Join(append(errs, err)...))
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return nil, fmt.Errorf("%w: parse reply: %w", ErrNftables, err)
		}
		for _, m := range msgs {
			if m.Header.Type != unix.NLMSG_ERROR || len(m.Data) < 20 {
				continue
			}
			seq := binary.NativeEndian.Uint32(m.Data[12:])
			if seq < base || seq > last {
				continue // a reply to an earlier batch
			}
			if errno := int32(binary.NativeEndian.Uint32(m.Data[0:])); errno != 0 {
				errs = append(errs, b.describe(seq-base, unix.Errno(-errno), m))
			}
			if seq == last || seq == base {
				if len(errs) > 0 {
					return fmt.Errorf("%w: %w", ErrNftables, errors.Join(errs...)), nil
				}
				return nil, nil
			}
		}
	}
}

// describe turns an error reply to message seq (relative to the batch)
// into an error naming the message and, with extended acknowledgements,
// the kernel's reason.
func (b *batch) describe(seq uint32, errno unix.Errno, m syscall.NetlinkMessage) error {
	what := "batch"
	if seq >= 1 && int(seq) <= len(b.ops) {
		op := b.ops[seq-1]
		what = op.verb + " " + op.name
	}
	if m.Header.Flags&unix.NLM_F_ACK_TLVS != 0 {
		for tlv := m.Data[20:]; len(tlv) >= 4; {
			l := int(binary.NativeEndian.Uint16(tlv))
			if l < 4 || l > len(tlv) {
				break
			}
			if binary.NativeEndian.Uint16(tlv[2:]) == unix.NLMSGERR_ATTR_MSG {
				return fmt.Errorf("%s: %w (%s)", what, errno, strings.TrimRight(string(tlv[4:l]), "\x00"))
			}
			tlv = tlv[(l+3)&^3:]
		}
	}
	return fmt.Errorf("%s: %w", what, errno)
}

// prepareSocket sets the receive buffer (room for an error per message
// of a large failed batch), short acknowledgements with the kernel's
// reason for a failure, and the receive timeout.
func prepareSocket(fd int) error {
	opts := []struct {
		level, opt, val int
	}{
		{unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 4 << 20},
		{unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1},
		{unix.SOL_NETLINK, unix.NETLINK_EXT_ACK, 1},
	}
	for _, o := range opts {
		if err := unix.SetsockoptInt(fd, o.level, o.opt, o.val); err != nil {
			return fmt.Errorf("%w: setsockopt %d: %w", ErrNftables, o.opt, err)
		}
	}
	tv := unix.NsecToTimeval(ackTimeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fmt.Errorf("%w: setsockopt SO_RCVTIMEO: %w", ErrNftables, err)
	}
	return nil
}

// netlinkSocket opens a NETLINK_NETFILTER socket in the network namespace
// nsfd, or in the caller's if nsfd is 0. A socket stays in the namespace
// it was created in, so only its creation runs on a thread moved there.
func netlinkSocket(nsfd int) (int, error) {
	open := func() (int, error) {
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
		if err != nil {
			return -1, fmt.Errorf("%w: netlink socket: %w", ErrNftables, err)
		}
		if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("%w: bind netlink socket: %w", ErrNftables, err)
		}
		return fd, nil
	}
	if nsfd <= 0 {
		return open()
	}
	var fd int
	err := inNetns(nsfd, func() error {
		var err error
		fd, err = open()
		return err
	})
	return fd, err
}

// inNetns runs fn on a thread that has joined the network namespace nsfd.
// If the thread cannot return to its own namespace it is never unlocked,
// so the runtime retires it with the goroutine.
func inNetns(nsfd int, fn func() error) error {
	runtime.LockOSThread()
	self, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("%w: open own netns: %w", ErrNftables, err)
	}
	defer unix.Close(self)
	if err := unix.Setns(nsfd, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("%w: setns: %w", ErrNftables, err)
	}
	ferr := fn()
	if err := unix.Setns(self, unix.CLONE_NEWNET); err != nil {
		return errors.Join(ferr, fmt.Errorf("%w: return from netns: %w", ErrNftables, err))
	}
	runtime.UnlockOSThread()
	return ferr
}
