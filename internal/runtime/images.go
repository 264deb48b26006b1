package runtime

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images/archive"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	criv1 "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// CRINamespace is the containerd namespace CRI sees.
const CRINamespace = "k8s.io"

// criManagedLabel marks images as CRI's, as containerd's CRI does for the
// images it pulls.
var criManagedLabel = map[string]string{"io.cri-containerd.image": "managed"}

// Import imports OCI or docker-archive tarballs (optionally gzipped) into
// the k8s.io namespace of the containerd at address and unpacks them for
// the overlayfs snapshotter, so that CRI can run them.
func Import(ctx context.Context, address string, tarballs ...string) error {
	_, err := ImportImages(ctx, address, tarballs...)
	return err
}

// ImportImages is Import, returning the names of the imported images.
func ImportImages(ctx context.Context, address string, tarballs ...string) ([]string, error) {
	if len(tarballs) == 0 {
		return nil, nil
	}
	client, err := containerd.New(address, containerd.WithDefaultNamespace(CRINamespace))
	if err != nil {
		return nil, fmt.Errorf("connect to containerd %s: %w", address, err)
	}
	defer client.Close()
	var names []string
	for _, path := range tarballs {
		n, err := importTarball(ctx, client, path)
		if err != nil {
			return names, err
		}
		names = append(names, n...)
	}
	return names, waitCRISees(ctx, address, names)
}

// waitCRISees waits until containerd's CRI, which learns of images from
// containerd's events, knows the imported images, so that a sandbox or
// container created right after an import finds them. Without a CRI plugin
// there is nothing to wait for.
func waitCRISees(ctx context.Context, address string, names []string) error {
	rt, err := Dial(ctx, address)
	if err != nil {
		return err
	}
	defer rt.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, name := range names {
		for {
			st, err := rt.Images.ImageStatus(ctx, &criv1.ImageStatusRequest{Image: &criv1.ImageSpec{Image: name}})
			if status.Code(err) == codes.Unimplemented {
				return nil
			}
			if err == nil && st.Image != nil {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("CRI does not see imported image %s: %w", name, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

func importTarball(ctx context.Context, client *containerd.Client, path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("import image: %w", err)
	}
	defer f.Close()
	r, err := maybeGunzip(f)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", path, err)
	}
	imgs, err := client.Import(ctx, r,
		containerd.WithImageRefTranslator(fullRefOnly),
		containerd.WithDigestRef(archive.DigestTranslator("skiff.local/import")),
		containerd.WithSkipDigestRef(func(name string) bool { return name != "" }),
		containerd.WithImageLabels(criManagedLabel),
	)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", path, err)
	}
	if len(imgs) == 0 {
		return nil, fmt.Errorf("import %s: no image for this platform in it", path)
	}
	names := make([]string, 0, len(imgs))
	for _, img := range imgs {
		if err := containerd.NewImage(client, img).Unpack(ctx, Snapshotter); err != nil {
			return names, fmt.Errorf("unpack %s from %s: %w", img.Name, path, err)
		}
		names = append(names, img.Name)
	}
	return names, nil
}

// fullRefOnly keeps an OCI ref.name annotation only when it names a whole
// image (a bare tag such as "latest" does not).
func fullRefOnly(ref string) string {
	if strings.ContainsAny(ref, "/:@") {
		return ref
	}
	return ""
}

// maybeGunzip returns a reader of r's content, decompressed if gzipped.
func maybeGunzip(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	magic, err := br.Peek(2)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		return gzip.NewReader(br)
	}
	return br, nil
}

// ImportDir imports every *.tar, *.tar.gz and *.tgz file in dir (sorted
// by name). A dir that does not exist holds nothing to import.
func ImportDir(ctx context.Context, address, dir string) error {
	_, err := ImportDirImages(ctx, address, dir)
	return err
}

// ImportDirImages is ImportDir, returning the names of the imported images.
func ImportDirImages(ctx context.Context, address, dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("image dir: %w", err)
	}
	var files []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".tar") && !strings.HasSuffix(name, ".tar.gz") && !strings.HasSuffix(name, ".tgz") {
			continue
		}
		path := filepath.Join(dir, name)
		if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
			files = append(files, path)
		}
	}
	sort.Strings(files)
	return ImportImages(ctx, address, files...)
}

// ListImages lists the images CRI knows.
func ListImages(ctx context.Context, rt *Runtime) ([]*criv1.Image, error) {
	resp, err := rt.Images.ListImages(ctx, &criv1.ListImagesRequest{})
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	return resp.Images, nil
}
