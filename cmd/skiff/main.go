// Command skiff is Kubernetes in one binary: `skiff server` runs a cluster,
// `skiff agent` joins a node to one.
package main

import (
	"os"

	"github.com/skiff/skiff/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:]))
}
