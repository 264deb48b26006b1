package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/skiff/skiff/bench/internal/benchutil"
)

// containerd (1.6, log level info) logs every CRI call that starts a pod,
// with nanosecond timestamps:
//
//	RunPodSandbox for &PodSandboxMetadata{Name:seq-00,...}
//	starting signal loop ... path=.../k8s.io/<sandbox id>      (the shim is up)
//	RunPodSandbox for &PodSandboxMetadata{Name:seq-00,...} returns sandbox id "<id>"
//	CreateContainer within sandbox "<id>" for container &ContainerMetadata{...}
//	CreateContainer within sandbox "<id>" for &ContainerMetadata{...} returns container id "<cid>"
//	StartContainer for "<cid>"
//	StartContainer for "<cid>" returns successfully
var (
	reTime       = regexp.MustCompile(`^time="([^"]+)"`)
	reSandboxEnd = regexp.MustCompile(`msg="RunPodSandbox for &PodSandboxMetadata\{Name:([^,]+),.* returns sandbox id \\"([0-9a-f]+)\\"`)
	reSandbox    = regexp.MustCompile(`msg="RunPodSandbox for &PodSandboxMetadata\{Name:([^,]+),[^"]*\}"`)
	reShim       = regexp.MustCompile(`msg="starting signal loop".* path=\S*/([0-9a-f]{64})`)
	reCreateEnd  = regexp.MustCompile(`msg="CreateContainer within sandbox \\"([0-9a-f]+)\\" for &ContainerMetadata.* returns container id \\"([0-9a-f]+)\\"`)
	reCreate     = regexp.MustCompile(`msg="CreateContainer within sandbox \\"([0-9a-f]+)\\" for container `)
	reStartEnd   = regexp.MustCompile(`msg="StartContainer for \\"([0-9a-f]+)\\" returns successfully"`)
	reStart      = regexp.MustCompile(`msg="StartContainer for \\"([0-9a-f]+)\\""`)
)

// criTimes are when containerd began and ended each call for one pod
// (the first of each: a retried call keeps its first times).
type criTimes struct {
	sandbox, shim, sandboxEnd, create, createEnd, start, startEnd time.Time
}

// parseCRILog reads containerd's log for the pods' CRI calls, by pod name.
func parseCRILog(path string) (map[string]*criTimes, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pods := map[string]*criTimes{}
	bySandbox, byContainer := map[string]*criTimes{}, map[string]*criTimes{}
	shims := map[string]time.Time{}
	set := func(t *time.Time, v time.Time) {
		if t.IsZero() {
			*t = v
		}
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		tm := reTime.FindStringSubmatch(line)
		if tm == nil {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, tm[1])
		if err != nil {
			continue
		}
		pod := func(name string) *criTimes {
			if pods[name] == nil {
				pods[name] = &criTimes{}
			}
			return pods[name]
		}
		if m := reSandboxEnd.FindStringSubmatch(line); m != nil {
			p := pod(m[1])
			set(&p.sandboxEnd, at)
			bySandbox[m[2]] = p
		} else if m := reSandbox.FindStringSubmatch(line); m != nil {
			set(&pod(m[1]).sandbox, at)
		} else if m := reShim.FindStringSubmatch(line); m != nil {
			shims[m[1]] = at
		} else if m := reCreateEnd.FindStringSubmatch(line); m != nil && bySandbox[m[1]] != nil {
			set(&bySandbox[m[1]].createEnd, at)
			byContainer[m[2]] = bySandbox[m[1]]
		} else if m := reCreate.FindStringSubmatch(line); m != nil && bySandbox[m[1]] != nil {
			set(&bySandbox[m[1]].create, at)
		} else if m := reStartEnd.FindStringSubmatch(line); m != nil && byContainer[m[1]] != nil {
			set(&byContainer[m[1]].startEnd, at)
		} else if m := reStart.FindStringSubmatch(line); m != nil && byContainer[m[1]] != nil {
			set(&byContainer[m[1]].start, at)
		}
	}
	for id, p := range bySandbox {
		if at, ok := shims[id]; ok {
			p.shim = at
		}
	}
	return pods, sc.Err()
}

// sandboxIDs lists every sandbox containerd's log says it made.
func sandboxIDs(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if m := reSandboxEnd.FindStringSubmatch(sc.Text()); m != nil {
			ids = append(ids, m[2])
		}
	}
	return ids
}

// phaseNames name the steps between a pod's checkpoints.
var phaseNames = []string{
	"Create call to RunPodSandbox", "RunPodSandbox to the shim's start", "shim start to RunPodSandbox's return",
	"agent: to CreateContainer", "CreateContainer", "agent: to StartContainer", "StartContainer",
	"started to observed Running",
}

// checkpoints are a pod's times in order, len(phaseNames)+1 of them.
func checkpoints(s started, pt podTimes, c *criTimes) []time.Time {
	return []time.Time{s.sent, c.sandbox, c.shim, c.sandboxEnd, c.create, c.createEnd, c.start, c.startEnd, pt.running}
}

// breakdownRows splits the pods' start-up into phases, from containerd's
// log and the bench's own times, and gives each phase's median and max.
func breakdownRows(label string, n *node, t *tracker, starts []started) []benchutil.Result {
	cri, err := parseCRILog(n.containerdLog())
	if err != nil {
		return []benchutil.Result{{Figure: "start-up phases, " + label, Value: "error: " + err.Error()}}
	}
	phases := make([][]time.Duration, len(phaseNames))
	for _, s := range starts {
		c := cri[s.name]
		if c == nil {
			continue
		}
		cp := checkpoints(s, t.get(s.name), c)
		for i := range phases {
			if !cp[i].IsZero() && !cp[i+1].IsZero() {
				phases[i] = append(phases[i], cp[i+1].Sub(cp[i]))
			}
		}
	}
	var parts []string
	for i, ds := range phases {
		if len(ds) == 0 {
			parts = append(parts, phaseNames[i]+" n/a")
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s (max %s)", phaseNames[i], benchutil.Dur(benchutil.Median(ds)), benchutil.Dur(benchutil.MaxOf(ds))))
	}
	return []benchutil.Result{{Figure: "start-up phases, " + label, Value: "median per pod: " + strings.Join(parts, "; "),
		How: "CRI calls' start and return from containerd's log (ns timestamps), the Create call and the watch from the bench; same clock"}}
}
