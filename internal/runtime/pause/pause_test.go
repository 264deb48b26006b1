package pause

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

func TestImage(t *testing.T) {
	img, err := Image()
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cf.Config.Entrypoint, []string{"/pause"}) || cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("config: %+v", cf)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %v %v", layers, err)
	}
	diffID, err := layers[0].DiffID()
	if err != nil {
		t.Fatal(err)
	}
	if len(cf.RootFS.DiffIDs) != 1 || cf.RootFS.DiffIDs[0] != diffID {
		t.Errorf("diff_ids %v, layer %v", cf.RootFS.DiffIDs, diffID)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h, err := tar.NewReader(rc).Next()
	if err != nil || h.Name != "pause" || h.Mode != 0o755 || h.Size != int64(len(binary)) {
		t.Errorf("layer entry %+v %v", h, err)
	}
	again, err := Image()
	if err != nil {
		t.Fatal(err)
	}
	a, _ := img.ConfigName()
	b, _ := again.ConfigName()
	if a != b {
		t.Errorf("image ID changes between builds: %s, %s", a, b)
	}
}

// TestBinary runs the embedded pause: it must be a static executable that
// exits 0 on SIGTERM.
func TestBinary(t *testing.T) {
	if !bytes.HasPrefix(binary, []byte("\x7fELF")) {
		t.Fatal("pause.bin is not an ELF executable; run make generate")
	}
	path := filepath.Join(t.TempDir(), "pause")
	if err := os.WriteFile(path, Binary(), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // until main has called signal.Notify
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("pause on SIGTERM: %v", err)
	}
}
