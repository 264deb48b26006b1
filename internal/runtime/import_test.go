package runtime_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/skiff/skiff/internal/runtime"
	"github.com/skiff/skiff/internal/runtime/runtimetest"
	"github.com/skiff/skiff/test/images"
)

// TestImportOCI imports OCI image-layout tarballs: one whose ref.name is a
// whole reference, one (gzipped) whose ref.name is a bare tag and so gets
// a digest name, both through ImportDir.
func TestImportOCI(t *testing.T) {
	env := runtimetest.Start(t)
	img, err := images.BusyboxImage()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(env.Dir, "oci")
	writeOCITar(t, filepath.Join(dir, "a.tar"), img, "skiff.local/oci:1", false)
	writeOCITar(t, filepath.Join(dir, "b.tar.gz"), img, "latest", true)
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	names, err := runtime.ImportDirImages(ctx, env.Address(), dir)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"skiff.local/oci:1", "skiff.local/import@" + digest.String()}
	if !slices.Equal(names, want) {
		t.Fatalf("imported %v, want %v", names, want)
	}
	imgs, err := runtime.ListImages(ctx, env.Runtime)
	if err != nil {
		t.Fatal(err)
	}
	if !hasImage(imgs, "skiff.local/oci:1") {
		t.Errorf("CRI does not list skiff.local/oci:1: %v", imgs)
	}
	if err := runtime.ImportDir(ctx, env.Address(), filepath.Join(env.Dir, "none")); err != nil {
		t.Errorf("ImportDir of a missing dir: %v", err)
	}
}

// writeOCITar writes img as an OCI image layout tarball whose manifest has
// the org.opencontainers.image.ref.name annotation refName.
func writeOCITar(t *testing.T, path string, img v1.Image, refName string, gz bool) {
	t.Helper()
	lay := t.TempDir()
	p, err := layout.Write(lay, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": refName})); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var w io.Writer = f
	if gz {
		zw := gzip.NewWriter(f)
		defer zw.Close()
		w = zw
	}
	tw := tar.NewWriter(w)
	defer tw.Close()
	if err := tw.AddFS(os.DirFS(lay)); err != nil {
		t.Fatal(err)
	}
}
