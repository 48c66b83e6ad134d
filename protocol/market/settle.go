package market

import (
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/rewards"
	"github.com/dais-sim/dais/protocol/verify"
)

// closeJob ends a job and settles its escrow: each verified unit's price
// (budget ÷ units, rounded down) is split by the fee policy in force into
// a burn, the providers' share (split equally among the replicas that
// agreed on its result) and the reward pool's share; everything else —
// unverified units, the rounding — returns to the requester. Invalid work
// is never paid: only accepted replicas are payees.
func (c *Committee) closeJob(env protocol.Env, j *job, st Status) {
	if j.state != jobOpen {
		return
	}
	j.state, j.status, j.ended = jobClosing, st, env.Now()
	if j.spec.Stream {
		delete(c.sessions, sessionKey{j.requester, j.seq})
	}
	c.stopUnits(env, j)
	price := j.budget / uint64(len(j.units))
	fees := c.policy(c.ledger.Height() + 1).Fees
	paid := map[protocol.NodeID]uint64{}
	var ids []protocol.NodeID
	var pot, burn, providers uint64
	for i := range j.units {
		u := &j.units[i]
		if u.state != unitDone {
			continue
		}
		s := fees.Split(rewards.Tokens(price))
		burn += uint64(s.Burn)
		pot += uint64(s.Pot)
		n := uint64(len(u.payees))
		per := uint64(s.Provider) / n
		for i, id := range u.payees {
			amt := per
			if i == 0 {
				amt += uint64(s.Provider) - per*n
			}
			if _, ok := paid[id]; !ok {
				ids = append(ids, id)
			}
			paid[id] += amt
			providers += amt
		}
	}
	out := providers + pot + burn
	if out > j.budget {
		panic(fmt.Sprintf("market: job %x settles %d of a %d budget", j.id[:4], out, j.budget))
	}
	j.refund = j.budget - out
	slices.Sort(ids)
	var credits []chain.Credit
	for _, id := range ids {
		if paid[id] > 0 {
			credits = append(credits, chain.Credit{To: c.addrs[id], Amount: paid[id]})
		}
	}
	if pot > 0 {
		credits = append(credits, chain.Credit{To: c.pool, Amount: pot})
	}
	done := func(env protocol.Env, h uint64) {
		j.state = jobClosed
		env.Emit(JobClosed{Job: j.id, Requester: j.requester, Status: st, Units: uint32(len(j.units)), Verified: uint32(j.verified),
			Budget: j.budget, Providers: providers, Pot: pot, Burned: burn, Refund: j.refund, Height: h, Wait: env.Now().Sub(j.ended)})
		for _, id := range ids {
			if paid[id] > 0 {
				env.Emit(rewards.Paid{Height: h, Class: rewards.PaidFee, To: c.acct(id), Amount: rewards.Tokens(paid[id])})
			}
		}
		c.send(env, j.requester, &JobStatus{Seq: j.seq, Job: j.id, Status: st, Verified: uint32(j.verified), Refund: j.refund})
		c.pruneOpen()
	}
	c.releases = append(c.releases, release{j: j, r: chain.Release{Job: j.id, Pay: credits, Burn: burn, Close: true}, done: done})
}

// release is a job's settlement waiting for the next block.
type release struct {
	j    *job
	r    chain.Release
	done func(env protocol.Env, h uint64)
}

// maxSettleBytes bounds one Settle transaction's releases (well under
// chain.MaxTxBytes); a block with more settles in several.
const maxSettleBytes = 64 << 10

// flushReleases puts the settlements of the jobs that ended since the
// last block into Settle transactions, many jobs to each. A job whose post
// is not on chain yet (continuous matching) waits for the next block.
func (c *Committee) flushReleases(env protocol.Env) {
	var later []release
	ready := c.releases[:0]
	for _, r := range c.releases {
		if r.j.onChain {
			ready = append(ready, r)
		} else {
			later = append(later, r)
		}
	}
	c.releases = ready
	for len(c.releases) > 0 {
		n, size, credits := 0, 0, 0
		for n < len(c.releases) {
			r := c.releases[n].r
			size += 64 + 40*len(r.Pay)
			credits += 1 + len(r.Pay)
			if n > 0 && (size > maxSettleBytes || credits > chain.MaxCredits/2) {
				break
			}
			n++
		}
		batch := c.releases[:n:n]
		rs := make([]chain.Release, n)
		for i, r := range batch {
			rs[i] = r.r
		}
		done := func(env protocol.Env, h uint64) {
			for _, r := range batch {
				r.done(env, h)
			}
		}
		if !c.submit(env, c.cfg.Settler, chain.NewSettle(0, 0, rs...), &pending{done: done}) {
			if c.chain == nil {
				panic(fmt.Sprintf("market: a settlement of %d jobs was refused", n))
			}
			later = append(later, c.releases...) // the next block tries again
			break
		}
		c.releases = c.releases[n:]
	}
	c.releases = later
}

// pruneOpen drops closed jobs from the open list once they are half of
// it, so scans over open jobs stay proportional to what is open. Its
// caller has just closed one job of the list (each closes once, and every
// job is on the list from its post), so a count of closes since the last
// prune is the list's count of closed jobs: counting them by a scan cost
// O(open) per close, quadratic at a thousand jobs a second.
func (c *Committee) pruneOpen() {
	c.closedOpen++
	if 2*c.closedOpen < len(c.open) {
		return
	}
	c.closedOpen = 0
	keep := c.open[:0]
	for _, j := range c.open {
		if j.state != jobClosed {
			keep = append(keep, j)
		} else {
			delete(c.jobs, j.id)
		}
	}
	for i := len(keep); i < len(c.open); i++ {
		c.open[i] = nil
	}
	c.open = keep
}

// payPool splits the reward pool after block h: everything the pool
// holds — the emission minted since the last split and the pot shares of
// job fees — goes out by rewards.Distributor: compute providers pro rata
// to verified FLOPs since the last split, validators by stake × accuracy,
// the treasury its share and whatever no one could claim. One payout is
// in flight at a time; a block that finds one pending leaves its tokens
// and work for the next.
func (c *Committee) payPool(env protocol.Env, h uint64) {
	if c.poolBusy || (c.cfg.RewardEvery > 1 && h%c.cfg.RewardEvery != 0) {
		return
	}
	bal := c.spendable(c.pool)
	if bal == 0 {
		c.work, c.unpaid = c.work[:0], 0
		c.indexWork()
		return
	}
	em := min(c.unpaid, bal)
	var vals []rewards.ValidatorScore
	for _, v := range c.vals {
		if v.jailed {
			continue
		}
		st := c.ledger.Account(c.addrs[v.id]).Stake
		acc := rewards.PPMOne
		if v.verdicts > 0 {
			acc = rewards.PPM(uint64(v.agree) * uint64(rewards.PPMOne) / uint64(v.verdicts))
		}
		if st > 0 {
			vals = append(vals, rewards.ValidatorScore{Validator: c.acct(v.id), Stake: rewards.Tokens(st), Accuracy: acc})
		}
	}
	out, err := c.dist.Distribute(rewards.Period{Height: h, Emission: rewards.Tokens(em), Fees: rewards.Tokens(bal - em),
		Work: c.work, Validators: vals})
	if err != nil {
		panic(fmt.Sprintf("market: reward split after block %d: %v", h, err))
	}
	pays := out.Payments()
	var credits []chain.Credit
	for _, p := range pays {
		id, ok := c.nodeOfAcct(p.To)
		if !ok || p.Amount == 0 {
			continue
		}
		credits = append(credits, chain.Credit{To: c.addrs[id], Amount: uint64(p.Amount)})
	}
	if out.Treasury > 0 {
		credits = append(credits, chain.Credit{To: c.treasury, Amount: uint64(out.Treasury)})
	}
	c.work, c.unpaid = c.work[:0], c.unpaid-em
	c.indexWork()
	if len(credits) == 0 {
		return
	}
	done := func(env protocol.Env, h uint64) {
		c.poolBusy = false
		env.Emit(out.Event())
		for _, p := range pays {
			if p.Amount > 0 {
				p.Height = h
				env.Emit(p)
			}
		}
	}
	if !c.submitPayout(env, c.cfg.Pool, credits, done) {
		if c.chain == nil {
			panic(fmt.Sprintf("market: the reward payout after block %d was refused", h))
		}
		return
	}
	c.poolBusy = true
}

// stakingYield pays each epoch's staking yield from the treasury
// (rewards.Policy.StakingYield: the treasury never mints, and pays pro
// rata when it cannot pay in full).
func (c *Committee) stakingYield(env protocol.Env, h uint64) {
	pol := c.policy(h)
	if c.treasBusy || h%pol.EpochBlocks != 0 {
		return
	}
	t := c.spendable(c.treasury)
	if t == 0 {
		return
	}
	addrOf := map[rewards.Account]chain.Address{}
	var stakes []rewards.Stake
	for _, a := range c.ledger.Stakes() {
		acct := c.account(a.Address)
		addrOf[acct] = a.Address
		stakes = append(stakes, rewards.Stake{Staker: acct, Amount: rewards.Tokens(a.Stake)})
	}
	pays, paid := pol.StakingYield(stakes, rewards.Tokens(t))
	if paid == 0 {
		return
	}
	var credits []chain.Credit
	for _, p := range pays {
		if p.Amount > 0 && addrOf[p.To] != c.treasury {
			credits = append(credits, chain.Credit{To: addrOf[p.To], Amount: uint64(p.Amount)})
		}
	}
	if len(credits) == 0 {
		return
	}
	done := func(env protocol.Env, h uint64) {
		c.treasBusy = false
		for _, p := range pays {
			if p.Amount > 0 {
				env.Emit(rewards.Paid{Height: h, Class: rewards.PaidStaking, To: p.To, Amount: p.Amount})
			}
		}
	}
	if c.submitPayout(env, c.cfg.Treasury, credits, done) {
		c.treasBusy = true
	}
}

// payoutChunk is how many credits one Payout carries: a credit encodes in
// about 32 bytes (a 20-byte address, an amount, array heads), so 4,096 stay
// well under the ledger's largest transaction (chain.MaxTxBytes, 256 KiB)
// however many providers or stakers a period pays.
const payoutChunk = 4096

// submitPayout pays credits from the holder of from in Payouts of at
// most payoutChunk credits, in nonce order; done runs when the last
// commits (the others commit before it). It reports whether every one
// was accepted.
func (c *Committee) submitPayout(env protocol.Env, from chain.PubKey, credits []chain.Credit, done func(protocol.Env, uint64)) bool {
	for len(credits) > 0 {
		n := min(len(credits), payoutChunk)
		var p *pending
		if n == len(credits) {
			p = &pending{done: done}
		}
		if !c.submit(env, from, chain.NewPayout(0, 0, credits[:n]), p) {
			return false
		}
		credits = credits[n:]
	}
	return true
}

// spendable is what the committee's account a may pay out: its balance,
// less the fee reserve on a chain run by others.
func (c *Committee) spendable(a chain.Address) uint64 {
	b := c.ledger.Account(a).Balance
	if c.chain == nil {
		return b
	}
	return b - min(b, c.cfg.FeeReserve)
}

// account is the rewards account of a ledger address: a node's
// NodeAccount, or the address in hex.
func (c *Committee) account(a chain.Address) rewards.Account {
	if id, ok := c.nodeOf[a]; ok {
		return c.acct(id)
	}
	return rewards.Account("addr/" + hex.EncodeToString(a[:]))
}

// slashReq is a slash waiting to go on chain.
type slashReq struct {
	offender protocol.NodeID
	offence  rewards.Offence
	ev       verify.Evidence
	evidence []byte // ev encoded when the slash goes out
	// wait is the replica whose commitment the evidence names: the slash
	// goes on chain after it, so the judge can check the commitment.
	wait *replica
	// stakeAt is the offender's stake before the block that may commit
	// the slash (Config.Chain: the committee sees blocks once applied).
	stakeAt uint64
}

// issueSlashes submits the slashes whose evidence is ready. An offender
// with no stake left cannot be slashed (it is jailed all the same).
func (c *Committee) issueSlashes(env protocol.Env) {
	keep := c.slashes[:0]
	for _, s := range c.slashes {
		if s.wait != nil && !s.wait.committed {
			keep = append(keep, s)
			continue
		}
		a := c.addrs[s.offender]
		if c.ledger.Account(a).Stake == 0 {
			continue
		}
		if r := s.wait; r != nil && r.batch != nil {
			// The claim was committed in a batch: the evidence carries its
			// place among the batch's leaves.
			s.ev.Proof = &verify.ResultProof{Root: r.batch.root, Count: uint32(len(r.batch.leaves)), Index: r.bidx,
				Path: verify.Prove(r.batch.leaves, int(r.bidx))}
		}
		s.evidence = s.ev.Encode()
		s.stakeAt = c.ledger.Account(a).Stake
		c.submit(env, c.cfg.Settler, chain.NewSlash(0, 0, a, s.evidence), &pending{slash: s})
	}
	for i := len(keep); i < len(c.slashes); i++ {
		c.slashes[i] = nil
	}
	c.slashes = keep
}

// slashStakes records, before a block commits, the stake of every
// offender with a slash in flight, so the burn of each can be told.
func (c *Committee) slashStakes() map[chain.Address]uint64 {
	var m map[chain.Address]uint64
	for _, p := range c.inflight {
		if p.slash == nil {
			continue
		}
		if m == nil {
			m = map[chain.Address]uint64{}
		}
		a := c.addrs[p.slash.offender]
		if _, ok := m[a]; !ok {
			m[a] = c.ledger.Account(a).Stake
		}
	}
	return m
}

// slashed emits a committed slash: the burn is the fraction in force of
// the stake before it (slashes of one offender in one block apply in
// order).
func (c *Committee) slashed(env protocol.Env, h uint64, s *slashReq, before map[chain.Address]uint64) {
	a := c.addrs[s.offender]
	st := before[a]
	amt := c.slashFraction(h, s.evidence).Of(st)
	before[a] = st - amt
	env.Emit(rewards.Slashed{Height: h, Offender: c.acct(s.offender), Offence: s.offence,
		Stake: rewards.Tokens(st), Amount: rewards.Tokens(amt)})
}

// stopUnits takes a closing job's units off the queue and its running
// replicas off their providers.
func (c *Committee) stopUnits(env protocol.Env, j *job) {
	for i := range j.units {
		c.dequeue(&j.units[i], env.Now())
		for _, r := range j.units[i].reps {
			if r.state == repRunning {
				r.state = repLost
				c.release(r.p, r)
			}
		}
	}
}
