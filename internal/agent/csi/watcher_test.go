package csi

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	regv1 "k8s.io/kubelet/pkg/apis/pluginregistration/v1"

	"github.com/skiff/skiff/internal/runtime/runtimetest"
	"github.com/skiff/skiff/test/csi/csidriver"
)

const testNode = "node-a"

// startDriver serves a test driver until the test ends, or until the
// returned stop (which may be called more than once) stops it and removes
// its sockets.
func startDriver(t *testing.T, cfg csidriver.Config, failures ...string) (*csidriver.Driver, func()) {
	t.Helper()
	d, err := csidriver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range failures {
		d.SetFailure(m, errors.New("injected failure"))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Start(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("driver: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	select {
	case <-d.Ready():
	case err := <-done:
		t.Fatalf("driver did not start: %v", err)
	}
	return d, stop
}

// startWatcher runs a watcher over dir until the test ends.
func startWatcher(t *testing.T, dir string, client *fake.Clientset, registered ...func(string)) *Registry {
	t.Helper()
	reg := NewRegistry()
	deps := WatcherDeps{Client: client, Registry: reg}
	if len(registered) > 0 {
		deps.Registered = registered[0]
	}
	w, err := NewWatcher(WatcherConfig{Dir: dir, NodeName: testNode, Interval: 20 * time.Millisecond}, deps)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("watcher: %v", err)
		}
		if names := reg.Names(); len(names) != 0 {
			t.Errorf("drivers left in the registry after the watcher stopped: %v", names)
		}
	})
	return reg
}

func nodeClient(annotations map[string]string) *fake.Clientset {
	return fake.NewClientset(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: testNode, Annotations: annotations}})
}

// waitFor polls cond for up to ten seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func annotation(t *testing.T, client *fake.Clientset) map[string]string {
	t.Helper()
	n, err := client.CoreV1().Nodes().Get(context.Background(), testNode, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raw, ok := n.Annotations[NodeIDAnnotation]
	if !ok {
		return nil
	}
	ids := map[string]string{}
	if err := json.Unmarshal([]byte(raw), &ids); err != nil {
		t.Fatalf("annotation %q: %v", raw, err)
	}
	return ids
}

func TestWatcherRegistersAndUnregisters(t *testing.T) {
	dir := runtimetest.ShortTempDir(t)
	regDir := filepath.Join(dir, "plugins_registry")
	client := nodeClient(map[string]string{NodeIDAnnotation: `{"other.csi":"x"}`})
	var mu sync.Mutex
	var told []string
	reg := startWatcher(t, regDir, client, func(name string) {
		mu.Lock()
		told = append(told, name)
		mu.Unlock()
	})

	d, stop := startDriver(t, csidriver.Config{NodeID: "nid-1", Root: filepath.Join(dir, "root"),
		Endpoint: "unix://" + filepath.Join(dir, "csi.sock"), RegistrationDir: regDir})

	waitFor(t, "the driver to register", func() bool { _, err := reg.Lookup(csidriver.DefaultName); return err == nil })
	got, _ := reg.Lookup(csidriver.DefaultName)
	if got.NodeID != "nid-1" || got.Version != "1.0.0" || !got.StageUnstage() || got.Endpoint != filepath.Join(dir, "csi.sock") {
		t.Errorf("registered driver = %+v", got)
	}
	if ids := annotation(t, client); !equalIDs(ids, map[string]string{"other.csi": "x", csidriver.DefaultName: "nid-1"}) {
		t.Errorf("node annotation = %v", ids)
	}
	waitFor(t, "the registration status", func() bool { return len(d.Statuses()) > 0 })
	if st := d.Statuses(); len(st) != 1 || !st[0].GetPluginRegistered() || st[0].GetError() != "" {
		t.Errorf("statuses = %v", st)
	}
	want := []string{"GetInfo", "NodeGetInfo", "NodeGetCapabilities", "NotifyRegistrationStatus"}
	if m := d.Methods(); !slices.Equal(m, want) {
		t.Errorf("calls = %v, want %v", m, want)
	}
	waitFor(t, "the Registered callback", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Equal(told, []string{csidriver.DefaultName})
	})

	// The driver goes away: its sockets disappear, it is unregistered and
	// only the other driver stays on the node.
	stop()
	waitFor(t, "the driver to unregister", func() bool { _, err := reg.Lookup(csidriver.DefaultName); return err != nil })
	if _, err := reg.Lookup(csidriver.DefaultName); !errors.Is(err, ErrDriverNotFound) {
		t.Errorf("Lookup after removal: %v", err)
	}
	waitFor(t, "the annotation entry to go", func() bool {
		return equalIDs(annotation(t, client), map[string]string{"other.csi": "x"})
	})
}

func equalIDs(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestWatcherRefusesUnsupportedVersions(t *testing.T) {
	dir := runtimetest.ShortTempDir(t)
	regDir := filepath.Join(dir, "reg")
	client := nodeClient(nil)
	reg := startWatcher(t, regDir, client)
	d, _ := startDriver(t, csidriver.Config{NodeID: "n", Root: filepath.Join(dir, "root"),
		Endpoint: filepath.Join(dir, "csi.sock"), RegistrationDir: regDir, Versions: []string{"0.3.0", "2.0.0"}})
	waitFor(t, "a registration status", func() bool { return len(d.Statuses()) > 0 })
	st := d.Statuses()[0]
	if st.GetPluginRegistered() || st.GetError() == "" {
		t.Errorf("status = %v, want a refusal", st)
	}
	if names := reg.Names(); len(names) != 0 {
		t.Errorf("registered: %v", names)
	}
	if ids := annotation(t, client); ids != nil {
		t.Errorf("annotation = %v", ids)
	}
	// The refused plugin was never connected to.
	if m := d.Methods(); slices.Contains(m, "NodeGetInfo") {
		t.Errorf("calls = %v", m)
	}
}

func TestWatcherRetriesFailedRegistration(t *testing.T) {
	dir := runtimetest.ShortTempDir(t)
	regDir := filepath.Join(dir, "reg")
	reg := startWatcher(t, regDir, nodeClient(nil))
	d, _ := startDriver(t, csidriver.Config{NodeID: "n", Root: filepath.Join(dir, "root"),
		Endpoint: filepath.Join(dir, "csi.sock"), RegistrationDir: regDir}, "NodeGetInfo")
	waitFor(t, "a refusal", func() bool { return len(d.Statuses()) > 0 })
	if st := d.Statuses()[0]; st.GetPluginRegistered() {
		t.Fatalf("status = %v, want a refusal", st)
	}
	d.SetFailure("NodeGetInfo", nil)
	waitFor(t, "the retried registration", func() bool { _, err := reg.Lookup(csidriver.DefaultName); return err == nil })
	st := d.Statuses()
	if last := st[len(st)-1]; !last.GetPluginRegistered() {
		t.Errorf("last status = %v", last)
	}
}

func TestAdmitRejects(t *testing.T) {
	reg := NewRegistry()
	reg.Add(&Driver{Name: "taken.csi", Version: "1.5.0", socket: "/reg/a.sock"})
	w, err := NewWatcher(WatcherConfig{Dir: "/nonexistent", NodeName: testNode}, WatcherDeps{Client: nodeClient(nil), Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		info *regv1.PluginInfo
	}{
		{"device plugin", &regv1.PluginInfo{Type: regv1.DevicePlugin, Name: "x", SupportedVersions: []string{"1.0.0"}}},
		{"no name", &regv1.PluginInfo{Type: regv1.CSIPlugin, SupportedVersions: []string{"1.0.0"}}},
		{"no versions", &regv1.PluginInfo{Type: regv1.CSIPlugin, Name: "x"}},
		{"name held with a higher version", &regv1.PluginInfo{Type: regv1.CSIPlugin, Name: "taken.csi", SupportedVersions: []string{"1.2.0"}}},
		{"name held with the same version", &regv1.PluginInfo{Type: regv1.CSIPlugin, Name: "taken.csi", SupportedVersions: []string{"v1.5"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := w.admit(context.Background(), "/reg/b.sock", tc.info); !errors.Is(err, ErrRejected) {
				t.Errorf("admit = %v, want ErrRejected", err)
			}
		})
	}
}

func TestHighestVersion(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{"1.0.0"}, "1.0.0"},
		{[]string{"0.3.0", "1.0.0", "v1.2.0", "2.0.0"}, "1.2.0"},
		{[]string{"v1.13", "junk"}, "1.13"},
		{[]string{"0.2.0"}, ""},
		{[]string{"2.1.0"}, ""},
		{nil, ""},
	} {
		v, err := highestVersion(tc.in)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("highestVersion(%v) = %v, want an error", tc.in, v)
		case tc.want != "" && (err != nil || v.String() != tc.want):
			t.Errorf("highestVersion(%v) = %v, %v, want %s", tc.in, v, err, tc.want)
		}
	}
}

func TestListening(t *testing.T) {
	path := filepath.Join(runtimetest.ShortTempDir(t), "s.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	if !listening(path) {
		t.Error("listening = false while a process serves the socket")
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	if listening(path) {
		t.Error("listening = true for a socket file nobody serves")
	}
}

func TestInstallTopologyClash(t *testing.T) {
	client := fake.NewClientset(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: testNode, Labels: map[string]string{"zone": "a"}}})
	n := nodeInfo{client: client, nodeName: testNode}
	err := n.install(context.Background(), &Driver{Name: "d", NodeID: "x", Topology: map[string]string{"zone": "b"}})
	if err == nil {
		t.Fatal("install with a clashing topology label succeeded")
	}
	if err := n.install(context.Background(), &Driver{Name: "d", NodeID: "x", Topology: map[string]string{"rack": "r1"}}); err != nil {
		t.Fatal(err)
	}
	node, _ := client.CoreV1().Nodes().Get(context.Background(), testNode, metav1.GetOptions{})
	if node.Labels["rack"] != "r1" || node.Annotations[NodeIDAnnotation] != `{"d":"x"}` {
		t.Errorf("node = %v %v", node.Labels, node.Annotations)
	}
}
