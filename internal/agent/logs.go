package agent

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	criv1 "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// logOptions are the query parameters of GET /containerLogs, as
// kubectl logs sends them through the API server.
type logOptions struct {
	follow, previous, timestamps bool
	tail                         int64 // -1: all
	since                        time.Time
	limitBytes                   int64
}

func parseLogOptions(r *http.Request) (logOptions, error) {
	q := r.URL.Query()
	o := logOptions{follow: q.Get("follow") == "true", previous: q.Get("previous") == "true", timestamps: q.Get("timestamps") == "true", tail: -1}
	if v := q.Get("tailLines"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return o, fmt.Errorf("invalid tailLines %q", v)
		}
		o.tail = n
	}
	if v := q.Get("sinceSeconds"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return o, fmt.Errorf("invalid sinceSeconds %q", v)
		}
		o.since = time.Now().Add(-time.Duration(n) * time.Second)
	}
	if v := q.Get("sinceTime"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return o, fmt.Errorf("invalid sinceTime %q", v)
		}
		o.since = t
	}
	if v := q.Get("limitBytes"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return o, fmt.Errorf("invalid limitBytes %q", v)
		}
		o.limitBytes = n
	}
	return o, nil
}

// serveLogs streams a container's log in kubectl's form.
func (a *Agent) serveLogs(w http.ResponseWriter, r *http.Request) {
	parts, ok := pathParts(r.URL.Path, "/containerLogs/", 3)
	if !ok {
		http.Error(w, "want /containerLogs/<namespace>/<pod>/<container>", http.StatusBadRequest)
		return
	}
	o, err := parseLogOptions(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	cs, code, err := a.logContainer(r.Context(), parts[0], parts[1], parts[2], o.previous)
	if err != nil {
		http.Error(w, err.Error(), code)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	var out io.Writer = w
	if o.limitBytes > 0 {
		out = &limitWriter{w: w, left: o.limitBytes}
	}
	a.streamLog(r.Context(), out, w, cs, o)
}

// logContainer finds the container whose log to read: the newest
// attempt, or the one before it with previous.
func (a *Agent) logContainer(ctx context.Context, ns, name, container string, previous bool) (*criv1.ContainerStatus, int, error) {
	obj, ok, _ := a.pods.informer.GetIndexer().GetByKey(ns + "/" + name)
	if !ok {
		return nil, http.StatusNotFound, fmt.Errorf("pod %q not found", name)
	}
	pod := obj.(*corev1.Pod)
	if isMirror(pod) {
		pod = a.staticByName(ns, name)
		if pod == nil {
			return nil, http.StatusNotFound, fmt.Errorf("pod %q not found", name)
		}
	}
	if specOf(pod, container) == nil {
		return nil, http.StatusBadRequest, fmt.Errorf("container %s is not valid for pod %s", container, name)
	}
	rp, err := a.podState(ctx, pod.UID)
	if err != nil {
		return nil, http.StatusInternalServerError, err
	}
	cur, prev := rp.latest(container)
	if previous {
		if prev == nil {
			return nil, http.StatusBadRequest, fmt.Errorf("previous terminated container %q in pod %q not found", container, name)
		}
		return prev, 0, nil
	}
	if cur == nil {
		reason := "ContainerCreating"
		for _, s := range append(pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses...) {
			if s.Name == container && s.State.Waiting != nil && s.State.Waiting.Reason != "" {
				reason = s.State.Waiting.Reason
			}
		}
		return nil, http.StatusBadRequest, fmt.Errorf("container %q in pod %q is waiting to start: %s", container, name, reason)
	}
	return cur, 0, nil
}

// staticByName finds a static pod by its API name.
func (a *Agent) staticByName(ns, name string) *corev1.Pod {
	a.pods.mu.RLock()
	defer a.pods.mu.RUnlock()
	for _, p := range a.pods.static {
		if p.Namespace == ns && p.Name == name {
			return p.DeepCopy()
		}
	}
	return nil
}

// logLine is one parsed CRI log line: <RFC3339Nano> <stream> <F|P> <text>.
type logLine struct {
	ts      time.Time
	content []byte
	partial bool
}

func parseLogLine(line []byte) (logLine, bool) {
	f := bytes.SplitN(line, []byte(" "), 4)
	if len(f) < 4 {
		return logLine{}, false
	}
	ts, err := time.Parse(time.RFC3339Nano, string(f[0]))
	if err != nil {
		return logLine{}, false
	}
	return logLine{ts: ts, content: f[3], partial: string(f[2]) == "P"}, true
}

// streamLog writes the log, then, with follow, what the container writes
// until it stops or the client goes away.
func (a *Agent) streamLog(ctx context.Context, out io.Writer, w http.ResponseWriter, cs *criv1.ContainerStatus, o logOptions) {
	f, err := os.Open(cs.LogPath)
	if err != nil {
		return
	}
	defer f.Close()
	lines, offset := readLogLines(f, o)
	for _, l := range lines {
		if writeLogLine(out, l, o.timestamps) != nil {
			return
		}
	}
	if !o.follow {
		return
	}
	flusher, _ := w.(http.Flusher)
	a.followLog(ctx, out, flusher, f, offset, cs.Id, o)
}

// readLogLines reads the file, applies since and tail, and returns the
// lines and where reading stopped.
func readLogLines(f *os.File, o logOptions) ([]logLine, int64) {
	data, _ := io.ReadAll(f)
	end := bytes.LastIndexByte(data, '\n') + 1
	var lines []logLine
	for _, raw := range bytes.Split(data[:end], []byte("\n")) {
		l, ok := parseLogLine(raw)
		if !ok || (!o.since.IsZero() && l.ts.Before(o.since)) {
			continue
		}
		lines = append(lines, l)
	}
	if o.tail >= 0 && int64(len(lines)) > o.tail {
		lines = lines[int64(len(lines))-o.tail:]
	}
	return lines, int64(end)
}

func writeLogLine(w io.Writer, l logLine, timestamps bool) error {
	var b bytes.Buffer
	if timestamps {
		b.WriteString(l.ts.Format(time.RFC3339Nano))
		b.WriteByte(' ')
	}
	b.Write(l.content)
	if !l.partial {
		b.WriteByte('\n')
	}
	_, err := w.Write(b.Bytes())
	return err
}

// followLog polls the file for new lines until the container is no longer
// running (and the file is drained) or ctx ends.
func (a *Agent) followLog(ctx context.Context, out io.Writer, flusher http.Flusher, f *os.File, offset int64, id string, o logOptions) {
	r := bufio.NewReader(io.NewSectionReader(f, offset, 1<<62))
	var pending []byte
	idle := 0
	for ctx.Err() == nil {
		chunk, err := r.ReadBytes('\n')
		pending = append(pending, chunk...)
		if err == nil {
			if l, ok := parseLogLine(bytes.TrimSuffix(pending, []byte("\n"))); ok && writeLogLine(out, l, o.timestamps) != nil {
				return
			}
			pending, idle = pending[:0], 0
			continue
		}
		if flusher != nil {
			flusher.Flush()
		}
		idle++
		if idle%10 == 0 && !a.containerRunning(ctx, id) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (a *Agent) containerRunning(ctx context.Context, id string) bool {
	resp, err := a.rt.Runtime.ContainerStatus(ctx, &criv1.ContainerStatusRequest{ContainerId: id})
	return err == nil && resp.Status.State == criv1.ContainerState_CONTAINER_RUNNING
}

type limitWriter struct {
	w    io.Writer
	left int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.w.Write(p)
	l.left -= int64(n)
	return n, err
}

// tailLog returns the last lines of a container log (for termination
// messages of FallbackToLogsOnError), at most maxBytes.
func tailLog(path string, maxLines int, maxBytes int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	lines, _ := readLogLines(f, logOptions{tail: int64(maxLines)})
	var b strings.Builder
	for _, l := range lines {
		b.Write(l.content)
		if !l.partial {
			b.WriteByte('\n')
		}
	}
	s := b.String()
	if len(s) > maxBytes {
		s = s[len(s)-maxBytes:]
	}
	return s
}
