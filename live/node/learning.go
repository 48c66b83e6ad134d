package node

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dais-sim/dais/gpu/datasets"
	"github.com/dais-sim/dais/gpu/models"
	"github.com/dais-sim/dais/live/api"
	"github.com/dais-sim/dais/live/store"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/consensus/bft"
	"github.com/dais-sim/dais/protocol/learn"
	"github.com/dais-sim/dais/protocol/wire"
	"github.com/dais-sim/dais/sim/learnrun"
)

// LearningSpec is the federated training job a network runs beside its
// chain (Network.Learning): protocol/learn's coordinator, learners and
// validators, each on the node named, over optdigits split as the
// simulator splits it (sim/learnrun), with real training on every
// learner. The coordinator pays each round's pot on the network's chain:
// a signed Payout transaction from its own account, split by the
// validators' scores (learn.Payouts).
type LearningSpec struct {
	// Model is mlp (default) or softmax.
	Model string `json:"model,omitempty" yaml:"model,omitempty"`
	// Rounds is how many rounds the job runs; LocalEpochs the passes
	// each learner makes over its rows per round (0 means 1).
	Rounds      int `json:"rounds" yaml:"rounds"`
	LocalEpochs int `json:"local_epochs,omitempty" yaml:"local_epochs,omitempty"`
	// Partition spreads the training rows over the learners: iid
	// (default), dirichlet (with Alpha) or one-class.
	Partition string  `json:"partition,omitempty" yaml:"partition,omitempty"`
	Alpha     float64 `json:"alpha,omitempty" yaml:"alpha,omitempty"`
	// Coordinator runs the rounds and pays; Learners train; Validators
	// score updates on held-out rows (ValidationRows of the training set,
	// 0 meaning 300). A node may play several roles.
	Coordinator    protocol.NodeID   `json:"coordinator" yaml:"coordinator"`
	Learners       []protocol.NodeID `json:"learners" yaml:"learners"`
	Validators     []protocol.NodeID `json:"validators,omitempty" yaml:"validators,omitempty"`
	ValidationRows int               `json:"validation_rows,omitempty" yaml:"validation_rows,omitempty"`
	// Aggregation is a learn.NamedRule name (default fedavg); Tolerate
	// the attacker share the robust rules are sized for (0: learnrun's
	// default).
	Aggregation string  `json:"aggregation,omitempty" yaml:"aggregation,omitempty"`
	Tolerate    float64 `json:"tolerate,omitempty" yaml:"tolerate,omitempty"`
	// BatchSize and LearningRate of local training (0: learnrun's
	// defaults); PerRound learners are drawn to train each round (0: all);
	// Filter drops updates whose median validator score is negative.
	BatchSize    int     `json:"batch_size,omitempty" yaml:"batch_size,omitempty"`
	LearningRate float64 `json:"learning_rate,omitempty" yaml:"learning_rate,omitempty"`
	PerRound     int     `json:"per_round,omitempty" yaml:"per_round,omitempty"`
	Filter       bool    `json:"filter,omitempty" yaml:"filter,omitempty"`
	// Pot is each round's training reward in base units, paid from the
	// coordinator's balance; 0 pays nothing.
	Pot uint64 `json:"pot,omitempty" yaml:"pot,omitempty"`
	// InferencePrice is what one inference on a committed model version
	// costs through the user API (live/api), in base units paid to the
	// coordinator, which holds the versions and answers; 0 makes them
	// open.
	InferencePrice uint64 `json:"inference_price,omitempty" yaml:"inference_price,omitempty"`
	// RoundTimeout and ScoreTimeout bound the waits for updates and scores
	// (0: 10 s each); RoundGap is the pause between rounds (0: 1 s).
	RoundTimeout Duration `json:"round_timeout,omitempty" yaml:"round_timeout,omitempty"`
	ScoreTimeout Duration `json:"score_timeout,omitempty" yaml:"score_timeout,omitempty"`
	RoundGap     Duration `json:"round_gap,omitempty" yaml:"round_gap,omitempty"`
	// StartHeight is the chain height the coordinator waits for before
	// round 1, so that the nodes are up and connected (0 means 2).
	StartHeight uint64 `json:"start_height,omitempty" yaml:"start_height,omitempty"`
	// SecureAggregation, if set, aggregates by secure aggregation
	// (protocol/secagg): the coordinator sees only each round's sum;
	// learners draw their keys from crypto/rand.
	SecureAggregation *SecureAggregationSpec `json:"secure_aggregation,omitempty" yaml:"secure_aggregation,omitempty"`
}

// SecureAggregationSpec configures a live job's secure aggregation (see
// learnrun.Secure): Threshold is t as a share of the learners (0 means
// 0.67), FracBits the fixed point (0 means 24), StepTimeout the wait for
// keys, shares and unmasking shares (0 means 2 s).
type SecureAggregationSpec struct {
	Threshold   float64  `json:"threshold,omitempty" yaml:"threshold,omitempty"`
	FracBits    int      `json:"frac_bits,omitempty" yaml:"frac_bits,omitempty"`
	StepTimeout Duration `json:"step_timeout,omitempty" yaml:"step_timeout,omitempty"`
}

// DefaultLearning is the job dais testnet up --learning runs on n nodes:
// node 0 coordinates and scores, the others learn, the MLP for 8 rounds
// of one local epoch, IID, FedAvg, 10 tokens a round.
func DefaultLearning(n int) *LearningSpec {
	l := &LearningSpec{Model: models.KindMLP, Rounds: 8, LocalEpochs: 1, Partition: datasets.SchemeIID,
		Coordinator: 0, Validators: []protocol.NodeID{0}, Aggregation: learn.RuleFedAvg, Pot: 10 * chain.Token}
	for i := 1; i < n; i++ {
		l.Learners = append(l.Learners, protocol.NodeID(i))
	}
	return l
}

// Params maps the spec onto the simulator's parameters, so that a live job
// and a simulated one with the same seed split the same rows, start from
// the same model and train with the same settings.
func (l *LearningSpec) Params(seed uint64) learnrun.Params {
	p := learnrun.DefaultParams()
	p.Seed = seed
	if l.Model != "" {
		p.Model = l.Model
	}
	p.Rounds, p.Epochs = l.Rounds, max(l.LocalEpochs, 1)
	p.Providers, p.Validators = len(l.Learners), len(l.Validators)
	if l.Partition != "" {
		p.Partition = datasets.Scheme{Kind: l.Partition, Alpha: l.Alpha}
	}
	if l.ValidationRows > 0 {
		p.ValidationRows = l.ValidationRows
	}
	if l.Aggregation != "" {
		p.Rule = l.Aggregation
	}
	if l.Tolerate > 0 {
		p.Tolerate = l.Tolerate
	}
	if l.BatchSize > 0 {
		p.BatchSize = l.BatchSize
	}
	if l.LearningRate > 0 {
		p.LearningRate = l.LearningRate
	}
	p.PerRound, p.Filter = l.PerRound, l.Filter
	p.Pot = l.Pot
	p.RoundTimeout = pick(l.RoundTimeout, 10*time.Second)
	p.ScoreTimeout = pick(l.ScoreTimeout, 10*time.Second)
	if s := l.SecureAggregation; s != nil {
		p.Secure = &learnrun.Secure{Threshold: s.Threshold, FracBits: s.FracBits, StepTimeout: pick(s.StepTimeout, 2*time.Second)}
		if p.Secure.Threshold == 0 {
			p.Secure.Threshold = 0.67
		}
		if p.Secure.FracBits == 0 {
			p.Secure.FracBits = 24
		}
	}
	return p
}

func pick(d Duration, def time.Duration) protocol.Duration {
	if d <= 0 {
		return protocol.Duration(def)
	}
	return protocol.Duration(d)
}

// validate checks the spec against the network's nodes; errors name the
// key.
func (l *LearningSpec) validate(n *Network) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: learning."+format, append([]any{ErrConfig}, a...)...)
	}
	known := func(key string, ids ...protocol.NodeID) error {
		for i, id := range ids {
			if int(id) >= len(n.Nodes) {
				return bad("%s[%d]: node %d is not in the network (nodes 0…%d)", key, i, id, len(n.Nodes)-1)
			}
		}
		return nil
	}
	if err := known("coordinator", l.Coordinator); err != nil {
		return err
	}
	if len(l.Learners) == 0 {
		return bad("learners: none")
	}
	for _, list := range []struct {
		key string
		ids []protocol.NodeID
	}{{"learners", l.Learners}, {"validators", l.Validators}} {
		key, ids := list.key, list.ids
		if err := known(key, ids...); err != nil {
			return err
		}
		if !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
			return bad("%s %v: list each node once, ascending", key, ids)
		}
	}
	switch l.Partition {
	case "", datasets.SchemeIID, datasets.SchemeOneClass:
	case datasets.SchemeDirichlet:
		if !(l.Alpha > 0) || math.IsInf(l.Alpha, 0) {
			return bad("alpha %v: the dirichlet partition needs alpha > 0", l.Alpha)
		}
	default:
		return bad("partition %q: want %s, %s or %s", l.Partition, datasets.SchemeIID, datasets.SchemeDirichlet, datasets.SchemeOneClass)
	}
	if l.Pot > 0 && len(l.Validators) == 0 && l.SecureAggregation == nil {
		return bad("pot %d: payouts follow validator scores, so a pot needs validators", l.Pot)
	}
	p := l.Params(n.Seed)
	if err := p.Validate(); err != nil {
		return bad("%v", err)
	}
	return nil
}

// Names of the learn roles, for /status.
const (
	LearnCoordinator = "coordinator"
	LearnLearner     = "learner"
	LearnValidator   = "validator"
)

// LearningStatus is a node's view of the federated job, in /status.
type LearningStatus struct {
	Roles []string `json:"roles"`
	// Round is the last round the coordinator committed, or the last a
	// learner trained for; Version the model version it holds.
	Round   uint64 `json:"round"`
	Version string `json:"version,omitempty"`
	// TestAccuracy is the committed model's share of the optdigits test
	// rows classified correctly (the coordinator measures it).
	TestAccuracy *float64 `json:"test_accuracy,omitempty"`
	// Done is set when the coordinator has committed the last round.
	Done bool `json:"done,omitempty"`
	// Trained counts a learner's training jobs since it started.
	Trained int `json:"trained,omitempty"`
	// Payouts counts the coordinator's payout transactions in the blocks
	// this node stored, Paid what they paid learners in base units and
	// Earned what they credited to this node. All three are read from the
	// stored chain, so they survive a restart.
	Payouts int    `json:"payouts"`
	Paid    uint64 `json:"paid"`
	Earned  uint64 `json:"earned"`
	// Submitted counts the payouts the coordinator signed since it
	// started.
	Submitted int `json:"submitted,omitempty"`
	// Balance is this node's account balance on its own ledger.
	Balance uint64 `json:"balance"`
	// With secure aggregation: a learner's last step (learn.Secure*) and
	// the round it was in; the coordinator's rounds unmasked and failed,
	// and the learners that dropped out after sharing (before masking or
	// before unmasking) in rounds that still unmasked.
	SecureRound    uint64 `json:"secure_round,omitempty"`
	SecureStep     string `json:"secure_step,omitempty"`
	SecureUnmasked int    `json:"secure_unmasked,omitempty"`
	SecureFailed   int    `json:"secure_failed,omitempty"`
	SecureSurvived int    `json:"secure_dropouts_survived,omitempty"`
}

// Where the coordinator keeps, in the store, its last committed model and
// the nonce of its next payout (so that a restarted coordinator does not
// sign a second transaction with the nonce of one still in flight).
const (
	checkpointKey = "learn/checkpoint"
	nonceKey      = "learn/payout-nonce"
)

// scanEvery is how often a learning node reads the blocks its node has
// stored since the last look, for the coordinator's payouts.
const scanEvery = 500 * protocol.Millisecond

// Metric names of the federated job.
const (
	MetricLearnRound    = "dais_learn_round"
	MetricLearnAccuracy = "dais_learn_test_accuracy"
	MetricLearnUpdates  = "dais_learn_updates_accepted_total"
	MetricLearnRejected = "dais_learn_updates_rejected_total"
	MetricLearnTrained  = "dais_learn_trainings_total"
	MetricLearnTrain    = "dais_learn_train_seconds"
	MetricLearnPayouts  = "dais_learn_payouts_submitted_total"
	MetricLearnPaid     = "dais_learn_paid_base_units_total"
	MetricLearnEarned   = "dais_learn_earned_base_units_total"
)

func init() { registerService(buildLearning) }

// buildLearning is the learning service of a node that plays a role in
// its network's job: an App for each role it plays, in the order
// coordinator, learner, validator (so that on a node that coordinates and
// scores, the coordinator takes an update before the validator does),
// each watched by learnApp.observe, and an App that reads the stored
// blocks for payouts (learnApp.Handle). Roles of one node talk through
// the node's own inbox, as the mux routes (apps.go).
func buildLearning(ctx ServiceContext) (*Service, error) {
	spec := ctx.Network.Learning
	if spec == nil {
		return nil, nil
	}
	a, err := newLearnApp(spec, ctx)
	if err != nil || a == nil {
		return nil, err
	}
	start := spec.StartHeight
	if start == 0 {
		start = 2
	}
	ready := func() bool { return ctx.Height() >= start }
	apps := []App{{Name: "learning.payouts", Node: a, Ready: ready}}
	for _, r := range a.roles {
		r.Ready, r.Observe = ready, a.observe
		apps = append(apps, r)
	}
	return &Service{
		Name:       "learning",
		Apps:       apps,
		Sends:      append(kindRange(wire.KindModel, wire.KindCandidate), kindRange(wire.KindSecAggKeys, wire.KindSecAggUnmask)...),
		Collectors: a.m.collectors(),
		Status:     func(st *Status) { st.Learning = a.status() },
	}, nil
}

// learnApp is one node's part in the federated job: the roles it plays
// (a node may play several, each an App), the payouts it signs as
// coordinator, and what it reports. As a protocol.Node it reads the
// stored blocks for payouts every scanEvery. Everything but st runs on
// the node goroutine.
type learnApp struct {
	spec   *LearningSpec
	net    *Network
	self   protocol.NodeID
	fed    *learnrun.Federation
	ledger *chain.Ledger
	store  *store.Store
	log    *slog.Logger

	roles []App
	// onModel registers a committed version with the node's user API.
	onModel func(api.ModelVersion, models.Spec, []float64)

	key        ed25519.PrivateKey // the coordinator's account key
	coordAddr  chain.Address
	selfAddr   chain.Address
	learners   map[chain.Address]bool
	validators []protocol.NodeID // the network's BFT validators
	credits    []chain.Credit    // the round's payouts, until it commits
	nonce      uint64            // next payout nonce
	nonceSeen  uint64
	nonceSince protocol.Time
	scanned    uint64 // the store height read for payouts

	m learnMetrics

	mu sync.Mutex
	st LearningStatus
}

// newLearnApp builds the roles ctx's node plays (nil if none). A
// coordinator resumes from the checkpoint in the node's store, if any.
func newLearnApp(spec *LearningSpec, ctx ServiceContext) (*learnApp, error) {
	netw, self := ctx.Network, ctx.ID
	p := spec.Params(netw.Seed)
	a := &learnApp{spec: spec, net: netw, self: self, ledger: ctx.Ledger, store: ctx.Store, log: ctx.Log,
		learners: map[chain.Address]bool{}, validators: netw.Validators()}
	a.coordAddr = netw.AccountOf(spec.Coordinator)
	a.selfAddr = netw.AccountOf(self)
	for _, id := range spec.Learners {
		a.learners[netw.AccountOf(id)] = true
	}
	_, learner := slices.BinarySearch(spec.Learners, self)
	_, validator := slices.BinarySearch(spec.Validators, self)
	if self != spec.Coordinator && !learner && !validator {
		return nil, nil
	}
	fed, err := learnrun.NewFederation(&p)
	if err != nil {
		return nil, fmt.Errorf("%w: learning: %w", ErrConfig, err)
	}
	a.fed = fed
	if self == spec.Coordinator {
		cfg := learn.CoordinatorConfig{Learners: spec.Learners, Validators: spec.Validators, Rounds: uint64(p.Rounds),
			Initial: fed.Initial(), Rule: fed.Rule(), RoundTimeout: p.RoundTimeout, ScoreTimeout: p.ScoreTimeout,
			Pot: p.Pot, RoundGap: pick(spec.RoundGap, time.Second), PerRound: p.PerRound, Filter: p.Filter, MinScore: p.MinScore,
			Secure: fed.SecureCoordinator()}
		if cfg.Resume, err = loadCheckpoint(ctx.Store); err != nil {
			return nil, err
		}
		if r := cfg.Resume; r != nil && len(r.Params) != len(cfg.Initial) {
			return nil, fmt.Errorf("%w: learning: the stored checkpoint has %d parameters, the %s model %d (the job changed; remove the data dir to start it afresh)",
				ErrConfig, len(r.Params), p.Model, len(cfg.Initial))
		}
		if cfg.Resume != nil {
			ctx.Log.Info("learning: resuming from the stored checkpoint", "round", cfg.Resume.Round, "version", cfg.Resume.Version.String())
		}
		a.key = ctx.AccountKey
		a.onModel = ctx.ModelCommitted
		if r := cfg.Resume; r != nil {
			a.register(r.Round, r.Version, r.Parent, r.Params)
		}
		if b, err := ctx.Store.Meta(nonceKey); err == nil && len(b) == 8 {
			a.nonce = binary.BigEndian.Uint64(b)
		}
		a.roles = append(a.roles, App{Name: "learning." + LearnCoordinator, Node: learn.NewCoordinator(cfg),
			Kinds: []wire.Kind{wire.KindUpdate, wire.KindScores,
				wire.KindSecAggKeys, wire.KindSecAggShares, wire.KindSecAggMasked, wire.KindSecAggUnmask}})
	}
	if learner {
		i, _ := slices.BinarySearch(spec.Learners, self)
		train, rows := fed.Train(i)
		// A validator on the coordinator's node gets the coordinator's copy
		// of each update, so it is not sent twice.
		vals := slices.DeleteFunc(slices.Clone(spec.Validators), func(v protocol.NodeID) bool { return v == spec.Coordinator })
		sec := fed.SecureLearner()
		if sec != nil {
			sec.Entropy = rand.Reader // live keys and seeds must be unpredictable
		}
		a.roles = append(a.roles, App{Name: "learning." + LearnLearner, Node: learn.NewLearner(learn.LearnerConfig{
			Coordinator: spec.Coordinator, Validators: vals, Samples: rows, Train: train, Secure: sec}),
			Kinds: []wire.Kind{wire.KindModel, wire.KindSecAggKeyList, wire.KindSecAggSharesFor, wire.KindSecAggSurvivors}})
	}
	if validator {
		j, _ := slices.BinarySearch(spec.Validators, self)
		a.roles = append(a.roles, App{Name: "learning." + LearnValidator, Node: learn.NewValidator(learn.ValidatorConfig{
			Coordinator: spec.Coordinator, Score: fed.Score(j), NormBound: p.NormBound}), Kinds: []wire.Kind{wire.KindModel, wire.KindUpdate, wire.KindScoreRequest}})
	}
	for _, r := range a.roles {
		a.st.Roles = append(a.st.Roles, strings.TrimPrefix(r.Name, "learning."))
	}
	a.m = newLearnMetrics()
	return a, nil
}

// loadCheckpoint reads the coordinator's last committed model, if any.
func loadCheckpoint(st *store.Store) (*learn.Checkpoint, error) {
	b, err := st.Meta(checkpointKey)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m, err := wire.Decode(b)
	mod, ok := m.(*learn.Model)
	if err != nil || !ok || learn.VersionOf(mod.Parent, mod.Params) != mod.Version {
		return nil, fmt.Errorf("node: the store's learning checkpoint is unreadable (%v); remove the data dir to start the job afresh", err)
	}
	return &learn.Checkpoint{Round: mod.Round, Version: mod.Version, Parent: mod.Parent, Params: mod.Params}, nil
}

// Handle implements protocol.Node: every scanEvery it reads the blocks
// stored since for payouts, and publishes the node's balance.
func (a *learnApp) Handle(env protocol.Env, in protocol.Input) {
	switch in.(type) {
	case protocol.Start, protocol.TimerFired:
		a.scanPayouts()
		env.SetTimer(scanEvery, 0)
	default:
		return
	}
	b := a.ledger.Account(a.selfAddr).Balance
	a.mu.Lock()
	a.st.Balance = b
	a.mu.Unlock()
}

// observe sees the events of this node's roles.
func (a *learnApp) observe(env protocol.Env, ev metrics.Event) {
	switch e := ev.(type) {
	case learn.Committed:
		a.committed(env, e)
	case learn.Scored:
		if e.Payout > 0 {
			a.credits = append(a.credits, chain.Credit{To: a.net.AccountOf(e.Learner), Amount: e.Payout})
		}
	case learn.SecureWork:
		switch e.Step {
		case learn.SecureKeys, learn.SecureShared, learn.SecureReceived, learn.SecureMasked, learn.SecureUnmasked:
			a.mu.Lock()
			a.st.SecureRound, a.st.SecureStep = e.Round, e.Step
			a.mu.Unlock()
		}
	case learn.SecureRound:
		a.mu.Lock()
		if e.Failed == "" {
			a.st.SecureUnmasked++
			a.st.SecureSurvived += e.Shared - e.Unmasked
		} else {
			a.st.SecureFailed++
		}
		a.mu.Unlock()
		a.log.Info("learning: secure aggregation", "round", e.Round, "selected", e.Selected, "threshold", e.Threshold,
			"keys", e.Keys, "shared", e.Shared, "masked", e.Masked, "unmasked", e.Unmasked, "failed", e.Failed)
	case learn.Rejected:
		a.m.rejected.WithLabelValues(e.Reason).Inc()
	case learn.Trained:
		a.m.trained.Inc()
		a.m.train.Observe(time.Duration(e.DurationNs).Seconds())
		a.m.round.Set(float64(e.Round))
		a.mu.Lock()
		a.st.Trained++
		a.st.Round = max(a.st.Round, e.Round)
		a.mu.Unlock()
		if e.Err != "" {
			a.log.Warn("learning: training failed", "round", e.Round, "err", e.Err)
		}
	}
}

// committed pays the round, checkpoints the coordinator's new model and
// its next payout nonce (before the payout and the next round's
// announcement leave the node: sends leave after the input), and measures
// the model.
func (a *learnApp) committed(env protocol.Env, e learn.Committed) {
	if len(a.credits) > 0 {
		a.pay(env, e.Round, a.credits)
	}
	a.credits = nil
	cp := wire.Encode(&learn.Model{Round: e.Round, Version: e.Version, Parent: e.Parent, Params: e.Params})
	if err := a.store.PutMeta(checkpointKey, cp); err != nil {
		a.log.Error("learning: checkpointing the model", "round", e.Round, "err", err)
	}
	if err := a.store.PutMeta(nonceKey, binary.BigEndian.AppendUint64(nil, a.nonce)); err != nil {
		a.log.Error("learning: recording the payout nonce", "round", e.Round, "err", err)
	}
	acc := a.register(e.Round, e.Version, e.Parent, e.Params)
	env.Emit(LearnMeasured{Round: e.Round, Accuracy: acc})
	a.m.round.Set(float64(e.Round))
	a.m.accuracy.Set(acc)
	a.m.updates.Add(float64(e.Accepted))
	a.mu.Lock()
	a.st.Round, a.st.Version, a.st.TestAccuracy, a.st.Done = e.Round, e.Version.String(), &acc, e.Final
	a.mu.Unlock()
	a.log.Info("learning round committed", "round", e.Round, "version", e.Version.String(), "updates", e.Updates,
		"accepted", e.Accepted, "skipped", e.Skipped, "test_accuracy", fmt.Sprintf("%.4f", acc), "final", e.Final)
}

// register measures a committed version and offers it to the user API's
// inference; it returns the version's test accuracy.
func (a *learnApp) register(round uint64, version, parent learn.Hash, params []float64) float64 {
	acc := a.fed.Accuracy(params)
	if a.onModel == nil {
		return acc
	}
	spec := a.fed.Spec()
	a.onModel(api.ModelVersion{Hash: version, Parent: parent, Round: uint32(round), TestAccuracy: acc,
		Price: a.spec.InferencePrice, Provider: a.coordAddr, Model: a.spec.Params(a.net.Seed).Model, Inputs: uint32(spec.Inputs)}, spec, params)
	return acc
}

// pay signs a Payout of the round's credits from the coordinator's
// account, adds it to its own node's mempool and sends it to every other
// validator, as a wallet would. A payout lost before it commits (refused,
// or the coordinator crashed) is not sent again; after 30 s without
// progress the nonces are renumbered from the committed one.
func (a *learnApp) pay(env protocol.Env, round uint64, credits []chain.Credit) {
	now := env.Now()
	committed := a.ledger.Account(a.coordAddr).Nonce
	if committed != a.nonceSeen || a.nonce <= committed {
		a.nonceSeen, a.nonceSince = committed, now
	}
	if a.nonce > committed && now.Sub(a.nonceSince) > 30*protocol.Second {
		a.log.Warn("learning: payouts pending for 30 s; renumbering from the committed nonce", "committed", committed, "next", a.nonce)
		a.nonce = committed
	}
	a.nonce = max(a.nonce, committed)
	params := chain.DefaultParams() // the node's ledger's (buildProtocol)
	probe := chain.Sign(a.key, chain.NewPayout(a.nonce, math.MaxUint64, credits))
	fee := params.Gas.Gas(chain.TxPayout, len(probe.Encoded())) * params.MinGasPrice
	tx := chain.Sign(a.key, chain.NewPayout(a.nonce, fee, credits))
	a.nonce++
	a.m.submissions.Inc()
	a.mu.Lock()
	a.st.Submitted++
	a.mu.Unlock()
	var total uint64
	for _, c := range credits {
		total += c.Amount
	}
	a.log.Info("learning: payout submitted", "round", round, "nonce", tx.Nonce, "learners", len(credits), "amount", total, "fee", fee)
	if _, ev := a.ledger.ReceiveTx(tx); ev != nil {
		env.Emit(ev)
	}
	for _, v := range a.validators {
		if v != a.self {
			env.Send(v, tx)
		}
	}
}

// scanPayouts reads the blocks stored since the last scan (the whole
// chain after a restart) for the coordinator's payouts: what they paid
// learners, and what they credited to this node.
func (a *learnApp) scanPayouts() {
	top := a.store.Height()
	if top <= a.scanned {
		return
	}
	var paid, earned uint64
	var payouts int
	err := a.store.Range(a.scanned+1, top, func(h uint64, rec []byte) error {
		m, err := wire.Decode(bytes.Clone(rec))
		if err != nil {
			return err
		}
		c, ok := m.(*bft.Commit)
		if !ok {
			return fmt.Errorf("height %d holds a %s", h, wire.Name(m.Kind()))
		}
		b, err := chain.DecodeBlock(c.Block)
		if err != nil {
			return err
		}
		for _, tx := range b.Txs {
			if tx.Type != chain.TxPayout || tx.From() != a.coordAddr {
				continue
			}
			p, _ := tx.Body().(chain.Payout)
			payouts++
			a.log.Debug("learning: payout committed", "height", h, "nonce", tx.Nonce, "credits", len(p.Pay))
			for _, cr := range p.Pay {
				if a.learners[cr.To] {
					paid += cr.Amount
				}
				if cr.To == a.selfAddr {
					earned += cr.Amount
				}
			}
		}
		return nil
	})
	if err != nil {
		a.log.Warn("learning: reading stored blocks for payouts", "err", err)
		return
	}
	a.scanned = top
	a.m.paid.Add(float64(paid))
	a.m.earned.Add(float64(earned))
	a.mu.Lock()
	a.st.Earned += earned
	a.st.Paid += paid
	a.st.Payouts += payouts
	a.mu.Unlock()
}

// status returns a copy of the node's learning status.
func (a *learnApp) status() *LearningStatus {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.st
	st.Roles = slices.Clone(st.Roles)
	return &st
}

type learnMetrics struct {
	round, accuracy                             prometheus.Gauge
	updates, trained, paid, earned, submissions prometheus.Counter
	rejected                                    *prometheus.CounterVec
	train                                       prometheus.Histogram
}

func newLearnMetrics() learnMetrics {
	g := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	}
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	m := learnMetrics{
		round:    g(MetricLearnRound, "Last federated round the coordinator committed, or this learner trained for."),
		accuracy: g(MetricLearnAccuracy, "Share of the optdigits test rows the coordinator's last committed model classifies correctly."),
		updates:  c(MetricLearnUpdates, "Learners' updates the coordinator aggregated."),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricLearnRejected,
			Help: "Learners' updates the coordinator refused, by reason."}, []string{"reason"}),
		trained: c(MetricLearnTrained, "Local training jobs this learner finished."),
		train: prometheus.NewHistogram(prometheus.HistogramOpts{Name: MetricLearnTrain, Help: "Wall time of one local training job.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}),
		submissions: c(MetricLearnPayouts, "Payout transactions the coordinator signed and submitted."),
		paid:        c(MetricLearnPaid, "Base units the coordinator's payouts paid learners, in the blocks this node stored (read again after a restart)."),
		earned:      c(MetricLearnEarned, "Base units the coordinator's payouts credited to this node, in the blocks it stored (read again after a restart)."),
	}
	m.accuracy.Set(math.NaN())
	return m
}

func (m learnMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.round, m.accuracy, m.updates, m.rejected, m.trained, m.train, m.submissions, m.paid, m.earned}
}
