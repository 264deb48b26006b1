package cluster

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	criv1 "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff/skiff/internal/runtime"
	"github.com/skiff/skiff/internal/runtime/runtimetest"
)

// PurgeNode removes everything a node left behind once its skiff process
// is gone: every sandbox through its containerd (still running in its own
// process group) so CNI releases addresses and rules, then what containerd
// leaves (processes, mounts under dataDir, the pods' network namespaces
// and NAT rules CNI could not remove) and the node's cgroups. dataDir is
// the directory given to skiff (server or agent); the agent keeps its
// state in dataDir/agent.
func PurgeNode(logf func(string, ...any), dataDir, cgroup string) {
	sock := filepath.Join(dataDir, "agent", "containerd", "containerd.sock")
	if _, err := os.Stat(sock); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if rt, err := runtime.Dial(ctx, "unix://"+sock); err == nil {
			netns, ids := SandboxNetworks(ctx, rt)
			if err := runtimetest.RemoveAll(ctx, rt); err != nil {
				logf("remove sandboxes: %v", err)
			}
			rt.Close()
			RemoveNetns(netns)
			RemoveCNIRules(ids)
		}
		cancel()
	}
	if err := runtimetest.Purge(dataDir); err != nil {
		logf("purge %s: %v", dataDir, err)
	}
	RemoveCgroup(cgroup)
}

// PurgeHostNetwork removes what a node agent in the host's own network
// namespace sets up there: its bridge, the containment routes and the
// service proxy's nftables table.
func PurgeHostNetwork(bridge, proxyTable string) {
	_ = exec.Command("ip", "link", "del", bridge).Run()
	for _, cidr := range []string{"10.42.0.0/16", "10.43.0.0/16"} {
		_ = exec.Command("ip", "route", "del", "unreachable", cidr).Run()
	}
	if proxyTable != "" {
		_ = exec.Command("nft", "delete", "table", "ip", proxyTable).Run()
	}
}

// SandboxNetworks returns the network namespaces and IDs of every
// sandbox, from containerd's verbose status.
func SandboxNetworks(ctx context.Context, rt *runtime.Runtime) ([]string, []string) {
	resp, err := rt.Runtime.ListPodSandbox(ctx, &criv1.ListPodSandboxRequest{})
	if err != nil {
		return nil, nil
	}
	var netns, ids []string
	for _, sb := range resp.Items {
		ids = append(ids, sb.Id)
		st, err := rt.Runtime.PodSandboxStatus(ctx, &criv1.PodSandboxStatusRequest{PodSandboxId: sb.Id, Verbose: true})
		if err != nil {
			continue
		}
		var info struct {
			RuntimeSpec struct {
				Linux struct {
					Namespaces []struct{ Type, Path string }
				}
			}
		}
		if json.Unmarshal([]byte(st.Info["info"]), &info) != nil {
			continue
		}
		for _, ns := range info.RuntimeSpec.Linux.Namespaces {
			if ns.Type == "network" && (strings.HasPrefix(ns.Path, "/var/run/netns/") || strings.HasPrefix(ns.Path, "/run/netns/")) {
				netns = append(netns, ns.Path)
			}
		}
	}
	return netns, ids
}

// RemoveNetns unmounts and removes network namespace files CNI left.
func RemoveNetns(paths []string) {
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			_ = exec.Command("umount", p).Run()
			_ = os.Remove(p)
		}
	}
}

// RemoveCNIRules deletes the NAT rules and chains the bridge plugin made
// for the given sandboxes in the host's namespace.
func RemoveCNIRules(ids []string) {
	out, err := exec.Command("iptables", "-t", "nat", "-S").Output()
	if err != nil {
		return
	}
	chains := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		for _, id := range ids {
			if !strings.HasPrefix(line, "-A ") || !strings.Contains(line, id) {
				continue
			}
			f := strings.Fields(line)
			if len(f) > 1 && strings.HasPrefix(f[1], "CNI-") {
				chains[f[1]] = true
			}
			_ = exec.Command("sh", "-c", "iptables -t nat "+strings.Replace(line, "-A ", "-D ", 1)).Run()
		}
	}
	for ch := range chains {
		_ = exec.Command("iptables", "-t", "nat", "-F", ch).Run()
		_ = exec.Command("iptables", "-t", "nat", "-X", ch).Run()
	}
}

// RemoveCgroup removes a cgroup tree in every v1 hierarchy, deepest first.
func RemoveCgroup(rel string) {
	if rel == "" || rel == "/" {
		return
	}
	hier, _ := filepath.Glob("/sys/fs/cgroup/*")
	for _, h := range hier {
		root := filepath.Join(h, rel)
		var dirs []string
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			_ = os.Remove(dirs[i])
		}
	}
}
