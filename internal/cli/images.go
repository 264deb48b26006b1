package cli

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	criv1 "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff/skiff/internal/runtime"
)

// imagesFlags locate the node's containerd.
type imagesFlags struct {
	dataDir  string
	endpoint string
}

// endpoint is --container-runtime-endpoint, or the socket of the
// containerd the agent supervises under --data-dir.
func (f *imagesFlags) resolve() string {
	if f.endpoint != "" {
		return f.endpoint
	}
	return "unix://" + filepath.Join(f.dataDir, "agent", "containerd", "containerd.sock")
}

func newImagesCommand() *cobra.Command {
	f := &imagesFlags{}
	cmd := &cobra.Command{
		Use:   "images",
		Short: "Import and list the node's container images",
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.dataDir, "data-dir", "/var/lib/skiff", "skiff's data directory (the agent's containerd is under agent/containerd)")
	pf.StringVar(&f.endpoint, "container-runtime-endpoint", "", "containerd socket, unix:///path (default: the agent's, under --data-dir)")
	cmd.AddCommand(newImagesImportCommand(f), newImagesListCommand(f))
	return cmd
}

func newImagesImportCommand(f *imagesFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "import FILE.tar...",
		Short: "Import OCI or docker-archive tarballs (as from docker save) into the node's containerd",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			address, err := runtime.SocketPath(f.resolve())
			if err != nil {
				return err
			}
			names, err := runtime.ImportImages(cmd.Context(), address, args...)
			for _, n := range names {
				fmt.Fprintln(cmd.OutOrStdout(), "imported", n)
			}
			return err
		},
	}
}

func newImagesListCommand(f *imagesFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the images the node's container runtime has",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rt, err := runtime.Dial(cmd.Context(), f.resolve())
			if err != nil {
				return err
			}
			defer rt.Close()
			imgs, err := runtime.ListImages(cmd.Context(), rt)
			if status.Code(err) == codes.Unavailable {
				return fmt.Errorf("no container runtime at %s (is skiff agent running? see --data-dir, --container-runtime-endpoint): %w", rt.Endpoint, err)
			}
			if err != nil {
				return err
			}
			return printImages(cmd.OutOrStdout(), imgs)
		},
	}
}

// printImages prints images as crictl does: IMAGE TAG IMAGE ID SIZE, one
// line per tag (or per digest of an untagged image).
func printImages(out io.Writer, imgs []*criv1.Image) error {
	imgs = slices.Clone(imgs)
	slices.SortFunc(imgs, func(a, b *criv1.Image) int { return strings.Compare(firstName(a), firstName(b)) })
	w := tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
	fmt.Fprintln(w, "IMAGE\tTAG\tIMAGE ID\tSIZE")
	for _, img := range imgs {
		id := strings.TrimPrefix(img.Id, "sha256:")
		if len(id) > 13 {
			id = id[:13]
		}
		size := humanSize(img.Size)
		if len(img.RepoTags) == 0 {
			for _, d := range img.RepoDigests {
				repo, _, _ := strings.Cut(d, "@")
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", repo, "<none>", id, size)
			}
			if len(img.RepoDigests) == 0 {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", "<none>", "<none>", id, size)
			}
		}
		for _, t := range img.RepoTags {
			repo, tag := splitTag(t)
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", repo, tag, id, size)
		}
	}
	return w.Flush()
}

// firstName is what images are sorted by.
func firstName(img *criv1.Image) string {
	if len(img.RepoTags) > 0 {
		return img.RepoTags[0]
	}
	if len(img.RepoDigests) > 0 {
		return img.RepoDigests[0]
	}
	return "~" + img.Id
}

// splitTag splits "host:port/name:tag" into name and tag.
func splitTag(ref string) (string, string) {
	i := strings.LastIndexByte(ref, ':')
	if i < 0 || strings.Contains(ref[i:], "/") {
		return ref, "<none>"
	}
	return ref[:i], ref[i+1:]
}

// humanSize formats bytes as crictl does (decimal units, 4 significant
// digits).
func humanSize(b uint64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	v := float64(b)
	i := 0
	for v >= 1000 && i < len(units)-1 {
		v /= 1000
		i++
	}
	return fmt.Sprintf("%.4g%s", v, units[i])
}
