package chain

import (
	"fmt"
	"math/bits"
)

// Token is one token in base units: amounts are integers of 10⁻⁹ token,
// matching scenarios.TokenDecimals.
const Token uint64 = 1_000_000_000

// PPM is a fraction in parts per million (0 … 1,000,000). Token arithmetic
// stays in integers: a float share of a balance would round differently on
// different machines and break conservation by a base unit here and there.
type PPM uint32

// PPMOne is the fraction 1.
const PPMOne PPM = 1_000_000

// Of returns ⌊x·p/10⁶⌋ without overflow.
func (p PPM) Of(x uint64) uint64 {
	hi, lo := bits.Mul64(x, uint64(p))
	q, _ := bits.Div64(hi, lo, uint64(PPMOne)) // hi < p ≤ 10⁶: no overflow
	return q
}

// String prints the fraction as a percentage.
func (p PPM) String() string { return fmt.Sprintf("%g%%", float64(p)/1e4) }

// Emission is the number of base units minted to the proposer of the block
// at height: the emission schedule. It must be a pure function of height.
// The rewards package replaces the placeholder FixedEmission.
type Emission func(height uint64) uint64

// FixedEmission mints the same reward at every height.
func FixedEmission(reward uint64) Emission { return func(uint64) uint64 { return reward } }

// GasSchedule prices a transaction: gas = Base[kind] + PerByte × encoded
// size. Gas bounds the work a block asks of every validator; bytes bound its
// propagation. The figures are relative costs, not measured ones: a
// signature check dominates every kind, so the bases differ only by the
// state each kind touches (slash and proposal records are heavier).
type GasSchedule struct {
	Base    [numKinds]uint64
	PerByte uint64
}

// Gas returns the gas of a transaction of kind k encoded in size bytes. The
// reward system transaction costs nothing: it is not the proposer's choice.
func (g GasSchedule) Gas(k TxType, size int) uint64 {
	if k == TxReward || !k.Valid() {
		return 0
	}
	return g.Base[k] + g.PerByte*uint64(size)
}

// Params are the ledger's rules. Start from DefaultParams and change fields;
// NewLedger rejects values outside their ranges.
type Params struct {
	// UnbondingBlocks is how many blocks unstaked tokens wait before they
	// return to the balance: unstaked in block h, spendable from block
	// h+UnbondingBlocks on. At least 1.
	UnbondingBlocks uint64
	// SlashFraction is the share of the offender's bonded stake a slash
	// burns (unbonding tokens are not slashed in this version).
	SlashFraction PPM
	// FeeBurn is the share of each block's fees burned; the rest goes to
	// the proposer.
	FeeBurn PPM
	// BlockReward is the reward of the default FixedEmission schedule.
	BlockReward uint64
	// MaxBlockBytes bounds a block's canonical encoding.
	MaxBlockBytes int
	// MaxBlockGas bounds the sum of a block's transactions' gas.
	MaxBlockGas uint64
	// MaxTxBytes bounds one transaction's canonical encoding.
	MaxTxBytes int
	// MinGasPrice is the lowest fee per unit of gas, in base units; a
	// transaction's fee must be at least MinGasPrice × gas.
	MinGasPrice uint64
	Gas         GasSchedule
	// VotingPeriod is how many blocks a proposal accepts votes: proposed in
	// block h, votes are valid in blocks h … h+VotingPeriod−1.
	VotingPeriod uint64
	// DisputeBlocks is the dispute window: a settled job's record and
	// result commitments are pruned this many blocks after the block that
	// settles it, and a result root this many after the block that records
	// it (prune.go); evidence that names them must be on chain by then. 0
	// keeps everything for good.
	DisputeBlocks uint64

	// MempoolMaxTxs and MempoolMaxBytes bound the mempool; when full, a
	// transaction with a higher fee evicts the lowest-fee one.
	MempoolMaxTxs   int
	MempoolMaxBytes int
	// MempoolMaxPerSender bounds one sender's pending transactions (they
	// are re-checked in sequence, so this bounds the cost of a check).
	MempoolMaxPerSender int
}

// DefaultDisputeBlocks is the default dispute window: 20 minutes of 2 s
// blocks (the market's default interval), where the market's own slashes
// go out within a few blocks of the result they name.
const DefaultDisputeBlocks = 600

// DefaultParams returns the ledger's default rules: one-token block reward,
// half the fees burned, a 5% slash, 100-block unbonding, 1 MiB blocks, a
// 600-block dispute window.
func DefaultParams() Params {
	return Params{
		UnbondingBlocks: 100,
		SlashFraction:   50_000, // 5%
		FeeBurn:         500_000,
		BlockReward:     1 * Token,
		MaxBlockBytes:   1 << 20,
		MaxBlockGas:     10_000_000,
		MaxTxBytes:      MaxTxBytes,
		MinGasPrice:     1,
		Gas: GasSchedule{
			Base: [numKinds]uint64{
				TxTransfer: 1_000,
				TxStake:    2_000,
				TxUnstake:  2_000,
				TxJobPost:  5_000,
				TxResult:   2_000,
				TxSlash:    10_000,
				TxProposal: 10_000,
				TxVote:     1_000,
				TxSettle:   5_000,
				TxPayout:   2_000,
				TxVersion:  2_000,
				TxUse:      1_000,
				// A batch of results: one record, however many leaves.
				TxResultRoot: 2_000,
			},
			PerByte: 10,
		},
		VotingPeriod:        1_000,
		DisputeBlocks:       DefaultDisputeBlocks,
		MempoolMaxTxs:       10_000,
		MempoolMaxBytes:     16 << 20,
		MempoolMaxPerSender: 64,
	}
}

// Validate reports the first parameter outside its range.
func (p Params) Validate() error {
	switch {
	case p.UnbondingBlocks < 1:
		return fmt.Errorf("chain: UnbondingBlocks is %d, want at least 1", p.UnbondingBlocks)
	case p.SlashFraction > PPMOne:
		return fmt.Errorf("chain: SlashFraction is %d ppm, want at most %d", p.SlashFraction, PPMOne)
	case p.FeeBurn > PPMOne:
		return fmt.Errorf("chain: FeeBurn is %d ppm, want at most %d", p.FeeBurn, PPMOne)
	case p.MaxTxBytes < 256 || p.MaxTxBytes > MaxTxBytes:
		return fmt.Errorf("chain: MaxTxBytes is %d, want 256 … %d", p.MaxTxBytes, MaxTxBytes)
	case p.MaxBlockBytes < p.MaxTxBytes+blockOverhead:
		return fmt.Errorf("chain: MaxBlockBytes is %d, want at least MaxTxBytes + %d = %d", p.MaxBlockBytes, blockOverhead, p.MaxTxBytes+blockOverhead)
	case p.MaxBlockGas < 1:
		return fmt.Errorf("chain: MaxBlockGas is 0, want at least 1")
	case p.VotingPeriod < 1:
		return fmt.Errorf("chain: VotingPeriod is 0, want at least 1")
	case p.MempoolMaxTxs < 1 || p.MempoolMaxBytes < p.MaxTxBytes || p.MempoolMaxPerSender < 1:
		return fmt.Errorf("chain: mempool limits %d txs, %d bytes, %d per sender: want at least 1, MaxTxBytes, 1",
			p.MempoolMaxTxs, p.MempoolMaxBytes, p.MempoolMaxPerSender)
	}
	return nil
}
