package testnet

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dais-sim/dais/live/node"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol/consensus/nakamoto"
)

// bftOnly are the figures, groups and plots of a testnet report that only
// a BFT engine gives meaning to: a longest-chain report leaves them out
// rather than show rounds that are always 1 and timeouts that never fire.
// (and the rounds_per_height distribution's figures, by prefix).
var bftOnly = []string{"consensus_messages_per_block", "timeouts", "equivocations_seen", "heights_by_rounds"}

// longestFigures turns a longest-chain report's BFT figures into the
// simulator's longest-chain figures (sim/consensusrun, same keys): blocks
// mined, stale and fork rates, reorgs and their deepest, and the forks
// nodes refused below their final height. Finality there is time to
// depth: from a block's mining (the miner's clock) to its commit
// Confirmations blocks deep (the committing node's clock).
func longestFigures(run *metrics.Run, netw *node.Network, tl *tally) {
	drop := func(key string) bool {
		return slices.Contains(bftOnly, key) || key == Rounds.Key() || strings.HasPrefix(key, Rounds.Key()+"_")
	}
	run.Figures = slices.DeleteFunc(run.Figures, func(f metrics.Figure) bool { return drop(f.Key) })
	run.Groups = slices.DeleteFunc(run.Groups, func(g metrics.Group) bool { return drop(g.Key) })
	run.Plots = slices.DeleteFunc(run.Plots, func(p metrics.Plot) bool { return len(p.Data) == 1 && drop(p.Data[0]) })
	run.Dists = slices.DeleteFunc(run.Dists, func(d metrics.Dist) bool { return drop(d.Key) })
	if run.Series != nil {
		run.Series.Columns = slices.DeleteFunc(run.Series.Columns, func(c metrics.Column) bool { return drop(c.Key) })
	}

	// The final chain, by height: the blocks nodes committed (a conflict
	// is a violation, counted elsewhere).
	var top uint64
	for h := range tl.heights {
		top = max(top, h)
	}
	var mined, stale, reorgs, maxReorg, deep uint64
	forked := map[uint64]bool{}
	for _, pe := range tl.protoEvs {
		switch ev := pe.Event.(type) {
		case nakamoto.Mined:
			mined++
			// Blocks above the final height may still go either way.
			if h := tl.heights[ev.Height]; h != nil && ev.Height <= top && h.hash != hex.EncodeToString(ev.Hash[:]) {
				stale++
				forked[ev.Height] = true
			}
		case nakamoto.Reorg:
			reorgs++
			maxReorg = max(maxReorg, ev.Depth)
		case nakamoto.DeepFork:
			deep++
		}
	}
	rate := func(n, of uint64) float64 {
		if of == 0 {
			return 0
		}
		return float64(n) / float64(of)
	}
	var decided uint64 // mined blocks at final heights
	for _, pe := range tl.protoEvs {
		if ev, ok := pe.Event.(nakamoto.Mined); ok && ev.Height <= top {
			decided++
		}
	}
	fig := func(key string, v float64, unit, help string, better metrics.Better, headline bool) {
		run.Figures = append(run.Figures, metrics.Figure{Key: key, Value: v, Unit: unit, Help: help, Better: better, Headline: headline})
	}
	s := netw.LongestChainSpecOrDefault()
	fig("confirmations", float64(s.Confirmations), "blocks", "blocks on top of a block before a node makes it final", "", false)
	fig("blocks_mined", float64(mined), "", "blocks mined, main chain and stale (by nodes while they ran)", "", false)
	fig("stale_rate", rate(stale, decided), "", "share of the blocks mined at final heights that ended off the final chain", metrics.Lower, true)
	fig("fork_rate", rate(uint64(len(forked)), top), "", "share of final heights that also had a stale block", metrics.Lower, false)
	fig("reorgs", float64(reorgs), "", "tip switches seen by nodes", metrics.Lower, false)
	fig("max_reorg_depth", float64(maxReorg), "blocks", "deepest tip switch", metrics.Lower, false)
	fig("deep_forks", float64(deep), "", "heavier branches nodes refused because they fork below their final height (confirmations too few for the network)", metrics.Lower, true)
	for i := range run.Plots {
		if slices.Contains(run.Plots[i].Data, Finality.Key()) {
			run.Plots[i].Title = "Time to finality (time to depth)"
			run.Plots[i].XLabel = "time from mining to commit " + strconv.Itoa(s.Confirmations) + " blocks deep (ms)"
			run.Plots[i].Caption = fmt.Sprintf("Each point is the share of (node, height) commits final by then: about %d block intervals of %v each, plus propagation; restarted nodes catching up add a tail.",
				s.Confirmations, time.Duration(s.Interval))
		}
		if slices.Contains(run.Plots[i].Data, BlockInterval.Key()) {
			run.Plots[i].Caption = "Mining is a Poisson process: intervals between first commits are roughly exponential around the target interval."
		}
	}
}

// longestMeta is the engine's part of a longest-chain report's parameters.
func longestMeta(params map[string]string, netw *node.Network) {
	s := netw.LongestChainSpecOrDefault()
	delete(params, "timeouts")
	params["engine"] = node.EngineLongestChain
	params["longest_chain"] = fmt.Sprintf("interval %v, %d confirmations, mining %s (modeled: Poisson on wall-clock timers)",
		time.Duration(s.Interval), s.Confirmations, s.Mining)
}
