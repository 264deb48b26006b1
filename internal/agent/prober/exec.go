package prober

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// exitError is a command's non-zero exit, worded as kubelet's runtime
// client words it.
type exitError struct {
	cmd    []string
	code   int32
	stderr []byte
}

func (e *exitError) Error() string {
	return fmt.Sprintf("command '%s' exited with %d: %s", strings.Join(e.cmd, " "), e.code, e.stderr)
}

// timeoutError is a command that did not finish within its timeout.
type timeoutError struct{ cmd []string }

func (e *timeoutError) Error() string {
	return fmt.Sprintf("command %q timed out", strings.Join(e.cmd, " "))
}

// isTimeout reports whether err is a deadline being exceeded, as a context
// error or as a gRPC status.
func isTimeout(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || status.Code(err) == codes.DeadlineExceeded
}

// runInContainer runs cmd through exec and returns its stdout followed by
// its stderr, and an *exitError, a *timeoutError or exec's error.
func runInContainer(ctx context.Context, exec Execer, containerID string, cmd []string, timeout time.Duration) ([]byte, error) {
	if exec == nil {
		return nil, errors.New("no command runner")
	}
	stdout, stderr, code, err := exec.ExecSync(ctx, containerID, cmd, timeout)
	if err != nil {
		if isTimeout(err) {
			return nil, &timeoutError{cmd: cmd}
		}
		return nil, err
	}
	out := append(append([]byte{}, stdout...), stderr...)
	if code != 0 {
		return out, &exitError{cmd: cmd, code: code, stderr: stderr}
	}
	return out, nil
}

// execProbe runs an exec probe: exit code 0 is success, any other exit code
// or a timeout is failure, with the command's output (at most 10 KiB) or the
// timeout as the message.
func (p *prober) execProbe(ctx context.Context, containerID string, cmd []string, timeout time.Duration) (result, string, error) {
	callCtx, cancel := context.WithTimeout(ctx, timeout+p.execSlack)
	defer cancel()
	out, err := runInContainer(callCtx, p.exec, containerID, cmd, timeout)
	if len(out) > maxOutputLength {
		out = out[:maxOutputLength]
	}
	var exit *exitError
	var tmo *timeoutError
	switch {
	case err == nil:
		return resultSuccess, string(out), nil
	case errors.As(err, &exit):
		return resultFailure, string(out), nil
	case errors.As(err, &tmo):
		return resultFailure, tmo.Error(), nil
	}
	return resultUnknown, "", err
}
