package cli

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff/skiff/internal/agent/simulate"
	"github.com/skiff/skiff/internal/server"
)

// simulateFlags are `skiff agent --simulate N`'s: hollow nodes for
// scheduler scale tests, instead of this machine's node.
type simulateFlags struct {
	cfg                        simulate.Config
	cpu, memory, storage       string
	taints                     []string
	clientQPS, clientBurstSize int
}

func (f *simulateFlags) register(fs *pflag.FlagSet) {
	f.cfg = simulate.DefaultConfig()
	fs.IntVar(&f.cfg.Count, "simulate", 0, "run N simulated nodes (API objects only: no containers, no network) instead of this node")
	fs.StringVar(&f.cfg.NamePrefix, "simulate-prefix", f.cfg.NamePrefix, "simulated nodes are named <prefix>-0 .. <prefix>-(N-1)")
	fs.IntVar(&f.cfg.Zones, "simulate-zones", 0, "spread simulated nodes over K zones (topology.kubernetes.io/zone=zone-<i mod K>)")
	fs.StringVar(&f.cpu, "simulate-cpu", f.cfg.CPU.String(), "CPU capacity of each simulated node")
	fs.StringVar(&f.memory, "simulate-memory", f.cfg.Memory.String(), "memory capacity of each simulated node")
	fs.StringVar(&f.storage, "simulate-ephemeral-storage", f.cfg.EphemeralStorage.String(), "ephemeral-storage capacity of each simulated node")
	fs.IntVar(&f.cfg.Pods, "simulate-pods", f.cfg.Pods, "pod capacity of each simulated node")
	fs.StringSliceVar(&f.taints, "simulate-taint", nil, "taint key[=value]:Effect for every simulated node (--node-label adds labels)")
	fs.BoolVar(&f.cfg.Cleanup, "simulate-cleanup", false, "delete the simulated Node objects on exit (default: leave them to go NotReady)")
	fs.IntVar(&f.clientQPS, "simulate-qps", 500, "API requests per second of the simulator")
	fs.IntVar(&f.clientBurstSize, "simulate-burst", 1000, "API request burst of the simulator")
}

// complete parses the string flags into the simulator's Config.
func (f *simulateFlags) complete(labels []string) error {
	for _, q := range []struct {
		flag, v string
		dst     *resource.Quantity
	}{{"--simulate-cpu", f.cpu, &f.cfg.CPU}, {"--simulate-memory", f.memory, &f.cfg.Memory}, {"--simulate-ephemeral-storage", f.storage, &f.cfg.EphemeralStorage}} {
		v, err := resource.ParseQuantity(q.v)
		if err != nil {
			return fmt.Errorf("%s %q: %w", q.flag, q.v, err)
		}
		*q.dst = v
	}
	var err error
	if f.cfg.Labels, err = parseLabels(labels); err != nil {
		return err
	}
	for _, t := range f.taints {
		taint, err := parseTaint(t)
		if err != nil {
			return err
		}
		f.cfg.Taints = append(f.cfg.Taints, taint)
	}
	return f.cfg.Validate()
}

// parseTaint reads key[=value]:Effect, as kubectl taint does.
func parseTaint(s string) (corev1.Taint, error) {
	kv, effect, ok := strings.Cut(s, ":")
	key, value, _ := strings.Cut(kv, "=")
	if !ok || key == "" {
		return corev1.Taint{}, fmt.Errorf("--simulate-taint %q: want key[=value]:Effect", s)
	}
	return corev1.Taint{Key: key, Value: value, Effect: corev1.TaintEffect(effect)}, nil
}

// run joins the server with the token and runs the simulated nodes until
// ctx ends. It needs no root, containerd or CNI.
func (f *simulateFlags) run(ctx context.Context, log *slog.Logger, serverURL, token, dataDir string) error {
	f.cfg.Log, f.cfg.Version = log, "skiff "+skiffVersion
	rc, err := server.JoinClient(ctx, serverURL, token, f.cfg.NamePrefix, filepath.Join(dataDir, "simulate", "tls"))
	if err != nil {
		return err
	}
	rc.QPS, rc.Burst, rc.UserAgent = float32(f.clientQPS), f.clientBurstSize, "skiff-agent-simulated"
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("simulate: client: %w", err)
	}
	return simulate.Run(ctx, client, f.cfg)
}
