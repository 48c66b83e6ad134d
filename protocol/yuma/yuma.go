// Package yuma is Bittensor's Yuma consensus: validators' weights on the
// items they assess (miners' work, updates, data sets) turned into a
// stake-weighted consensus per item, the weights clipped to it, incentive
// for the items and dividends for the validators from bonds kept as an
// exponential moving average. It is written from the published algorithm
// (opentensor/subtensor docs/consensus.md and the epoch it describes, the
// "Yuma 2" bonds), in float64, deterministic: fixed loop orders, no maps.
//
//	st := yuma.New(yuma.DefaultParams())
//	ep, err := st.Epoch(stake, weights) // weights[i][j]: validator i on item j
//	// ep.Incentive pays the items, ep.Dividends the validators
//
// One epoch, with S the validators' stake normalized to sum 1 and W each
// validator's weights normalized to sum 1 over the items:
//
//	prerank      P_j  = Σ_i S_i·W_ij
//	consensus    C_j  = max{ w : Σ_i S_i·[W_ij ≥ w] ≥ κ }   (stake-weighted median at κ = ½)
//	clipped      W̄_ij = min(W_ij, C_j)
//	rank         R_j  = Σ_i S_i·W̄_ij;   incentive I = R / ΣR;   trust T_j = R_j / P_j
//	bond weights W̃_ij = (1−β)·W_ij + β·W̄_ij
//	bond delta   ΔB_ij = S_i·W̃_ij / Σ_k S_k·W̃_kj
//	bonds        B_ij = α·ΔB_ij + (1−α)·B_ij(previous epoch), then each column normalized
//	dividends    D_i  = Σ_j B_ij·I_j, normalized to sum 1
//
// A coalition holding less than κ of the stake cannot lift C_j above the
// weight that the other validators' stake supports at κ minus its own
// (SupportBound); weight it puts above consensus is clipped away, earning
// neither the item incentive nor the validator bonds, so a validator that
// inflates its friends loses dividends to those who weigh accurately.
package yuma

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// ErrInput reports stake, weights or parameters Epoch cannot use.
var ErrInput = errors.New("yuma: bad input")

// Params are Yuma's parameters.
type Params struct {
	// Kappa is the share of stake that must support a weight for it to be
	// the consensus (κ; subtensor's default is 0.5: a stake-weighted
	// median).
	Kappa float64
	// BondPenalty is β: how much of the weight above consensus is cut
	// before bonding (1: all of it, subtensor's default).
	BondPenalty float64
	// BondAlpha is α, the weight of this epoch's bonds in the moving
	// average (subtensor's bonds_moving_average of 0.9 keeps 90% of the
	// old bonds: α = 0.1).
	BondAlpha float64
}

// DefaultParams are subtensor's defaults: κ = 0.5, β = 1, α = 0.1.
func DefaultParams() Params { return Params{Kappa: 0.5, BondPenalty: 1, BondAlpha: 0.1} }

// Validate reports the first parameter out of range.
func (p Params) Validate() error {
	switch {
	case !(p.Kappa > 0 && p.Kappa <= 1):
		return fmt.Errorf("%w: kappa %v, want (0, 1]", ErrInput, p.Kappa)
	case !(p.BondPenalty >= 0 && p.BondPenalty <= 1):
		return fmt.Errorf("%w: bond penalty %v, want [0, 1]", ErrInput, p.BondPenalty)
	case !(p.BondAlpha > 0 && p.BondAlpha <= 1):
		return fmt.Errorf("%w: bond alpha %v, want (0, 1]", ErrInput, p.BondAlpha)
	}
	return nil
}

// Epoch is one epoch's outcome. Slices are the caller's.
type Epoch struct {
	// Stake is the validators' stake normalized to sum 1; Weights their
	// rows normalized to sum 1 (a row of zeros stays zero).
	Stake   []float64
	Weights [][]float64
	// Per item: Prerank, Consensus, Rank, Incentive (sums to 1 unless
	// every rank is 0) and Trust (rank over prerank; 0 for an item no one
	// weighed).
	Prerank, Consensus, Rank, Incentive, Trust []float64
	// Per validator: ValidatorTrust is the row's weight left after
	// clipping; Dividends the validator's share of the validators' reward
	// (sums to 1 unless no bond meets an incentive).
	ValidatorTrust, Dividends []float64
	// Bonds are the bonds after this epoch, each column summing to 1 (or
	// 0): the state the next epoch starts from.
	Bonds [][]float64
}

// State carries the bonds from one epoch to the next. The zero State is
// not usable; make one with New. It is used from one goroutine.
type State struct {
	p     Params
	bonds [][]float64
}

// New returns a state with no bonds. p must be valid (Epoch reports it
// otherwise).
func New(p Params) *State { return &State{p: p} }

// Params returns the state's parameters.
func (s *State) Params() Params { return s.p }

// Epoch runs one epoch on stake (≥ 0 per validator, not all 0) and
// weights (weights[i][j] ≥ 0, validator i on item j; every row the same
// length) and keeps its bonds. The number of validators and items must
// stay the same from epoch to epoch.
func (s *State) Epoch(stake []float64, weights [][]float64) (Epoch, error) {
	ep, err := Step(s.p, stake, weights, s.bonds)
	if err != nil {
		return Epoch{}, err
	}
	s.bonds = ep.Bonds
	return ep, nil
}

// Step is one epoch from the previous bonds prev (nil: none), without
// state: what State.Epoch does.
func Step(p Params, stake []float64, weights [][]float64, prev [][]float64) (Epoch, error) {
	if err := p.Validate(); err != nil {
		return Epoch{}, err
	}
	n := len(stake)
	if len(weights) != n || n == 0 {
		return Epoch{}, fmt.Errorf("%w: %d stakes, %d weight rows", ErrInput, n, len(weights))
	}
	m := len(weights[0])
	for i, row := range weights {
		if len(row) != m {
			return Epoch{}, fmt.Errorf("%w: weight row %d has %d items, row 0 has %d", ErrInput, i, len(row), m)
		}
		for j, w := range row {
			if !(w >= 0) || math.IsInf(w, 1) {
				return Epoch{}, fmt.Errorf("%w: weight of validator %d on item %d is %v", ErrInput, i, j, w)
			}
		}
	}
	if prev != nil && (len(prev) != n || (n > 0 && len(prev[0]) != m)) {
		return Epoch{}, fmt.Errorf("%w: bonds of %d×%d, weights of %d×%d", ErrInput, len(prev), len(prev[0]), n, m)
	}
	S, err := normalizeStake(stake)
	if err != nil {
		return Epoch{}, err
	}
	ep := Epoch{Stake: S, Weights: make([][]float64, n)}
	for i, row := range weights {
		ep.Weights[i] = normalized(row)
	}
	W := ep.Weights
	ep.Prerank = colDot(S, W)
	ep.Consensus = make([]float64, m)
	col := make([]float64, n)
	for j := range m {
		for i := range n {
			col[i] = W[i][j]
		}
		ep.Consensus[j] = WeightedMedian(S, col, p.Kappa)
	}
	clipped := make([][]float64, n)
	bondW := make([][]float64, n)
	ep.ValidatorTrust = make([]float64, n)
	for i := range n {
		clipped[i] = make([]float64, m)
		bondW[i] = make([]float64, m)
		for j := range m {
			c := min(W[i][j], ep.Consensus[j])
			clipped[i][j] = c
			bondW[i][j] = (1-p.BondPenalty)*W[i][j] + p.BondPenalty*c
			ep.ValidatorTrust[i] += c
		}
	}
	ep.Rank = colDot(S, clipped)
	ep.Incentive = normalized(ep.Rank)
	ep.Trust = make([]float64, m)
	for j := range m {
		if ep.Prerank[j] > 0 {
			ep.Trust[j] = ep.Rank[j] / ep.Prerank[j]
		}
	}
	// Bond delta: stake-weighted bond weights, each column normalized.
	delta := make([][]float64, n)
	for i := range n {
		delta[i] = make([]float64, m)
		for j := range m {
			delta[i][j] = S[i] * bondW[i][j]
		}
	}
	colNormalize(delta)
	ep.Bonds = make([][]float64, n)
	for i := range n {
		ep.Bonds[i] = make([]float64, m)
		for j := range m {
			b := p.BondAlpha * delta[i][j]
			if prev != nil {
				b += (1 - p.BondAlpha) * prev[i][j]
			}
			ep.Bonds[i][j] = b
		}
	}
	colNormalize(ep.Bonds)
	ep.Dividends = make([]float64, n)
	for i := range n {
		var d float64
		for j := range m {
			d += ep.Bonds[i][j] * ep.Incentive[j]
		}
		ep.Dividends[i] = d
	}
	ep.Dividends = normalized(ep.Dividends)
	return ep, nil
}

// WeightedMedian is the consensus of one item: the largest weight w such
// that the validators giving it at least w hold at least kappa of the
// stake (stake normalized to sum 1). With kappa = 0.5 it is the
// stake-weighted median, read from the top. A relative tolerance of 1e-12
// keeps a stake that sums to exactly kappa in exact arithmetic (three
// validators of 1/6) from missing it by a rounding error.
func WeightedMedian(stake, weights []float64, kappa float64) float64 {
	order := make([]int, len(weights))
	for i := range order {
		order[i] = i
	}
	// Descending by weight; equal weights in validator order, which
	// cannot change the result (equal weights read the same value).
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case weights[a] > weights[b]:
			return -1
		case weights[a] < weights[b]:
			return 1
		}
		return 0
	})
	var cum float64
	for _, i := range order {
		cum += stake[i]
		if cum >= kappa*(1-1e-12) {
			return weights[i]
		}
	}
	return 0
}

// SupportBound is the largest consensus that a coalition (members[i] true)
// could give an item, whatever weights it sets, when the other validators
// set others (weights of the item, stake normalized): the weight the
// others support with kappa minus the coalition's stake. With the
// coalition's stake at least kappa it is +Inf (the coalition decides
// alone). This is the clipping bound: an inflating minority moves the
// consensus at most from WeightedMedian to here, and no further.
func SupportBound(stake, weights []float64, members []bool, kappa float64) float64 {
	var coal float64
	for i, in := range members {
		if in {
			coal += stake[i]
		}
	}
	need := kappa - coal
	if need <= 0 {
		return math.Inf(1)
	}
	others := make([]float64, len(weights))
	st := make([]float64, len(weights))
	for i := range weights {
		if !members[i] {
			others[i], st[i] = weights[i], stake[i]
		}
	}
	return WeightedMedian(st, others, need)
}

func normalizeStake(stake []float64) ([]float64, error) {
	var sum float64
	for i, s := range stake {
		if !(s >= 0) || math.IsInf(s, 1) {
			return nil, fmt.Errorf("%w: stake of validator %d is %v", ErrInput, i, s)
		}
		sum += s
	}
	if sum == 0 {
		return nil, fmt.Errorf("%w: no stake", ErrInput)
	}
	out := make([]float64, len(stake))
	for i, s := range stake {
		out[i] = s / sum
	}
	return out, nil
}

// normalized is v scaled to sum 1, or zeros if it sums to 0.
func normalized(v []float64) []float64 {
	var sum float64
	for _, x := range v {
		sum += x
	}
	out := make([]float64, len(v))
	if sum > 0 {
		for i, x := range v {
			out[i] = x / sum
		}
	}
	return out
}

// colDot is Σ_i s_i·w_ij for every column j.
func colDot(s []float64, w [][]float64) []float64 {
	out := make([]float64, len(w[0]))
	for i, row := range w {
		for j, x := range row {
			out[j] += s[i] * x
		}
	}
	return out
}

// colNormalize scales every column of w to sum 1 (a zero column stays 0).
func colNormalize(w [][]float64) {
	if len(w) == 0 {
		return
	}
	for j := range w[0] {
		var sum float64
		for i := range w {
			sum += w[i][j]
		}
		if sum > 0 {
			for i := range w {
				w[i][j] /= sum
			}
		}
	}
}
