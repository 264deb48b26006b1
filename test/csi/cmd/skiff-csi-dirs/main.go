// Command skiff-csi-dirs is the test CSI driver that serves directories
// (see test/csi/csidriver), registering itself with the node agent.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/skiff/skiff/test/csi/csidriver"
)

func main() {
	var cfg csidriver.Config
	flag.StringVar(&cfg.Endpoint, "endpoint", "/run/skiff-csi-dirs/csi.sock", "CSI socket path")
	flag.StringVar(&cfg.RegistrationDir, "registration-dir", "/var/lib/skiff/agent/plugins_registry", "the agent's plugin registration directory (empty: do not register)")
	flag.StringVar(&cfg.Root, "root", "/var/lib/skiff-csi-dirs", "directory holding the volumes")
	flag.StringVar(&cfg.NodeID, "node-id", "", "node ID to report (default: the host name)")
	flag.StringVar(&cfg.Name, "name", csidriver.DefaultName, "driver name")
	flag.Parse()
	cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "skiff-csi-dirs:", err)
		os.Exit(1)
	}
}

// run serves the driver until SIGTERM or SIGINT; its sockets are removed
// on the way out.
func run(cfg csidriver.Config) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	d, err := csidriver.New(cfg)
	if err != nil {
		return err
	}
	return d.Start(ctx)
}
