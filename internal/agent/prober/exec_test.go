package prober

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
)

func TestExecProbe(t *testing.T) {
	hang := func(ctx context.Context, _ []string, _ time.Duration) ([]byte, []byte, int32, error) {
		<-ctx.Done()
		return nil, nil, 0, ctx.Err()
	}
	tests := []struct {
		name      string
		fn        execFunc
		wantOK    bool
		wantErr   bool
		wantMsg   string
		wantCalls int
	}{
		{"exit 0", exitWith(0, "ok", ""), true, false, "", 1},
		{"exit 1", exitWith(1, "out ", "not healthy"), false, false, "Liveness probe failed: out not healthy", 1},
		{"runtime timeout", func(context.Context, []string, time.Duration) ([]byte, []byte, int32, error) {
			return nil, nil, 0, status.Error(codes.DeadlineExceeded, "timeout 1s exceeded: context deadline exceeded")
		}, false, false, `Liveness probe failed: command "check --deep" timed out`, 1},
		{"wrapped runtime timeout", func(context.Context, []string, time.Duration) ([]byte, []byte, int32, error) {
			return nil, nil, -1, fmt.Errorf("exec in cid: %w", status.Error(codes.DeadlineExceeded, "deadline"))
		}, false, false, `Liveness probe failed: command "check --deep" timed out`, 1},
		{"call deadline", hang, false, false, `Liveness probe failed: command "check --deep" timed out`, 1},
		{"runtime error", func(context.Context, []string, time.Duration) ([]byte, []byte, int32, error) {
			return nil, nil, 0, errors.New("container is stopping")
		}, false, true, "Liveness probe errored and resulted in unknown state: container is stopping", maxProbeAttempts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := newFakeExecer(tt.fn)
			ok, events, err := probeOnceFor(t, Liveness, execProbe("check", "--deep"), nil, ex, 20*time.Millisecond)
			if ok != tt.wantOK || (err != nil) != tt.wantErr {
				t.Fatalf("ok=%v err=%v, want ok=%v err=%v", ok, err, tt.wantOK, tt.wantErr)
			}
			checkEvents(t, events, tt.wantMsg, ReasonUnhealthy)
			if n := ex.count("check --deep"); n != tt.wantCalls {
				t.Errorf("calls = %d, want %d", n, tt.wantCalls)
			}
			if ex.timeouts[0] != 20*time.Millisecond || ex.ids[0] != "cid" {
				t.Errorf("ExecSync got timeout %v id %q", ex.timeouts[0], ex.ids[0])
			}
		})
	}
}

func TestExecProbeOutputLimitAndExpansion(t *testing.T) {
	ex := newFakeExecer(exitWith(2, strings.Repeat("y", 2*maxOutputLength), ""))
	c := &corev1.Container{Name: "app", Env: []corev1.EnvVar{
		{Name: "PORT", Value: "8080"},
		{Name: "SECRET", ValueFrom: &corev1.EnvVarSource{}},
	}}
	_, events, _ := probeOnceFor(t, Startup, execProbe("check", "$(PORT)", "$(SECRET)x", "$$(PORT)", "$(NOPE)"), c, ex, time.Second)
	if n := ex.count("check 8080 x $(PORT) $(NOPE)"); n != 1 {
		t.Errorf("expanded command not run: %v", ex.calls)
	}
	want := "Startup probe failed: " + strings.Repeat("y", maxOutputLength)
	checkEvents(t, events, want, ReasonUnhealthy)
}

func TestExpandString(t *testing.T) {
	vars := map[string]string{"A": "1", "B": ""}
	for in, want := range map[string]string{
		"plain":        "plain",
		"$(A)":         "1",
		"x$(A)y$(B)z":  "x1yz",
		"$$(A)":        "$(A)",
		"$$$(A)":       "$1",
		"$(C)":         "$(C)",
		"$(A":          "$(A",
		"$x":           "$x",
		"end$":         "end$",
		"$(A)$(A)$(C)": "11$(C)",
	} {
		if got := expandString(in, vars); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMissingHandler(t *testing.T) {
	ok, events, err := probeOnceFor(t, Readiness, &corev1.Probe{}, nil, nil, time.Second)
	if ok || err == nil {
		t.Fatalf("ok=%v err=%v", ok, err)
	}
	checkEvents(t, events, "Readiness probe errored and resulted in unknown state: missing probe handler for web_default(uid-1):app", ReasonUnhealthy)
}
