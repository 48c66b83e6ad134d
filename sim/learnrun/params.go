package learnrun

import (
	"errors"
	"fmt"
	"math"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/gpu/datasets"
	"github.com/dais-sim/dais/gpu/datasets/optdigits"
	"github.com/dais-sim/dais/gpu/models"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/learn"
	"github.com/dais-sim/dais/scenarios/netspec"
)

// AttackKind names a federated-learning attack, spelled as scenario
// adversary kinds are.
type AttackKind string

// Attacks.
const (
	// None: every provider is honest.
	None AttackKind = ""
	// LabelFlip: attacking providers train on their own rows with the
	// Source class relabelled as Target (Tolpegin et al. 2020).
	LabelFlip AttackKind = "label_flip"
	// SignFlip: attacking providers send −Scale times their honest delta.
	SignFlip AttackKind = "sign_flip"
	// Scaling: attacking providers send Scale times their honest delta.
	Scaling AttackKind = "scaling"
	// LittleIsEnough: attacking providers send mean − z·σ of the honest
	// updates (Baruch et al. 2019).
	LittleIsEnough AttackKind = "little_is_enough"
	// FreeRider: attacking providers train nothing and send a zero (or,
	// with Stale, the last global change) update, claiming their rows.
	FreeRider AttackKind = "free_rider"
	// Sybil: extra identities, beyond the providers, all training on one
	// shared poisoned shard (Attack.SybilData), so that they push the
	// same poison (the FoolsGold paper's threat model).
	Sybil AttackKind = "sybil"
)

// Sybil shards.
const (
	// SybilSample: a random sample of the providers' rows as large as one
	// provider's share, with the Source class relabelled as Target.
	// Sybils then pass for ordinary providers whose updates agree, which
	// is what distance-based rules (Krum) reward.
	SybilSample = "sample"
	// SybilSource: every Source-class row the providers hold, relabelled:
	// a pure poison whose updates are large and far from the honest ones,
	// which a mean cannot resist and Krum can.
	SybilSource = "source"
)

// AttackKinds lists the attacks, in report order.
var AttackKinds = []AttackKind{LabelFlip, SignFlip, Scaling, LittleIsEnough, FreeRider, Sybil}

// Attack says who attacks and how.
type Attack struct {
	Kind AttackKind
	// Share is the attackers' share of the learner identities: of the
	// providers, or for Sybil of providers plus Sybils (k Sybils beside
	// n providers make a share k/(n+k)). Count, if > 0, is the number of
	// attacking providers (Sybil identities) instead.
	Share float64
	Count int
	// Source and Target are the classes of label flipping and of the
	// attack success rate; both 0 means 1 → 7 (digits that look alike).
	Source, Target int
	// Scale is sign flipping's magnitude (0 means 4: 30% of learners
	// sending −4× their delta outweigh the other 70%, so a mean walks up
	// the loss) and scaling's factor (0 means 10).
	Scale float64
	// Z is little-is-enough's shift in standard deviations; 0 means
	// Baruch et al.'s z_max for the number of learners and attackers.
	Z float64
	// Stale makes free riders send the last global change.
	Stale bool
	// SybilData is the Sybils' shared shard: SybilSample (default) or
	// SybilSource.
	SybilData string
	// ColludingValidators is how many validators inflate the attackers'
	// scores (attack.InflateScores); it combines with any Kind.
	ColludingValidators int
	// LyingAggregators is how many members of the aggregator committee
	// report the round's step reversed (attack.LieAggregate with s = −1,
	// all the same lie); it combines with any Kind.
	LyingAggregators int
}

// Params describe one run. DefaultParams fills every field; the lead's
// scenario loader starts from it and overrides what a scenario names.
type Params struct {
	Seed uint64
	// Model is models.KindMLP or models.KindSoftmax; BatchSize,
	// LearningRate and Momentum are its local SGD settings.
	Model        string
	BatchSize    int
	LearningRate float64
	Momentum     float64
	// Rounds is how many rounds run; Epochs the local passes per round.
	Rounds, Epochs int
	// Providers hold the training rows, split by Partition.
	Providers int
	Partition datasets.Scheme
	// PerRound is how many learners train each round (0: all).
	PerRound int
	// Rule is a learn.NamedRule name; Tolerate the attacker share it is
	// sized for (Krum's f, trimmed mean's β).
	Rule     string
	Tolerate float64
	// Validators score every update on held-out rows: ValidationRows of
	// the training set, taken out before partitioning and dealt among
	// them. 0 validators turns scoring (and payouts) off; the rows are
	// held out all the same, so that providers hold the same data with
	// scoring on or off.
	Validators, ValidationRows int
	// Filter drops updates whose median score is below MinScore.
	Filter   bool
	MinScore float64
	// NormBound is τ of the validators' norm bound
	// (learn.ValidatorConfig.NormBound): an update whose norm exceeds τ
	// times the round's median non-zero norm is out of bound, scored −Inf
	// and paid nothing. 0 turns it off.
	NormBound float64
	// MarginalScores makes validators score an update by its marginal
	// contribution to the round's aggregate instead of on its own: the
	// validation loss of the clipped mean of the round's in-bound
	// updates without it, minus that with it (see scoreWork). Off, an
	// update is scored alone: the loss of the global model minus that
	// of global + its clipped share.
	MarginalScores bool
	// Pot is each round's training reward in base units; 0 means
	// Budget / Rounds.
	Pot uint64
	// Budget is the training job's budget in base units, escrowed on the
	// coordinator's ledger at the start (learn.ChainConfig); what the
	// rounds do not pay is refunded. 0 means Pot × Rounds.
	Budget uint64
	// Aggregators is the size of the aggregator committee (learn.Aggregator;
	// placed as validators are, on ServerLink and ServerGPU); 0 means the
	// coordinator aggregates, trusted.
	Aggregators int

	Attack Attack

	// Surrogate, if set, runs in surrogate mode: the protocol with
	// modeled training, accuracy from a fitted learning curve (see
	// Surrogate). Clean is ignored there (the clean curve is the fitted
	// one) and Baseline trains on the fit run's providers.
	Surrogate *Surrogate

	// Matrix is the region latency matrix (zero: netspec.DefaultMatrix);
	// ProviderLink and ServerLink the access links of providers and of
	// the coordinator and validators.
	Matrix                   netspec.Matrix
	ProviderLink, ServerLink netspec.Link
	// GPUs are the classes providers draw theirs from, uniformly, from
	// their placement streams; ServerGPU is the coordinator's and the
	// validators'.
	GPUs      []string
	ServerGPU string
	// Catalog resolves GPU class names; nil means the built-in catalog.
	// FromScenario sets the scenario's, with its measured hardware
	// profiles.
	Catalog *gpu.Catalog
	// RoundTimeout and ScoreTimeout: see learn.CoordinatorConfig.
	RoundTimeout, ScoreTimeout protocol.Duration

	// DP, if set, aggregates with DP-FedAvg (learn.DP) instead of Rule,
	// and the run also runs without the noise (same seed, Result.NoDP)
	// for the accuracy the privacy costs.
	DP *DP

	// Secure, if set, aggregates by secure aggregation (see Secure).
	Secure *Secure

	// Clean also runs the attack-free run with the same seed, for the
	// accuracy drop. Baseline also trains the model centrally on every
	// provider row for BaselineEpochs epochs.
	Clean          bool
	Baseline       bool
	BaselineEpochs int

	Trace bool
	// Sink, if not nil, also receives every event.
	Sink metrics.Sink
	// Progress, if not nil, is called after each round that commits, in
	// the attacked run and in the runs beside it (clean, without DP, the
	// surrogate's fit): ProgressRounds in all. It cannot change the run.
	Progress func()

	// Economy, if set, runs the data economy (economy.go): the registered
	// data sets are the learners' rows, and every round pays compute,
	// data and validation by measured value.
	Economy *EconomySpec
	econ    *economyRun // the run's economy, set by runEconomy
}

// DefaultParams is the configuration of the clean check: the MLP
// over 20 IID providers, 2 local epochs in batches of 10 per round, 20
// rounds, FedAvg, 3 validators on 300 held-out rows, over the measured
// inter-region matrix with 100 Mbit/s provider links.
func DefaultParams() Params {
	return Params{
		Seed:           1,
		Model:          models.KindMLP,
		BatchSize:      10,
		LearningRate:   0.1,
		Momentum:       0.9,
		Rounds:         20,
		Epochs:         2,
		Providers:      20,
		Partition:      datasets.Scheme{Kind: datasets.SchemeIID},
		Rule:           learn.RuleFedAvg,
		Tolerate:       0.3,
		Validators:     3,
		ValidationRows: 300,
		NormBound:      6,
		Pot:            1_000_000,
		ProviderLink:   netspec.Link{UpBps: 100e6, DownBps: 100e6},
		ServerLink:     netspec.Link{UpBps: 1e9, DownBps: 1e9},
		GPUs:           []string{"rtx3090", "rtx4090", "a100", "t4", "l40s"},
		ServerGPU:      "a100",
		RoundTimeout:   30 * protocol.Second,
		ScoreTimeout:   30 * protocol.Second,
		BaselineEpochs: 15,
	}
}

// ErrParams is wrapped by every error Validate returns.
var ErrParams = errors.New("learnrun: invalid parameters")

// Validate checks the parameters.
func (p *Params) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrParams, fmt.Sprintf(format, a...))
	}
	if err := p.spec().Validate(); err != nil {
		return bad("model: %v", err)
	}
	if _, err := learn.NamedRule(p.Rule, p.Tolerate); err != nil {
		return bad("%v", err)
	}
	if d := p.DP; d != nil {
		switch {
		case p.Rule != learn.RuleFedAvg:
			return bad("differential privacy is DP-FedAvg: aggregation %q, want %q (the guarantee is the mean's)", p.Rule, learn.RuleFedAvg)
		case !(d.Clip > 0) || math.IsInf(d.Clip, 1) || !(d.Sigma >= 0) || math.IsInf(d.Sigma, 1):
			return bad("dp clip %v, noise multiplier %v: want a clip > 0 and a noise multiplier >= 0", d.Clip, d.Sigma)
		case !(d.Delta > 0 && d.Delta < 1):
			return bad("dp delta %v, want (0, 1)", d.Delta)
		case p.Surrogate != nil:
			return bad("differential privacy in surrogate mode: the learning curve knows nothing of the noise")
		}
	}
	if err := p.validateSecure(); err != nil {
		return err
	}
	a := p.Attack
	switch {
	case p.Rounds < 1 || p.Epochs < 1:
		return bad("%d rounds of %d epochs, want >= 1 of each", p.Rounds, p.Epochs)
	case p.Providers < 1:
		return bad("%d providers", p.Providers)
	case p.PerRound < 0:
		return bad("%d learners per round", p.PerRound)
	case p.Validators < 0 || p.ValidationRows < 0:
		return bad("%d validators on %d rows", p.Validators, p.ValidationRows)
	case p.NormBound != 0 && !(p.NormBound >= 1 && !math.IsInf(p.NormBound, 1)):
		return bad("norm bound %v, want 0 (off) or a finite number >= 1", p.NormBound)
	case p.Validators > 0 && p.ValidationRows < p.Validators:
		return bad("%d validation rows for %d validators", p.ValidationRows, p.Validators)
	case p.Surrogate == nil && p.ValidationRows > optdigits.TrainRows-p.Providers:
		return bad("%d validation rows leave fewer than one row per provider of %d (optdigits has %d training rows; more learners need surrogate mode)",
			p.ValidationRows, p.Providers, optdigits.TrainRows)
	case p.Surrogate != nil && (p.Surrogate.FitProviders < 1 || p.Surrogate.FitRounds < 3 || p.Surrogate.Rows < 0):
		return bad("surrogate fit of %d providers × %d rounds (want >= 1 × 3), %d rows", p.Surrogate.FitProviders, p.Surrogate.FitRounds, p.Surrogate.Rows)
	case p.Surrogate != nil && a.Kind == Sybil:
		return bad("the surrogate has no model of Sybil identities")
	case p.RoundTimeout <= 0 || p.ScoreTimeout <= 0:
		return bad("timeouts must be > 0")
	case len(p.GPUs) == 0:
		return bad("no provider GPU classes")
	case p.Baseline && p.BaselineEpochs < 1:
		return bad("baseline of %d epochs", p.BaselineEpochs)
	case !(a.Share >= 0 && a.Share < 1) || a.Count < 0:
		return bad("attacker share %v, count %d", a.Share, a.Count)
	case p.Pot == 0 && p.Budget == 0:
		return bad("a training job needs a budget or a pot")
	case p.Budget > 0 && p.Pot > p.Budget/uint64(p.Rounds):
		return bad("a pot of %d base units over %d rounds exceeds the budget of %d", p.Pot, p.Rounds, p.Budget)
	case p.Budget == 0 && p.Pot > math.MaxUint64/uint64(p.Rounds):
		return bad("a pot of %d base units over %d rounds overflows", p.Pot, p.Rounds)
	case a.ColludingValidators < 0 || a.ColludingValidators > p.Validators:
		return bad("%d colluding validators of %d", a.ColludingValidators, p.Validators)
	case p.Aggregators < 0 || a.LyingAggregators < 0 || a.LyingAggregators > p.Aggregators:
		return bad("%d lying aggregators of %d", a.LyingAggregators, p.Aggregators)
	case a.Source < 0 || a.Source >= 10 || a.Target < 0 || a.Target >= 10:
		return bad("classes %d → %d outside [0, 10)", a.Source, a.Target)
	case math.IsNaN(a.Scale) || math.IsNaN(a.Z):
		return bad("NaN attack parameter")
	case a.SybilData != "" && a.SybilData != SybilSample && a.SybilData != SybilSource:
		return bad("Sybil data %q, want %q or %q", a.SybilData, SybilSample, SybilSource)
	}
	switch a.Kind {
	case None, LabelFlip, SignFlip, Scaling, LittleIsEnough, FreeRider, Sybil:
	default:
		return bad("unknown attack %q", a.Kind)
	}
	if a.Kind != Sybil && a.Kind != None && p.attackers() > p.Providers {
		return bad("%d attackers among %d providers", p.attackers(), p.Providers)
	}
	for _, g := range append([]string{p.ServerGPU}, p.GPUs...) {
		if _, ok := p.Catalog.Lookup(g); !ok {
			return bad("unknown GPU class %q", g)
		}
	}
	if p.Matrix.Regions != nil {
		if err := p.Matrix.Validate(); err != nil {
			return bad("%v", err)
		}
	}
	if p.Economy != nil {
		if err := p.Economy.validate(p); err != nil {
			return bad("economy: %v", err)
		}
	}
	return nil
}

func (p *Params) spec() models.Spec {
	s := models.Optdigits(p.Model)
	s.BatchSize, s.LearningRate, s.Momentum = p.BatchSize, p.LearningRate, p.Momentum
	return s
}

// budget is the training job's budget in base units.
func (p *Params) budget() uint64 {
	if p.Budget > 0 {
		return p.Budget
	}
	return p.Pot * uint64(p.Rounds)
}

// attackers is the number of attacking identities: providers, or Sybils.
// ProgressRounds is how many times a run calls Progress: the rounds of
// every run it makes, each with its round 0 (the initial model).
func (p *Params) ProgressRounds() int {
	n := p.Rounds + 1
	if p.Clean {
		n += p.Rounds + 1
	}
	if p.DP != nil {
		n += p.Rounds + 1
	}
	if p.Surrogate != nil && p.Surrogate.Curve == nil {
		n += p.Surrogate.FitRounds + 1
	}
	return n
}

func (p *Params) attackers() int {
	a := p.Attack
	switch {
	case a.Kind == None:
		return 0
	case a.Count > 0:
		return a.Count
	case a.Kind == Sybil:
		// k/(n+k) = share  ⇒  k = share·n/(1−share)
		return int(math.Round(a.Share * float64(p.Providers) / (1 - a.Share)))
	}
	return int(math.Round(a.Share * float64(p.Providers)))
}

// classes returns the attack's source and target classes.
func (a Attack) classes() (src, dst int) {
	if a.Source == 0 && a.Target == 0 {
		return 1, 7
	}
	return a.Source, a.Target
}

// DP configures differential privacy (Params.DP): DP-FedAvg's clip and
// noise multiplier, and the δ of the (ε, δ) guarantee reported.
type DP struct {
	Clip, Sigma, Delta float64
}

// rule is the round's aggregation rule: DP-FedAvg when DP is set, with
// noise seeded from the run's seed, else the named rule.
func (p *Params) rule() (learn.RuleFunc, error) {
	if d := p.DP; d != nil {
		r := learn.DP{Clip: d.Clip, Sigma: d.Sigma, Seed: protocol.DeriveSeed(p.Seed, "dp-noise", 0)}
		return func(int) learn.Rule { return r }, nil
	}
	return learn.NamedRule(p.Rule, p.Tolerate)
}
