package testnet

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/dais-sim/dais/live/node"
)

// A test binary can be its testnet's node processes, so that the test
// needs no go build: its TestMain calls RunChild first, and it starts the
// nodes with SelfLauncher. The same env var names the two ends.

// SelfLauncher starts nodes as copies of this executable with env set, to
// die with it.
func SelfLauncher(env string) Launcher {
	return Launcher{Command: []string{os.Args[0]}, Env: []string{env + "=1"}, DieWithParent: true}
}

// RunChild returns at once in a process without env set; in one with it
// (started by SelfLauncher), it runs the node of its "--config FILE"
// arguments, as dais node does, until SIGTERM or SIGINT, and exits.
func RunChild(env, version string) {
	if os.Getenv(env) == "" {
		return
	}
	args := os.Args[1:]
	if len(args) != 2 || args[0] != "--config" {
		fmt.Fprintln(os.Stderr, "want --config FILE, got", args)
		os.Exit(2)
	}
	cfg, err := node.LoadConfig(args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	err = node.Run(ctx, cfg, node.Options{Version: version})
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}
