package testnet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/dais-sim/dais/live/node"
)

// MarketOptions describe a small live marketplace run in this process
// (RunMarket).
type MarketOptions struct {
	// Dir is where the testnet directory is made (a fresh or empty
	// directory; a temporary one suits). Required.
	Dir string
	// Nodes is how many nodes, all validators (default 3).
	Nodes int
	Seed  uint64
	// Timeouts are the BFT timeouts (zero: FastTimeouts).
	Timeouts node.Timeouts
	// Market is the marketplace (nil: node.DefaultMarket(Nodes), one job
	// of two units on two providers whose outputs must agree).
	Market *node.MarketSpec
	// Timeout bounds the run (default 60 s).
	Timeout time.Duration
}

// FastTimeouts are BFT timeouts for loopback, where a height takes about
// 100 ms.
var FastTimeouts = node.Timeouts{
	Propose: node.Duration(400 * time.Millisecond), ProposeDelta: node.Duration(200 * time.Millisecond),
	Prevote: node.Duration(200 * time.Millisecond), PrevoteDelta: node.Duration(100 * time.Millisecond),
	Precommit: node.Duration(200 * time.Millisecond), PrecommitDelta: node.Duration(100 * time.Millisecond),
	Commit: node.Duration(100 * time.Millisecond),
}

// MarketRun is what RunMarket saw, read from the nodes' statuses when
// every job had settled, before they shut down.
type MarketRun struct {
	Network *node.Network
	// Status is every node's last status (Status[i].Market: its part in
	// the marketplace; nil for a node without a market role).
	Status []node.Status
	// Committee is the committee leader's market status.
	Committee *node.MarketStatus
	// Completion is each job's time from its post to its settlement, as
	// its requester measured it; UnitCompletion each unit's time from
	// its job's post to its verification, as the committee measured it
	// (the task completion time of the simulator's reports).
	Completion, UnitCompletion []time.Duration
	// Wall is the run's duration, nodes' start to the last settlement.
	Wall time.Duration
	// Metrics is every node's /metrics (Prometheus text) at the end, or
	// why it could not be read.
	Metrics []string
}

// ErrMarketRun is RunMarket giving up before every job settled.
var ErrMarketRun = errors.New("testnet: the live market run did not finish")

// RunMarket creates a testnet of o.Nodes validators in o.Dir whose network
// runs the marketplace o.Market, runs its nodes in this process (node.New,
// as dais node does), waits until every requester's jobs have reached a
// final status and the committee has settled them all, and closes the
// nodes. It returns what it measured, and with ErrMarketRun what it saw
// when the time ran out.
func RunMarket(ctx context.Context, o MarketOptions) (*MarketRun, error) {
	if o.Nodes == 0 {
		o.Nodes = 3
	}
	if o.Timeouts == (node.Timeouts{}) {
		o.Timeouts = FastTimeouts
	}
	if o.Market == nil {
		o.Market = node.DefaultMarket(o.Nodes)
	}
	if o.Timeout == 0 {
		o.Timeout = time.Minute
	}
	tn, err := Create(Options{Dir: o.Dir, Nodes: o.Nodes, Seed: o.Seed, Timeouts: o.Timeouts, Market: o.Market})
	if err != nil {
		return nil, err
	}
	jobs := o.Market.Jobs
	if jobs == 0 {
		jobs = 1
	}
	want := uint64(jobs * len(o.Market.Requesters))

	nodes, err := tn.StartInProcess(node.Options{Version: "market-run"})
	if err != nil {
		return nil, err
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	run := &MarketRun{Network: tn.Network}
	done := func() bool {
		run.Status = run.Status[:0]
		var finished uint64
		for _, n := range nodes {
			st := n.Status()
			run.Status = append(run.Status, st)
			if st.Market != nil && st.Market.Posted > 0 {
				finished += st.Market.Finished
			}
		}
		run.Committee = run.Status[o.Market.Committee].Market
		c := run.Committee
		return finished >= want && c != nil && c.Settled >= want && c.OpenJobs == 0
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var runErr error
	for !done() {
		select {
		case <-ctx.Done():
			runErr = fmt.Errorf("%w within %v: %s", ErrMarketRun, o.Timeout, MarketProgress(run.Status))
		case <-tick.C:
			continue
		}
		break
	}
	run.Wall = time.Since(start)
	for _, n := range nodes {
		run.Metrics = append(run.Metrics, scrape(ctx, "http://"+n.StatusAddr()+"/metrics"))
	}
	for _, st := range run.Status {
		if st.Market == nil {
			continue
		}
		for _, j := range st.Market.Jobs {
			run.Completion = append(run.Completion, time.Duration(j.LatencyS*float64(time.Second)))
		}
	}
	if c := run.Committee; c != nil {
		for _, u := range c.Units {
			run.UnitCompletion = append(run.UnitCompletion, time.Duration(u.LatencyS*float64(time.Second)))
		}
	}
	return run, errors.Join(runErr, nodes.Close())
}

// InProcess are a testnet's nodes running in this process.
type InProcess []*node.Node

// StartInProcess builds every node of the testnet from its config, as dais
// node does, in this process, and starts them. On an error the nodes
// built so far are closed.
func (t *Testnet) StartInProcess(opts node.Options) (InProcess, error) {
	var nodes InProcess
	for _, id := range t.IDs() {
		cfg, err := node.LoadConfig(t.ConfigPath(id))
		if err != nil {
			return nil, errors.Join(err, nodes.Close())
		}
		n, err := node.New(cfg, opts)
		if err != nil {
			return nil, errors.Join(err, nodes.Close())
		}
		nodes = append(nodes, n)
	}
	for _, n := range nodes {
		n.Start()
	}
	return nodes, nil
}

// Close closes every node (each returns when its goroutines have ended).
func (ns InProcess) Close() error {
	var errs []error
	for _, n := range ns {
		errs = append(errs, n.Close())
	}
	return errors.Join(errs...)
}

// scrape returns the body at url, or the error.
func scrape(ctx context.Context, url string) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err.Error()
	}
	req.Header.Set("Accept", "text/plain")
	resp, err := client.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// MarketProgress says in one line where each node's market stands.
func MarketProgress(sts []node.Status) string {
	var parts []string
	for _, st := range sts {
		parts = append(parts, fmt.Sprintf("node %d (height %d): %s", st.ID, st.Height, MarketSummary(st.Market)))
	}
	return strings.Join(parts, "; ")
}

// MarketSummary is a node's market status in a few words, for dais
// testnet status: its roles and their counts.
func MarketSummary(m *node.MarketStatus) string {
	if m == nil {
		return "-"
	}
	var parts []string
	for _, r := range m.Roles {
		switch r {
		case "committee":
			parts = append(parts, fmt.Sprintf("committee: %d opened, %d units verified, %d settled, escrow %d", m.Opened, m.Verified, m.Settled, m.Escrow))
		case "provider":
			parts = append(parts, fmt.Sprintf("provider: %d units", m.Computed))
		case "validator":
			parts = append(parts, fmt.Sprintf("validator: %d replays", m.Replays))
		case "requester":
			parts = append(parts, fmt.Sprintf("requester: %d posted, %d finished", m.Posted, m.Finished))
		}
	}
	s := strings.Join(parts, "; ")
	if !m.Started {
		s += " (waiting for the network)"
	}
	if m.SupplyError != "" {
		s += " CONSERVATION BROKEN: " + m.SupplyError
	}
	return s
}
