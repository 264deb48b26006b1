package cli

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/version"
)

// Set at build time with -ldflags "-X github.com/skiff/skiff/internal/cli.skiffVersion=...".
var (
	skiffVersion = "v0.1.0-dev"
	gitCommit    = "unknown"
	buildDate    = "1970-01-01T00:00:00Z"
)

// kubeVersion is the Kubernetes API level skiff serves (the k8s.io/api
// release its types come from).
const (
	kubeMajor = "1"
	kubeMinor = "37"
	kubePatch = "2"
)

// serverVersion is what /version reports.
func serverVersion() version.Info {
	return version.Info{
		Major: kubeMajor, Minor: kubeMinor,
		GitVersion:   fmt.Sprintf("v%s.%s.%s+skiff-%s", kubeMajor, kubeMinor, kubePatch, skiffVersion),
		GitCommit:    gitCommit,
		GitTreeState: "clean",
		BuildDate:    buildDate,
		GoVersion:    runtime.Version(),
		Compiler:     runtime.Compiler,
		Platform:     runtime.GOOS + "/" + runtime.GOARCH,
	}
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			v := serverVersion()
			fmt.Fprintf(cmd.OutOrStdout(), "skiff %s (Kubernetes %s, %s, %s)\n", skiffVersion, v.GitVersion, v.GoVersion, v.Platform)
		},
	}
}
