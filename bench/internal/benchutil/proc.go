package benchutil

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/flowcontrol"
)

// Mem is a process's memory from /proc/PID/status, in bytes.
type Mem struct {
	RSS, HWM, Anon, File int64
}

// String gives RSS with its split into anonymous memory (Go heap, stacks)
// and file pages (the mapped binary), and the high-water mark.
func (m Mem) String() string {
	return fmt.Sprintf("%s (anon %s + file %s; VmHWM %s)", Mib(m.RSS), Mib(m.Anon), Mib(m.File), Mib(m.HWM))
}

// MemStatus reads VmRSS, VmHWM, RssAnon and RssFile of process pid.
func MemStatus(pid int) (Mem, error) {
	var m Mem
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m, err
	}
	fields := map[string]*int64{"VmRSS:": &m.RSS, "VmHWM:": &m.HWM, "RssAnon:": &m.Anon, "RssFile:": &m.File}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[2] == "kB" && fields[f[0]] != nil {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			*fields[f[0]] = v << 10
		}
	}
	if m.RSS == 0 {
		return m, errors.New("no VmRSS in /proc status")
	}
	return m, nil
}

// ClockTick is USER_HZ, 100 on every Linux Go supports.
const ClockTick = 10 * time.Millisecond

// statTicks returns the fields at idx (0 is the state, after the command
// name) of /proc/PID/stat, summed, as a duration of clock ticks.
func statTicks(path string, idx ...int) time.Duration {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	var t int64
	for _, i := range idx {
		if i >= len(f) {
			return 0
		}
		v, _ := strconv.ParseInt(f[i], 10, 64)
		t += v
	}
	return time.Duration(t) * ClockTick
}

// CPUTime returns user+system CPU time of process pid (all threads) from
// /proc/PID/stat, in clock ticks of 10 ms.
func CPUTime(pid int) time.Duration {
	return statTicks(fmt.Sprintf("/proc/%d/stat", pid), 11, 12)
}

// ChildrenCPUTime returns the CPU time of the reaped children of process
// pid (cutime+cstime): the processes it ran and waited for.
func ChildrenCPUTime(pid int) time.Duration {
	return statTicks(fmt.Sprintf("/proc/%d/stat", pid), 13, 14)
}

// OwnCPU returns the CPU time of this process and its reaped children
// (the servers a section started and stopped).
func OwnCPU() time.Duration {
	return statTicks("/proc/self/stat", 11, 12, 13, 14) // utime stime cutime cstime
}

// SelfCPU returns the CPU time of this process alone, without children.
func SelfCPU() time.Duration { return statTicks("/proc/self/stat", 11, 12) }

// MachineBusy returns the CPU time all CPUs spent not idle, from the
// first line of /proc/stat.
func MachineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system irq softirq steal
		v, _ := strconv.ParseInt(f[i], 10, 64)
		busy += v
	}
	return time.Duration(busy) * ClockTick
}

// Noise measures how much CPU other processes used while a section ran.
type Noise struct {
	start     time.Time
	busy, own time.Duration
	cpu       func() time.Duration
}

// StartNoise starts measuring; own is the CPU time of the bench's own
// processes, left out.
func StartNoise(own func() time.Duration) Noise {
	return Noise{time.Now(), MachineBusy(), own(), own}
}

// Cores is the other processes' average CPU use in cores.
func (n Noise) Cores() float64 {
	other := (MachineBusy() - n.busy) - (n.cpu() - n.own)
	return max(0, other.Seconds()/time.Since(n.start).Seconds())
}

// SyncBuffer collects a server's output.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Tail returns the last n lines of s.
func Tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// FreePort asks the kernel for a free loopback port. Another process may
// take it before the server binds it; the server then exits and the
// caller reports that.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// RestConfig is the admin kubeconfig with throttling off and no proxy, so
// every client talks to 127.0.0.1 directly. A Proxy func also keeps
// client-go from sharing one transport (one TCP connection) between
// clientsets: each config gets its own connection.
func RestConfig(kubeconfig string) (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(cfg.Host, "https://127.0.0.1:") {
		return nil, fmt.Errorf("kubeconfig points at %s, not 127.0.0.1", cfg.Host)
	}
	cfg.QPS, cfg.Burst = 1e6, 1e6
	cfg.RateLimiter = flowcontrol.NewFakeAlwaysRateLimiter()
	cfg.Proxy = func(*http.Request) (*url.URL, error) { return nil, nil }
	cfg.UserAgent = "skiff-bench"
	return cfg, nil
}
