package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/dais-sim/dais/live/node"
)

func newNodeCmd() *cobra.Command {
	var cfgPath string
	var verbose bool
	cmd := &cobra.Command{
		Use:   "node --config FILE",
		Short: "Run one live node (a BFT validator or follower) until SIGINT or SIGTERM",
		Long: `Node runs one live dais node: the protocol code the simulator runs (BFT consensus and the
ledger), over libp2p (TCP or QUIC, Noise), as one OS process.

FILE (YAML or JSON) names the node's id, its data dir, and the network: the path of a
testnet.json (or its directory) or the network inline (seed, epoch, every node's role, stake,
multiaddrs and public keys, timeouts, tx_rate). The node's secret keys are in its key file
(key_file, default data_dir/node.key), which dais node keygen makes; the network lists only
their public halves (peer_id, validator_key, account_key), so a copy of the network file gives
no one a key. A member may leave its multiaddrs out if the node's config says
where it listens (listen: [/ip4/127.0.0.1/tcp/0]) and bootstrap addresses (bootstrap:
[/ip4/…/tcp/…/p2p/ID], in the network or the config) lead to the others: the node dials them
and asks the peers it reaches for the rest. dais testnet up writes these files; see
live/node.Config.

The data dir holds chain.db (committed blocks: after a crash the node replays them and catches
up from its peers), node.log, events.jsonl (for dais testnet report) and status.addr, the
loopback address where /metrics (Prometheus) and /status (JSON) are served.

SIGINT or SIGTERM stops the node gracefully. Exit codes: 0 stopped, 1 failed, 2 bad config.`,
		Example: `  dais node --config testnet/node-0/config.yaml
  dais node -c node.yaml -v          # also log to stderr, at debug level
  curl -s $(cat testnet/node-0/data/status.addr)/status`,
		Args: checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfgPath == "" {
				return badInput("--config FILE is required")
			}
			cfg, err := node.LoadConfig(cfgPath)
			if err != nil {
				return usageError{err}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			opts := node.Options{Version: buildVersion(), Verbose: verbose}
			if verbose {
				opts.Stderr = cmd.ErrOrStderr()
			}
			err = node.Run(ctx, cfg, opts)
			if errors.Is(err, node.ErrConfig) {
				return usageError{err}
			}
			return err
		},
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "", "the node's config file (YAML or JSON)")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "also log to stderr, at debug level")
	cmd.AddCommand(newNodeKeygenCmd())
	return cmd
}

func newNodeKeygenCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "keygen -o FILE",
		Short: "Make a node's secret keys (libp2p identity, validator and account keys) in a new key file",
		Long: `Keygen makes a node's three keys from the OS's random source: its libp2p identity, the key
its proposals and votes are signed with, and the key of its account (transactions, and the
signatures on its market and learning messages). It writes them to FILE, readable by you only
(mode 0600; a node refuses a key file others may read), and never over an existing file. It
prints the public halves as JSON: put them in the node's entry of the network file (peer_id,
validator_key for a validator, account_key). dais testnet up makes every node's keys itself.`,
		Example: `  dais node keygen -o node-3/data/node.key`,
		Args:    checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return badInput("-o FILE is required")
			}
			k, err := node.GenerateKeys()
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(out), 0o700); err != nil {
				return err
			}
			if err := node.WriteKeys(out, k); err != nil {
				return err
			}
			pub, err := k.Public()
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(pub)
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "the key file to write (it must not exist)")
	return cmd
}
