package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/gpu/datasets/optdigits"
	"github.com/dais-sim/dais/live/api"
	"github.com/dais-sim/dais/live/api/client"
	"github.com/dais-sim/dais/live/node"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/market"
	"github.com/dais-sim/dais/reports"
)

// apiFlags say which node to ask and whose key signs: the user API's
// commands (dais job, dais account, dais infer) share them.
type apiFlags struct {
	node, key string
	json      bool
	timeout   time.Duration
}

func (f *apiFlags) add(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.node, "node", os.Getenv("DAIS_NODE"),
		"the node to ask: a URL, host:port, or a node's data dir or testnet node dir (its status.addr); default $DAIS_NODE")
	cmd.PersistentFlags().StringVar(&f.key, "key", os.Getenv("DAIS_KEY"),
		"the key file whose account key signs (dais node keygen makes one; a testnet node's is node-N/data/node.key); default $DAIS_KEY")
	cmd.PersistentFlags().BoolVar(&f.json, "json", false, "print JSON instead of a table")
	cmd.PersistentFlags().DurationVar(&f.timeout, "timeout", time.Minute, "give up after this long")
}

// client opens the SDK on the node the flags name.
func (f *apiFlags) client() (*client.Client, error) {
	if f.node == "" {
		return nil, badInput("--node is required (a URL such as http://127.0.0.1:40123, or a testnet node's dir), or set DAIS_NODE")
	}
	if f.key == "" {
		return nil, badInput("--key FILE is required (a key file from dais node keygen, or a testnet node's data/node.key), or set DAIS_KEY")
	}
	base, err := nodeURL(f.node)
	if err != nil {
		return nil, usageError{err}
	}
	k, err := node.LoadKeys(f.key)
	if err != nil {
		return nil, usageError{fmt.Errorf("--key %s: %w", f.key, err)}
	}
	return client.New(base, k.Account), nil
}

// nodeURL turns --node into the API's base URL: a URL as it is, host:port
// over http, a directory by the status.addr a running node writes in its
// data dir (a testnet node dir holds it under data/).
func nodeURL(s string) (string, error) {
	if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		return strings.TrimRight(s, "/"), nil
	}
	if st, err := os.Stat(s); err == nil && st.IsDir() {
		for _, p := range []string{filepath.Join(s, node.StatusFile), filepath.Join(s, "data", node.StatusFile)} {
			if b, err := os.ReadFile(p); err == nil {
				addr := strings.TrimSpace(string(b))
				if !strings.HasPrefix(addr, "http") {
					addr = "http://" + addr
				}
				return addr, nil
			}
		}
		return "", fmt.Errorf("--node %s: no %s there or under data/ (is the node running?)", s, node.StatusFile)
	}
	if strings.Contains(s, ":") {
		return "http://" + s, nil
	}
	return "", fmt.Errorf("--node %q: want a URL, host:port, or a node's directory", s)
}

// open is the SDK at --node with --key, and a context bounded by --timeout.
func (f *apiFlags) open(cmd *cobra.Command) (*client.Client, context.Context, context.CancelFunc, error) {
	c, err := f.client()
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
	return c, ctx, cancel, nil
}

// onJob is the RunE of a command on one job (JOB, its first argument):
// the ID parsed, the SDK opened, the request bounded by --timeout.
func (f *apiFlags) onJob(run func(cmd *cobra.Command, ctx context.Context, c *client.Client, id chain.JobID) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		id, err := parseJobID(args[0])
		if err != nil {
			return err
		}
		c, ctx, cancel, err := f.open(cmd)
		if err != nil {
			return err
		}
		defer cancel()
		return run(cmd, ctx, c, id)
	}
}

// parseTokens reads an amount in tokens ("5", "0.25") as base units.
func parseTokens(flag, s string) (uint64, error) {
	r, ok := new(big.Rat).SetString(s)
	if !ok || r.Sign() < 0 {
		return 0, badInput("--%s %q: want a number of tokens, such as 5 or 0.25", flag, s)
	}
	r.Mul(r, new(big.Rat).SetInt64(int64(chain.Token)))
	if !r.IsInt() || !r.Num().IsUint64() {
		return 0, badInput("--%s %q: not a whole number of base units (1 token = %d) or too large", flag, s, chain.Token)
	}
	return r.Num().Uint64(), nil
}

func formatTokens(units uint64) string {
	return strconv.FormatFloat(float64(units)/float64(chain.Token), 'f', -1, 64)
}

func parseJobID(s string) (chain.JobID, error) {
	var id chain.JobID
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil || len(b) != len(id) {
		return id, badInput("job ID %q: want %d hex digits, as dais job submit prints", s, 2*len(id))
	}
	copy(id[:], b)
	return id, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func table(w io.Writer, header []string, rows [][]string) {
	t := reports.NewTable(w)
	t.Header(header)
	t.Bulk(rows)
	t.Render()
}

var jobStates = map[api.JobState]string{api.JobPending: "pending", api.JobRunning: "running", api.JobDone: "done", api.JobFailed: "failed"}

func newJobCmd() *cobra.Command {
	var f apiFlags
	cmd := &cobra.Command{
		Use:   "job",
		Short: "Submit a compute job to a live network, follow it, fetch its results (the user API)",
		Long: `Job talks to a live node's user API (live/api; docs/api.md), served on the node's loopback
status address. Every request is signed with the account key in --key; a job's post is a
transaction the validators commit, its budget held in escrow until the market settles it.`,
		Example: `  export DAIS_NODE=testnet/node-1 DAIS_KEY=testnet/node-4/data/node.key
  dais job submit --units 8 --unit-gflops 2 --budget 5
  dais job status 3f9a…  --wait
  dais job result 3f9a…`,
	}
	f.add(cmd)
	cmd.AddCommand(newJobSubmitCmd(&f), newJobStatusCmd(&f), newJobResultCmd(&f))
	return cmd
}

func newJobSubmitCmd(f *apiFlags) *cobra.Command {
	var units uint32
	var gflops float64
	var budget, kind string
	cmd := &cobra.Command{
		Use:   "submit --units N --unit-gflops G --budget TOKENS",
		Short: "Post a job with its budget in escrow; prints the job's ID",
		Args:  checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			amount, err := parseTokens("budget", budget)
			if err != nil {
				return err
			}
			k, err := market.ParseKind(kind)
			if err != nil {
				return badInput("--kind: %v", err)
			}
			if units == 0 || gflops <= 0 || math.IsInf(gflops, 0) {
				return badInput("--units and --unit-gflops must be positive")
			}
			c, ctx, cancel, err := f.open(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			spec := market.Spec{Kind: k, Units: units, UnitFLOPs: uint64(gflops * 1e9), Steps: 1, Precision: gpu.FP32}
			id, err := c.SubmitJob(ctx, spec, amount)
			if err != nil {
				return err
			}
			if f.json {
				return writeJSON(cmd.OutOrStdout(), map[string]any{"job": hex.EncodeToString(id[:])})
			}
			fmt.Fprintln(cmd.OutOrStdout(), hex.EncodeToString(id[:]))
			return nil
		},
	}
	cmd.Flags().Uint32Var(&units, "units", 1, "work units")
	cmd.Flags().Float64Var(&gflops, "unit-gflops", 1, "one unit's work, in GFLOP")
	cmd.Flags().StringVar(&budget, "budget", "", "the budget in tokens, held in escrow (required)")
	cmd.Flags().StringVar(&kind, "kind", "compute", "the job's kind (compute, training, inference)")
	cmd.MarkFlagRequired("budget")
	return cmd
}

func newJobStatusCmd(f *apiFlags) *cobra.Command {
	var wait bool
	cmd := &cobra.Command{
		Use:   "status JOB",
		Short: "Show a job's progress (with --wait, until it is done or failed)",
		Args:  checkArgs(cobra.ExactArgs(1)),
		RunE: f.onJob(func(cmd *cobra.Command, ctx context.Context, c *client.Client, id chain.JobID) error {
			var j api.Job
			var err error
			if wait {
				j, err = c.WaitJob(ctx, id, 500*time.Millisecond)
			} else {
				j, err = c.Job(ctx, id)
			}
			if err != nil {
				return err
			}
			if f.json {
				return writeJSON(cmd.OutOrStdout(), jobJSON(j))
			}
			table(cmd.OutOrStdout(), []string{"job", "state", "units", "computed", "verified", "budget", "paid", "refunded", "posted at", "settled at"},
				[][]string{{hex.EncodeToString(j.ID[:8]) + "…", jobStates[j.State], fmt.Sprint(j.Units), fmt.Sprint(j.Computed), fmt.Sprint(j.Verified),
					formatTokens(j.Budget), formatTokens(j.Paid), formatTokens(j.Refunded), fmt.Sprint(j.PostedHeight), fmt.Sprint(j.SettledHeight)}})
			return nil
		}),
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the job is done or failed (bounded by --timeout)")
	return cmd
}

func jobJSON(j api.Job) map[string]any {
	return map[string]any{"job": hex.EncodeToString(j.ID[:]), "state": jobStates[j.State], "poster": j.Poster.String(),
		"units": j.Units, "computed": j.Computed, "verified": j.Verified, "budget": j.Budget, "paid": j.Paid, "refunded": j.Refunded,
		"posted_height": j.PostedHeight, "settled_height": j.SettledHeight}
}

func newJobResultCmd(f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "result JOB",
		Short: "List a job's committed unit results (commitment and provider)",
		Args:  checkArgs(cobra.ExactArgs(1)),
		RunE: f.onJob(func(cmd *cobra.Command, ctx context.Context, c *client.Client, id chain.JobID) error {
			rs, err := c.Results(ctx, id)
			if err != nil {
				return err
			}
			if f.json {
				out := make([]map[string]any, len(rs))
				for i, r := range rs {
					out[i] = map[string]any{"unit": r.Unit, "commitment": hex.EncodeToString(r.Commitment[:]), "provider": r.Provider.String(), "output": r.Output}
				}
				return writeJSON(cmd.OutOrStdout(), out)
			}
			rows := make([][]string, len(rs))
			for i, r := range rs {
				rows[i] = []string{fmt.Sprint(r.Unit), hex.EncodeToString(r.Commitment[:]), r.Provider.String(), fmt.Sprint(len(r.Output))}
			}
			table(cmd.OutOrStdout(), []string{"unit", "commitment (sha-256 of the output)", "provider", "output bytes held"}, rows)
			return nil
		}),
	}
}

func newAccountCmd() *cobra.Command {
	var f apiFlags
	cmd := &cobra.Command{
		Use:   "account [ADDRESS]",
		Short: "Show an account's balance, stake and next nonce at a live node (default: --key's account)",
		Args:  checkArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			var addr chain.Address
			if len(args) == 1 {
				b, err := hex.DecodeString(args[0])
				if err != nil || len(b) != len(addr) {
					return badInput("address %q: want %d hex digits", args[0], 2*len(addr))
				}
				copy(addr[:], b)
			}
			c, ctx, cancel, err := f.open(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			a, err := c.Account(ctx, addr)
			if err != nil {
				return err
			}
			if f.json {
				return writeJSON(cmd.OutOrStdout(), map[string]any{"address": a.Address.String(), "balance": a.Balance, "stake": a.Stake, "next_nonce": a.NextNonce, "height": a.Height})
			}
			table(cmd.OutOrStdout(), []string{"account", "balance (tokens)", "stake (tokens)", "next nonce", "at height"},
				[][]string{{a.Address.String(), formatTokens(a.Balance), formatTokens(a.Stake), fmt.Sprint(a.NextNonce), fmt.Sprint(a.Height)}})
			return nil
		},
	}
	f.add(cmd)
	return cmd
}

func newInferCmd() *cobra.Command {
	var f apiFlags
	var version, input string
	var digit int
	cmd := &cobra.Command{
		Use:   "infer (--input X1,X2,… | --digit ROW) [--version HASH]",
		Short: "Pay for one inference on a model version a federated job committed, and print the answer",
		Long: `Infer asks a live node that holds a committed model version (the federated job's coordinator)
for one prediction. It signs a transfer of the version's price to the version's provider with
--key's account; the node admits the payment to its mempool before it answers, and refuses
(nothing runs, nothing is paid) when the balance is short. --digit ROW sends row ROW of the
optdigits test set (64 features), whose true label is printed beside the answer.`,
		Example: `  dais infer --node testnet/node-0 --key testnet/node-4/data/node.key --digit 7
  dais infer --node 127.0.0.1:40123 --key me.key --version 5be1… --input 0,0,5,13,9,1,…`,
		Args: checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			x, label, err := inferInput(input, digit)
			if err != nil {
				return err
			}
			c, ctx, cancel, err := f.open(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			versions, err := c.ModelVersions(ctx)
			if err != nil {
				return err
			}
			if len(versions) == 0 {
				return fmt.Errorf("the node holds no model version (ask the federated job's coordinator, once a round has committed)")
			}
			mv := versions[len(versions)-1]
			if version != "" && version != "latest" {
				found := 0
				for _, v := range versions {
					if strings.HasPrefix(hex.EncodeToString(v.Hash[:]), strings.ToLower(version)) {
						mv = v
						found++
					}
				}
				switch {
				case found == 0:
					return badInput("--version %s: the node holds no such version (it holds %d; dais infer --version latest takes the newest)", version, len(versions))
				case found > 1:
					return badInput("--version %s: %d versions start so; give more of the hash", version, found)
				}
			}
			res, err := c.Infer(ctx, mv.Hash, x)
			if err != nil {
				return err
			}
			if res.Class < 0 || int(res.Class) >= len(res.Probabilities) {
				return fmt.Errorf("the node answered class %d with %d probabilities: a malformed answer", res.Class, len(res.Probabilities))
			}
			out := map[string]any{"version": hex.EncodeToString(mv.Hash[:]), "round": mv.Round, "class": res.Class,
				"probability": res.Probabilities[res.Class], "paid": mv.Price, "payment_tx": hex.EncodeToString(res.Payment[:])}
			if label >= 0 {
				out["label"] = label
			}
			if f.json {
				out["probabilities"] = res.Probabilities
				return writeJSON(cmd.OutOrStdout(), out)
			}
			lab := "—"
			if label >= 0 {
				lab = fmt.Sprint(label)
			}
			table(cmd.OutOrStdout(), []string{"version", "round", "class", "probability", "true label", "paid (tokens)"},
				[][]string{{hex.EncodeToString(mv.Hash[:8]) + "…", fmt.Sprint(mv.Round), fmt.Sprint(res.Class),
					strconv.FormatFloat(res.Probabilities[res.Class], 'f', 4, 64), lab, formatTokens(mv.Price)}})
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&version, "version", "latest", "the model version: a hash or its prefix, or latest")
	cmd.Flags().StringVar(&input, "input", "", "the features, comma-separated")
	cmd.Flags().IntVar(&digit, "digit", -1, "send this row of the optdigits test set (0–1796)")
	return cmd
}

// inferInput reads --input or --digit; label is the row's true class for
// --digit, else -1.
func inferInput(input string, digit int) (x []float32, label int, err error) {
	switch {
	case input != "" && digit >= 0:
		return nil, 0, badInput("give --input or --digit, not both")
	case digit >= 0:
		_, test, err := optdigits.Load()
		if err != nil {
			return nil, 0, err
		}
		if digit >= test.Len() {
			return nil, 0, badInput("--digit %d: the optdigits test set has rows 0–%d", digit, test.Len()-1)
		}
		for _, v := range test.X[digit] {
			x = append(x, float32(v))
		}
		return x, test.Y[digit], nil
	case input != "":
		for i, s := range strings.Split(input, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(s), 32)
			if err != nil {
				return nil, 0, badInput("--input: feature %d %q is not a number", i+1, s)
			}
			x = append(x, float32(v))
		}
		return x, -1, nil
	}
	return nil, 0, badInput("give --input X1,X2,… or --digit ROW")
}
