package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/dais-sim/dais/live/node"
	"github.com/dais-sim/dais/live/testnet"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/reports"
)

func newTestnetCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "testnet",
		Short: "Run a local testnet: dais node processes talking libp2p on 127.0.0.1",
		Long: `Testnet runs N dais node processes on this machine, over libp2p on 127.0.0.1, running the
protocol code the simulator runs. A testnet lives in a directory (--dir, default ./testnet):
testnet.json (seed, epoch, every node's role, stake, ports and public keys) and, per node,
node-i/config.yaml, node-i/pid, node-i/output.log and node-i/data (node.key: the node's secret
keys, mode 0600; chain.db, node.log, events.jsonl, status.addr).

The processes outlive the command that starts them; status, logs, report and down find them
through the directory.`,
		Example: `  dais testnet up -n 4                 # 4 validators, transfers at 2/s
  dais testnet status
  dais testnet logs -n 2 -f
  dais testnet report                  # testnet/report/: the report dais run writes
  dais testnet down
  dais testnet up                      # the same testnet again: nodes replay their chains`,
	}
	cmd.PersistentFlags().StringVarP(&dir, "dir", "d", "testnet", "the testnet directory")
	cmd.AddCommand(newTestnetUpCmd(&dir), newTestnetStatusCmd(&dir), newTestnetLogsCmd(&dir),
		newTestnetDownCmd(&dir), newTestnetReportCmd(&dir))
	return cmd
}

func openTestnet(dir string) (*testnet.Testnet, error) {
	tn, err := testnet.Open(dir)
	if errors.Is(err, testnet.ErrNoTestnet) || errors.Is(err, node.ErrConfig) {
		return nil, usageError{err}
	}
	return tn, err
}

func newTestnetUpCmd(dir *string) *cobra.Command {
	var o testnet.Options
	var scenarioPath string
	var fresh bool
	var wait time.Duration
	var withMarket bool
	var settlement string
	var marketJobs int
	var withLearning bool
	var learningRounds int
	var lc node.LongestChainSpec
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Create a testnet (or take the one in --dir) and start its nodes",
		Long: `Up creates a testnet of -n nodes in --dir, with free ports on 127.0.0.1, starts one
dais node process per node and waits until each answers /status.

With --scenario, the nodes, roles, stakes, seed and BFT timeouts come from a scenario file
with a protocol.consensus section (engine: bft or longest_chain), as dais run reads them; a workload runs the
marketplace (verification, scheduler, job type, arrivals) and protocol.learning the federated
job (model, rounds, rule, partition, validators) on the nodes of the matching roles. A
scenario without protocol.consensus but with either runs them on a BFT chain of all its
nodes. What a loopback testnet of honest processes leaves out (the network model,
adversaries) is listed; what it cannot run (bisection, several job types, more than 64
nodes) is an error naming the file, line and key.

With --learning, the nodes also run a federated training job on optdigits (node 0
coordinates, scores updates and pays each round's pot on the chain; the others train);
dais testnet status shows the round, the test accuracy and the tokens paid and earned.

--consensus longest_chain runs the longest-chain engine (protocol/consensus/nakamoto, as dais
run simulates it) instead of BFT: the validators mine, the others follow. Mining is modeled, not
done: each miner finds blocks at Poisson times on its wall clock, at a rate set by its share of
the stake (--mining stake) or of the GPU hash power (--mining pow, every miner an h100 unless a
scenario gives classes), one block every --block-interval over the network; a block is final,
committed to the ledger and stored, once --confirmations blocks sit on it. Status shows each
node's final height and its tip; the report shows time to depth, stale and fork rates and
reorgs. Longest chain runs the ledger with transfers only (no --market or --learning).

If --dir holds a testnet already, up starts those of its nodes that are not running (after
dais testnet down, or a crash): each replays its stored chain and catches up with the others.
--fresh deletes the testnet first.`,
		Example: `  dais testnet up -n 4
  dais testnet up -n 7 --validators 4 --tx-rate 20 --seed 9
  dais testnet up --scenario my-bft.yaml -d runs/tn   # protocol.consensus.engine: bft, ≤ 64 nodes
  dais testnet up -n 4 --learning --learning-rounds 10
  dais testnet up -n 4 --consensus longest_chain --block-interval 1s --confirmations 4
  dais testnet up -n 5 --discovery                  # only node 0's address is written; the others find each other through it
  dais testnet up --fresh`,
		Args: checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			stdout := cmd.OutOrStdout()
			changed := func(names ...string) bool {
				for _, n := range names {
					if cmd.Flags().Changed(n) {
						return true
					}
				}
				return false
			}
			tn, err := testnet.Open(*dir)
			var ids []protocol.NodeID // the nodes to start; nil: all
			switch {
			case err == nil && fresh:
				if r := tn.Running(); len(r) > 0 {
					return badInput("%s: %d node(s) still run; dais testnet down -d %s first", *dir, len(r), *dir)
				}
				if err := os.RemoveAll(*dir); err != nil {
					return err
				}
				tn = nil
			case err == nil:
				if changed("nodes", "validators", "seed", "scenario", "tx-rate", "quic", "discovery", "market", "market-jobs", "learning", "learning-rounds",
					"consensus", "block-interval", "confirmations", "mining", "settlement") {
					return badInput("%s holds a testnet already: up without flags that shape the network (-n, --validators, --seed, --scenario, --tx-rate, --quic, --discovery, --market, --market-jobs, --settlement, --learning, --learning-rounds, --consensus, --block-interval, --confirmations, --mining) starts it again, --fresh replaces it", *dir)
				}
				running := tn.Running()
				for _, id := range tn.IDs() {
					if _, ok := running[id]; !ok {
						ids = append(ids, id)
					}
				}
				if len(ids) == 0 {
					return badInput("%v: all %d nodes of %s are already running (dais testnet status -d %s, or down)", testnet.ErrRunning, len(running), *dir, *dir)
				}
				fmt.Fprintf(stdout, "starting nodes %v of the testnet in %s again (each replays its chain)\n", ids, *dir)
			case errors.Is(err, testnet.ErrNoTestnet):
				tn = nil
			default:
				return usageError{err}
			}
			if tn == nil {
				if scenarioPath != "" {
					if changed("nodes", "validators", "seed", "consensus", "block-interval", "confirmations", "mining") {
						return badInput("--scenario gives the nodes, validators, seed and consensus; drop -n, --validators, --seed, --consensus, --block-interval, --confirmations and --mining")
					}
					sc, err := loadScenario(cmd.ErrOrStderr(), scenarioPath, nil)
					if err != nil {
						return err
					}
					so, notes, err := testnet.FromScenario(sc)
					if err != nil {
						return usageError{err}
					}
					so.TxRate, so.QUIC, so.Discovery = o.TxRate, o.QUIC, o.Discovery
					o = so
					for _, n := range notes {
						fmt.Fprintln(stdout, "note:", n)
					}
				}
				switch {
				case scenarioPath != "":
				case o.Engine == node.EngineLongestChain:
					lc.Interval = node.Duration(interval)
					o.LongestChain = &lc
				case o.Engine != "" && o.Engine != node.EngineBFT:
					return badInput("--consensus %q: want %s or %s", o.Engine, node.EngineBFT, node.EngineLongestChain)
				case changed("block-interval", "confirmations", "mining"):
					return badInput("--block-interval, --confirmations and --mining are longest-chain settings: give --consensus %s", node.EngineLongestChain)
				}
				if withMarket && o.Market == nil {
					o.Market = node.DefaultMarket(o.Nodes)
					o.Market.Jobs = marketJobs
				}
				if settlement != "" {
					if o.Market == nil {
						return badInput("--settlement needs --market (or a scenario with a workload)")
					}
					o.Market.Settlement = settlement
				}
				if withLearning && o.Learning == nil {
					o.Learning = node.DefaultLearning(o.Nodes)
					o.Learning.Rounds = learningRounds
				}
				o.Dir = *dir
				if tn, err = testnet.Create(o); err != nil {
					if errors.Is(err, testnet.ErrOptions) || errors.Is(err, node.ErrConfig) {
						return usageError{err}
					}
					return err
				}
				fmt.Fprintf(stdout, "created a testnet of %d nodes in %s (seed %d)\n", len(tn.Network.Nodes), *dir, tn.Network.Seed)
			}
			if err := tn.Start(testnet.Launcher{}, ids...); err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), wait)
			defer cancel()
			if err := tn.WaitReady(ctx, ids...); err != nil {
				tn.Stop(5 * time.Second)
				return fmt.Errorf("%w (the nodes were stopped; logs: dais testnet logs -d %s)", err, *dir)
			}
			printTestnet(stdout, tn)
			fmt.Fprintf(stdout, "\nnext: dais testnet status -d %[1]s | logs -d %[1]s -f | report -d %[1]s | down -d %[1]s\n", *dir)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVarP(&o.Nodes, "nodes", "n", 4, fmt.Sprintf("number of nodes (1 to %d)", testnet.MaxNodes))
	f.IntVar(&o.Validators, "validators", 0, "how many of the nodes validate (the first ones); 0: all")
	f.Uint64Var(&o.Seed, "seed", 1, "root seed: every key and random stream derives from it")
	f.Float64Var(&o.TxRate, "tx-rate", 2, "signed transfers per second over the whole testnet")
	f.BoolVar(&o.QUIC, "quic", false, "listen on QUIC as well as TCP")
	f.BoolVar(&o.Discovery, "discovery", false, "write only node 0's address (as the bootstrap); the others listen on ports the OS picks and find each other through it")
	f.StringVar(&scenarioPath, "scenario", "", "take nodes, roles, stakes, seed and timeouts from a scenario file")
	f.BoolVar(&fresh, "fresh", false, "delete the testnet in --dir first (its chains too)")
	f.DurationVar(&wait, "wait", 30*time.Second, "how long to wait for every node to answer /status")
	f.StringVar(&settlement, "settlement", "", "where the marketplace settles: chain (the default: the BFT chain; jobs, results and payouts committed by the validators and stored, and the user API's jobs computed) or committee (the leader's own ledger, in memory)")
	f.BoolVar(&withMarket, "market", false, "run the compute marketplace beside consensus: node 0 leads the committee and posts jobs, the others provide (node.DefaultMarket)")
	f.IntVar(&marketJobs, "market-jobs", 1, "with --market: jobs node 0 posts, one a second")
	f.BoolVar(&withLearning, "learning", false, "run a federated training job on optdigits beside consensus: node 0 coordinates, scores and pays each round on chain, the others train (node.DefaultLearning)")
	f.IntVar(&learningRounds, "learning-rounds", 8, "with --learning: federated rounds")
	f.StringVar(&o.Engine, "consensus", node.EngineBFT, "consensus engine: bft or longest_chain")
	f.DurationVar(&interval, "block-interval", node.DefaultInterval, "longest_chain: the network's target block interval")
	f.IntVar(&lc.Confirmations, "confirmations", node.DefaultConfirmations, "longest_chain: blocks on top of a block before it is final")
	f.StringVar(&lc.Mining, "mining", node.MiningStake, "longest_chain: stake (a lottery weighted by stake) or pow (modeled GPU hash power)")
	return cmd
}

func printTestnet(w io.Writer, tn *testnet.Testnet) {
	t := reports.NewTable(w)
	t.Header("node", "role", "pid", "peer id", "listens on", "status and metrics")
	running := tn.Running()
	listens := map[protocol.NodeID][]string{} // where nodes without Addrs said they listen (--discovery)
	for _, ns := range tn.Status(context.Background()) {
		if ns.Status != nil {
			listens[ns.ID] = ns.Status.Addrs
		}
	}
	for _, m := range tn.Network.Nodes {
		addr, _ := tn.StatusAddr(m.ID)
		if addr != "" {
			addr = "http://" + addr
		}
		addrs := m.Addrs
		if len(addrs) == 0 {
			addrs = listens[m.ID]
		}
		_ = t.Append([]string{strconv.Itoa(int(m.ID)), m.Role, pidText(running[m.ID]), m.PeerID, strings.Join(addrs, " "), addr})
	}
	t.Render()
}

// pidText is a node's process ID, "-" when it runs none.
func pidText(pid int) string {
	if pid <= 0 {
		return "-"
	}
	return strconv.Itoa(pid)
}

func newTestnetStatusCmd(dir *string) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "status",
		Short:   "Show each node's height, round, peers, mempool, market jobs and learning round, from its /status",
		Example: "  dais testnet status\n  dais testnet status --json | jq '.[].status.height'",
		Args:    checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			tn, err := openTestnet(*dir)
			if err != nil {
				return err
			}
			sts := tn.Status(cmd.Context())
			up := 0
			for _, ns := range sts {
				if ns.Status != nil {
					up++
				}
			}
			// Scripts check the exit code: none up is a failure.
			down := func() error {
				if up == 0 {
					return fmt.Errorf("testnet: none of the %d nodes of %s is up (dais testnet up -d %s)", len(sts), *dir, *dir)
				}
				return nil
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(sts); err != nil {
					return err
				}
				return down()
			}
			t := reports.NewTable(cmd.OutOrStdout())
			t.Header("node", "role", "pid", "height", "round/tip", "peers", "mempool txs", "last commit", "stored", "uptime", "jobs", "learning")
			for _, ns := range sts {
				row := []string{strconv.Itoa(int(ns.ID)), ns.Role, pidText(ns.PID)}
				if s := ns.Status; s != nil {
					last := "never"
					if s.LastCommit != nil {
						last = time.Since(*s.LastCommit).Round(100*time.Millisecond).String() + " ago"
					}
					if !s.Ready {
						last = "replaying its store"
					}
					round := fmt.Sprint(s.Round)
					if lc := s.LongestChain; lc != nil {
						// No rounds in longest chain: the tip it follows, and its reorgs.
						round = fmt.Sprintf("tip %d, %d reorgs", lc.TipHeight, lc.Reorgs)
					}
					row = append(row, fmt.Sprint(s.Height), round, fmt.Sprint(len(s.Peers)), fmt.Sprint(s.Mempool.Txs),
						last, fmt.Sprint(s.StoreHeight), time.Duration(s.UptimeS*float64(time.Second)).Round(time.Second).String())
					if s.Failed != "" {
						row[len(row)-1] = "FAILED: " + s.Failed
					}
					row = append(row, testnet.MarketSummary(s.Market), testnet.LearningSummary(s.Learning))
				} else {
					row = append(row, "-", "-", "-", "-", "down ("+ns.Err+")", "-", "-", "-", "-")
				}
				_ = t.Append(row)
			}
			if err := t.Render(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d of %d nodes up\n", up, len(sts))
			return down()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print every node's status as JSON")
	return cmd
}

func newTestnetLogsCmd(dir *string) *cobra.Command {
	var id int
	var follow bool
	cmd := &cobra.Command{
		Use:   "logs",
		Short: "Print the nodes' logs (node.log), one node's with -n, and follow them with -f",
		Long: `Logs prints the nodes' structured logs (slog key=value lines), each line prefixed with
its node when there are several. -f keeps printing as the nodes write, until Ctrl-C. A node
that crashed may have left a panic in node-i/output.log instead.`,
		Example: "  dais testnet logs\n  dais testnet logs -n 2 -f",
		Args:    checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			tn, err := openTestnet(*dir)
			if err != nil {
				return err
			}
			var ids []protocol.NodeID
			if id >= 0 {
				if id >= len(tn.Network.Nodes) {
					return badInput("no node %d: the testnet has nodes 0…%d", id, len(tn.Network.Nodes)-1)
				}
				ids = append(ids, protocol.NodeID(id))
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return tn.Logs(ctx, cmd.OutOrStdout(), follow, ids...)
		},
	}
	cmd.Flags().IntVarP(&id, "node", "n", -1, "only this node's log")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new lines until Ctrl-C")
	return cmd
}

func newTestnetDownCmd(dir *string) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop the testnet's nodes: SIGTERM, then SIGKILL after --timeout",
		Long: `Down asks every running node to stop (SIGTERM: it closes its store and says goodbye to
its peers) and kills those still running after --timeout. The directory stays: dais testnet up
starts the same testnet again, and dais testnet report still reads it.`,
		Example: "  dais testnet down\n  dais testnet down --timeout 2s",
		Args:    checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			tn, err := openTestnet(*dir)
			if err != nil {
				return err
			}
			n := len(tn.Running())
			if n == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "no node is running")
				return nil
			}
			if err := tn.Stop(timeout); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "stopped %d node(s)\n", n)
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "how long to wait for a graceful stop before SIGKILL")
	return cmd
}

func newTestnetReportCmd(dir *string) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Write the testnet's report folder (the format dais run writes) from its nodes' events",
		Long: `Report reads every node's events.jsonl and writes a run folder — metrics.json,
timeseries.csv, report.md, report.html, plots/ and host.json — with the figures of a simulated
consensus run (finality, block interval, rounds per height, throughput, messages per block) and,
if the network runs them, of a simulated marketplace or federated-learning run (the simulator's
own summaries, same keys), so dais compare can put a testnet beside a simulation of it. A
testnet figure whose key the marketplace or learning also uses is renamed bft_KEY. It works on a running or a stopped
testnet. A height at which two nodes committed different blocks is reported and exits 1.`,
		Example: "  dais testnet report\n  dais testnet report -o runs/testnet-4 && dais compare runs/sim-4 runs/testnet-4",
		Args:    checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			tn, err := openTestnet(*dir)
			if err != nil {
				return err
			}
			run, violations, err := tn.Report()
			if errors.Is(err, testnet.ErrNoTestnet) {
				return usageError{err}
			}
			if err != nil {
				return err
			}
			run.Meta.Version = buildVersion()
			run.Meta.GoVersion = runtime.Version()
			if out == "" {
				out = filepath.Join(*dir, "report")
			}
			if err := reports.Write(out, run); err != nil {
				return fmt.Errorf("writing the run folder: %w", err)
			}
			stdout := cmd.OutOrStdout()
			fmt.Fprintf(stdout, "%s: %d nodes, seed %d, %.1fs of testnet\n\n", run.Meta.Scenario, len(tn.Network.Nodes), run.Meta.Seed, run.Host.WallS)
			if err := reports.Table(stdout, run); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "\nreport: %s\n", filepath.Join(out, reports.HTMLFile))
			if len(violations) > 0 {
				return fmt.Errorf("the nodes broke safety at %d height(s):\n  %s", len(violations), strings.Join(violations, "\n  "))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "the run folder (default: DIR/report)")
	return cmd
}
