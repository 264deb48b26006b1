package cli

import (
	"bytes"
	"testing"

	criv1 "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestPrintImages(t *testing.T) {
	var out bytes.Buffer
	err := printImages(&out, []*criv1.Image{
		{Id: "sha256:9c5ff1960bc88aaaaaaaa", RepoTags: []string{"skiff.local/testserver:1"}, Size: 2866000},
		{Id: "sha256:02ab65b9baa97bbbbbbbb", RepoTags: []string{"127.0.0.1:5000/busybox:1", "skiff.local/busybox:1"}, Size: 1150000},
		{Id: "sha256:d57eab39ed436cccccccc", RepoDigests: []string{"skiff.local/import@sha256:abc"}, Size: 714},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `IMAGE                    TAG      IMAGE ID        SIZE
127.0.0.1:5000/busybox   1        02ab65b9baa97   1.15MB
skiff.local/busybox      1        02ab65b9baa97   1.15MB
skiff.local/import       <none>   d57eab39ed436   714B
skiff.local/testserver   1        9c5ff1960bc88   2.866MB
`
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

func TestImagesEndpoint(t *testing.T) {
	f := &imagesFlags{dataDir: "/var/lib/skiff"}
	if got := f.resolve(); got != "unix:///var/lib/skiff/agent/containerd/containerd.sock" {
		t.Errorf("default endpoint %s", got)
	}
	f.endpoint = "unix:///run/containerd/containerd.sock"
	if got := f.resolve(); got != f.endpoint {
		t.Errorf("endpoint %s", got)
	}
}
