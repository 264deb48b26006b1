// Command build-images writes the test images (busybox, testserver) as
// docker-archive tarballs into a directory, for `skiff images import` or a
// data dir's images/ folder.
package main

import (
	"fmt"
	"os"

	"github.com/skiff/skiff/test/images"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: build-images DIR")
		os.Exit(2)
	}
	out, err := images.Build(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "build-images:", err)
		os.Exit(1)
	}
	for ref, path := range out {
		fmt.Println(ref, path)
	}
}
