package runtime

import (
	"context"
	"strings"
	"testing"
)

func TestRenderConfig(t *testing.T) {
	cfg := ContainerdConfig{Dir: "/d", InsecureRegistries: []string{"127.0.0.1:5000"}}
	cfg.setDefaults()
	got := renderConfig(cfg)
	for _, want := range []string{
		"version = 2\n",
		`root = "/d/root"`,
		`state = "/d/state"`,
		"[grpc]\n  address = \"/d/containerd.sock\"",
		`"io.containerd.snapshotter.v1.aufs"`,
		`sandbox_image = "skiff.local/pause:3.10-skiff"`,
		"restrict_oom_score_adj = true",
		`snapshotter = "overlayfs"`,
		`runtime_type = "io.containerd.runc.v2"`,
		"SystemdCgroup = false",
		`bin_dir = "/usr/lib/cni"`,
		`conf_dir = "/d/cni"`,
		"[plugins.\"io.containerd.grpc.v1.cri\".registry.mirrors.\"127.0.0.1:5000\"]\n  endpoint = [\"http://127.0.0.1:5000\"]",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("config lacks %q:\n%s", want, got)
		}
	}
}

func TestStartRejectsLongDir(t *testing.T) {
	c := NewContainerd(ContainerdConfig{Dir: "/tmp/" + strings.Repeat("x", 100)})
	err := c.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "shorter Dir") {
		t.Fatalf("Start: %v", err)
	}
	if err := c.WaitReady(context.Background()); err == nil {
		t.Fatal("WaitReady after a failed Start did not fail")
	}
}
