// Package images builds the images skiff's tests run, without a registry:
// busybox from Debian's busybox-static and the project's own test server
// (test/images/testserver), written as docker-archive tarballs.
package images

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// The test images.
const (
	Busybox    = "skiff.local/busybox:1"
	TestServer = "skiff.local/testserver:1"
	// Busybox2 is the same image under a second tag, for rollouts that
	// change the image.
	Busybox2 = "skiff.local/busybox:2"
)

// BusyboxBinary is busybox-static's binary.
const BusyboxBinary = "/bin/busybox"

const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// fileTime is the modification time of every file in the layers, so that
// images are the same at every build.
var fileTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// Build writes the test images as docker-archive tarballs into dir and
// returns image ref → tarball path.
func Build(dir string) (map[string]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("test images: %w", err)
	}
	builders := []struct {
		ref, file string
		build     func() (v1.Image, error)
		also      []string // more tags of the same image
	}{
		{Busybox, "busybox.tar", BusyboxImage, []string{Busybox2}},
		{TestServer, "testserver.tar", TestServerImage, nil},
	}
	out := map[string]string{}
	for _, b := range builders {
		img, err := b.build()
		if err != nil {
			return nil, err
		}
		path := filepath.Join(dir, b.file)
		if err := WriteTarball(path, img, append([]string{b.ref}, b.also...)...); err != nil {
			return nil, err
		}
		out[b.ref] = path
		for _, ref := range b.also {
			out[ref] = path
		}
	}
	return out, nil
}

// WriteTarball writes img, tagged with every ref, as a docker-archive
// tarball.
func WriteTarball(path string, img v1.Image, refs ...string) error {
	tags := map[name.Reference]v1.Image{}
	for _, ref := range refs {
		tag, err := name.NewTag(ref)
		if err != nil {
			return fmt.Errorf("image %s: %w", ref, err)
		}
		tags[tag] = img
	}
	if err := tarball.MultiRefWriteToFile(path, tags); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// BusyboxImage is /bin/busybox with a /bin symlink for each of its
// applets, /tmp, and /etc/passwd and /etc/group with root and nobody.
func BusyboxImage() (v1.Image, error) {
	bin, err := os.ReadFile(BusyboxBinary)
	if err != nil {
		return nil, fmt.Errorf("busybox image (is busybox-static installed?): %w", err)
	}
	list, err := exec.Command(BusyboxBinary, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("busybox --list: %w", err)
	}
	l := newLayer()
	l.base()
	l.dir("bin", 0o755)
	l.file("bin/busybox", 0o755, bin)
	for _, applet := range strings.Fields(string(list)) {
		if applet != "busybox" && !strings.Contains(applet, "/") {
			l.symlink("bin/"+applet, "busybox")
		}
	}
	return l.image(v1.Config{Cmd: []string{"sh"}, Env: []string{defaultPath}})
}

// TestServerImage is the test server (test/images/testserver) as
// /testserver, its entrypoint, with /tmp and /etc/passwd and /etc/group.
func TestServerImage() (v1.Image, error) {
	bin, err := testServerBinary()
	if err != nil {
		return nil, err
	}
	l := newLayer()
	l.base()
	l.file("testserver", 0o755, bin)
	return l.image(v1.Config{
		Entrypoint:   []string{"/testserver"},
		Env:          []string{defaultPath},
		ExposedPorts: map[string]struct{}{"8080/tcp": {}},
	})
}

// serverBuild caches the test server's binary for the process.
var serverBuild struct {
	sync.Mutex
	bin []byte
}

// testServerBinary builds test/images/testserver statically (once per
// process).
func testServerBinary() ([]byte, error) {
	serverBuild.Lock()
	defer serverBuild.Unlock()
	if serverBuild.bin != nil {
		return serverBuild.bin, nil
	}
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return nil, fmt.Errorf("testserver: cannot find the source")
	}
	tmp, err := os.MkdirTemp("", "skiff-testserver-")
	if err != nil {
		return nil, fmt.Errorf("testserver: %w", err)
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "testserver")
	cmd := exec.Command(goTool(), "build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w", "-o", out, ".")
	cmd.Dir = filepath.Join(filepath.Dir(self), "testserver")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build testserver: %w: %s", err, msg)
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("testserver: %w", err)
	}
	serverBuild.bin = bin
	return bin, nil
}

// goTool finds the go command: in PATH, or where skiff's machines have it.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}

// layer builds one image layer in memory.
type layer struct {
	buf bytes.Buffer
	tw  *tar.Writer
	err error
}

func newLayer() *layer {
	l := &layer{}
	l.tw = tar.NewWriter(&l.buf)
	return l
}

func (l *layer) add(hdr *tar.Header, data []byte) {
	if l.err != nil {
		return
	}
	hdr.ModTime, hdr.Format = fileTime, tar.FormatPAX
	if l.err = l.tw.WriteHeader(hdr); l.err == nil && len(data) > 0 {
		_, l.err = l.tw.Write(data)
	}
}

func (l *layer) dir(path string, mode int64) {
	l.add(&tar.Header{Name: path + "/", Typeflag: tar.TypeDir, Mode: mode}, nil)
}

func (l *layer) file(path string, mode int64, data []byte) {
	l.add(&tar.Header{Name: path, Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(data))}, data)
}

func (l *layer) symlink(path, target string) {
	l.add(&tar.Header{Name: path, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777}, nil)
}

// base adds what every test image has: /etc with root and nobody, /tmp,
// /root.
func (l *layer) base() {
	l.dir("etc", 0o755)
	l.file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"))
	l.file("etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\nnobody:x:65534:\n"))
	l.dir("tmp", 0o1777)
	l.dir("root", 0o700)
}

// image finishes the layer and returns a linux/amd64 image of it with cfg.
func (l *layer) image(cfg v1.Config) (v1.Image, error) {
	if l.err == nil {
		l.err = l.tw.Close()
	}
	if l.err != nil {
		return nil, fmt.Errorf("image layer: %w", l.err)
	}
	data := l.buf.Bytes()
	lay, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
	if err != nil {
		return nil, fmt.Errorf("image layer: %w", err)
	}
	img, err := mutate.AppendLayers(empty.Image, lay)
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Created = v1.Time{Time: fileTime}
	cf.Config = cfg
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	return img, nil
}
