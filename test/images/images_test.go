package images

import (
	"archive/tar"
	"errors"
	"io"
	"maps"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestBuild(t *testing.T) {
	built, err := Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(built)); !slices.Equal(got, []string{Busybox, Busybox2, TestServer}) {
		t.Fatalf("built %v", got)
	}
	if built[Busybox2] != built[Busybox] {
		t.Fatalf("%s is not in the busybox tarball", Busybox2)
	}
	readImage(t, built[Busybox2], Busybox2)

	bb := readImage(t, built[Busybox], Busybox)
	files := layerFiles(t, bb)
	if h := files["bin/busybox"]; h == nil || h.Typeflag != tar.TypeReg || h.Mode != 0o755 {
		t.Errorf("bin/busybox: %+v", h)
	}
	for _, applet := range []string{"sh", "echo", "sleep", "wget", "cat"} {
		if h := files["bin/"+applet]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "busybox" {
			t.Errorf("bin/%s: %+v", applet, h)
		}
	}
	if h := files["tmp/"]; h == nil || h.Mode != 0o1777 {
		t.Errorf("tmp: %+v", h)
	}
	for _, f := range []string{"etc/passwd", "etc/group"} {
		if files[f] == nil {
			t.Errorf("%s missing", f)
		}
	}
	cf := configOf(t, bb)
	if cf.OS != "linux" || cf.Architecture != "amd64" || !slices.Equal(cf.Config.Cmd, []string{"sh"}) {
		t.Errorf("busybox config: %+v", cf)
	}

	ts := readImage(t, built[TestServer], TestServer)
	if h := layerFiles(t, ts)["testserver"]; h == nil || h.Mode != 0o755 || h.Size < 1<<20 {
		t.Errorf("testserver: %+v", h)
	}
	if cf := configOf(t, ts); !slices.Equal(cf.Config.Entrypoint, []string{"/testserver"}) {
		t.Errorf("testserver entrypoint: %v", cf.Config.Entrypoint)
	}

	// Same images at every build: the IDs do not change.
	again, err := Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for ref := range built {
		if a, b := imageID(t, readImage(t, built[ref], ref)), imageID(t, readImage(t, again[ref], ref)); a != b {
			t.Errorf("%s: ID %s, then %s", ref, a, b)
		}
	}
}

func readImage(t *testing.T, path, ref string) v1.Image {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(path, &tag)
	if err != nil {
		t.Fatalf("%s in %s: %v", ref, path, err)
	}
	return img
}

func configOf(t *testing.T, img v1.Image) *v1.ConfigFile {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(cf.RootFS.DiffIDs) != len(layers) {
		t.Fatalf("%d diff_ids for %d layers", len(cf.RootFS.DiffIDs), len(layers))
	}
	return cf
}

func imageID(t *testing.T, img v1.Image) string {
	t.Helper()
	h, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// layerFiles returns the headers of the image's (only) layer by name.
func layerFiles(t *testing.T, img v1.Image) map[string]*tar.Header {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %d %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	files := map[string]*tar.Header{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = h
	}
}
