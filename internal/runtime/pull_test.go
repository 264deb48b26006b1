package runtime_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	criv1 "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff/skiff/internal/runtime"
	"github.com/skiff/skiff/internal/runtime/runtimetest"
	"github.com/skiff/skiff/test/images"
)

// TestPullFromInsecureRegistry pulls through CRI from a plain-HTTP
// registry on loopback, configured as an insecure registry.
func TestPullFromInsecureRegistry(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0))), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	host := l.Addr().String()

	img, err := images.BusyboxImage()
	if err != nil {
		t.Fatal(err)
	}
	ref := fmt.Sprintf("%s/test/busybox:pulled", host)
	tag, err := name.NewTag(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}

	env := runtimetest.Start(t, func(c *runtime.ContainerdConfig) { c.InsecureRegistries = []string{host} })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// containerd took the mirror (loopback registries would be reached over
	// plain HTTP even without it).
	st, err := env.Runtime.Runtime.Status(ctx, &criv1.StatusRequest{Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	if mirror := fmt.Sprintf("%q:{\"endpoint\":[\"http://%s\"]", host, host); !strings.Contains(st.Info["config"], mirror) {
		t.Errorf("CRI config has no mirror %s: %s", mirror, st.Info["config"])
	}
	resp, err := env.Runtime.Images.PullImage(ctx, &criv1.PullImageRequest{Image: &criv1.ImageSpec{Image: ref}})
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	id, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	if resp.ImageRef != id.String() {
		t.Errorf("pulled %s, want %s", resp.ImageRef, id)
	}
}
