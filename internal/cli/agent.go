package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/skiff/skiff/internal/agent"
	"github.com/skiff/skiff/internal/server"
)

func newAgentCommand() *cobra.Command {
	cfg := agent.DefaultConfig()
	var af agentFlags
	var sim simulateFlags
	var serverURL, token, tokenFile, dataDir, logLevel string
	cmd := &cobra.Command{
		Use:   "agent --server URL --token TOKEN",
		Short: "Run a node that joins a skiff server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(logLevel)
			if err != nil {
				return err
			}
			if tokenFile != "" {
				data, err := os.ReadFile(tokenFile)
				if err != nil {
					return err
				}
				token = strings.TrimSpace(string(data))
			}
			if serverURL == "" || token == "" {
				return errors.New("--server and --token (or --token-file) are required")
			}
			if sim.cfg.Count > 0 {
				if err := sim.complete(af.labels); err != nil {
					return err
				}
				return sim.run(cmd.Context(), log, serverURL, token, dataDir)
			}
			if err := af.complete(&cfg); err != nil {
				return err
			}
			cfg.Log = log
			cfg.DataDir = filepath.Join(dataDir, "agent")
			cfg.ImageDirs = []string{filepath.Join(dataDir, "images"), filepath.Join(cfg.DataDir, "images")}
			cfg.ManifestDirs = []string{filepath.Join(dataDir, "manifests"), filepath.Join(cfg.DataDir, "manifests")}
			cfg.Version = "skiff " + skiffVersion
			return server.RunAgent(cmd.Context(), serverURL, token, cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&serverURL, "server", "", "URL of the skiff server (https://host:6443)")
	f.StringVar(&token, "token", "", "join token (the server's <data-dir>/token)")
	f.StringVar(&tokenFile, "token-file", "", "file holding the join token")
	f.StringVar(&dataDir, "data-dir", "/var/lib/skiff", "directory for the agent's state")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	af.register(f, &cfg)
	sim.register(f)
	return cmd
}
