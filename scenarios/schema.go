package scenarios

import (
	"fmt"
	"strings"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/scenarios/netspec"
)

// Scenario is one experiment: what runs, on what network and fleet, with
// which protocol choices, under which attacks, and what it writes. The Go
// structs are the schema: the loader, the JSON Schema (dais schema) and
// scenarios/README.md are all generated from their tags.
type Scenario struct {
	Run         Run         `yaml:"run" required:"true" doc:"The run: its name, seed, length and repetitions."`
	Network     Network     `yaml:"network" doc:"The network under the nodes: latency between regions, access links, jitter, loss, partitions and churn."`
	Population  Population  `yaml:"population" doc:"The nodes: GPU classes, regions, stake and roles, in groups by count or share."`
	Workload    *Workload   `yaml:"workload" doc:"The jobs requesters post: arrival process and job types. A scenario with a workload runs the compute marketplace (scheduling, verification, rewards, governance)."`
	Protocol    Protocol    `yaml:"protocol" doc:"Protocol choices and parameters."`
	Adversaries []Adversary `yaml:"adversaries" doc:"Attackers: kind, how many, when. Each runner takes its own kinds: consensus (equivocation, colluding_validators, silent_validator, delayed_votes), the marketplace (lazy, free_rider, sybil, colluding_validators) and learning (label_flip, sign_flip, scaling, little_is_enough, free_rider, sybil, colluding_validators, lying_aggregator); block gossip takes none."`
	Economics   Economics   `yaml:"economics" doc:"Prices for profit figures: electricity by region, the token's value."`
	Outputs     Outputs     `yaml:"outputs" doc:"What the run writes."`

	// File is the path the scenario was loaded from ("" for built-in ones).
	File string `yaml:"-"`
	// Source is the file's bytes, kept so a run records exactly what it ran.
	Source []byte `yaml:"-"`
	// Overrides are the --set arguments applied to Source, in order.
	Overrides []string `yaml:"-" json:"-"`

	matrix netspec.Matrix
	gpus   *gpu.Catalog
	// pos is where each key path was written, top where the document
	// starts (At).
	pos map[string]Pos
	top Pos
}

// At is where a key path (protocol.verification.scheme,
// population.groups[1].count) was written, or its nearest parent that
// was: for errors a caller finds in a loaded scenario's values. A
// built-in scenario has no positions (the zero Pos).
func (sc *Scenario) At(path string) Pos {
	return (&decoder{pos: sc.pos, top: sc.top}).at(path)
}

// Errorf is an Error at path's position (At), for what a runner finds
// wrong with a loaded scenario: dais validate and dais run then say it
// the same way, with the file, line and key.
func (sc *Scenario) Errorf(path, format string, a ...any) *Error {
	return &Error{Pos: sc.At(path), Path: path, Msg: fmt.Sprintf(format, a...)}
}

// Run names the run and fixes its randomness and length.
type Run struct {
	Name        string   `yaml:"name" required:"true" doc:"Short name of the run; used for the output folder."`
	Description string   `yaml:"description" doc:"What the scenario is for, in a sentence or two."`
	Seed        uint64   `yaml:"seed" default:"1" doc:"Root seed of every random stream. The same scenario and seed give the same results."`
	Duration    Duration `yaml:"duration" default:"60s" min:"1ms" max:"8760h" doc:"Simulated time the run covers."`
	Repetitions int      `yaml:"repetitions" default:"1" min:"1" max:"1000" doc:"Independent runs with seeds derived from seed; figures get 95% confidence intervals when > 1."`
}

// Network is the model of links between nodes.
type Network struct {
	Latency    Latency          `yaml:"latency" doc:"Round-trip times between regions."`
	Bandwidth  []BandwidthClass `yaml:"bandwidth" doc:"Access-link classes, assigned to nodes by share unless a population group names one (when every group names one, shares are not needed). Default: one class of 1Gbps both ways."`
	Jitter     *DistSpec        `yaml:"jitter" unit:"duration" doc:"Extra delay added to every message, e.g. {dist: exponential, mean: 2ms}. Default: none."`
	Loss       Share            `yaml:"loss" default:"0%" min:"0%" max:"99%" doc:"Probability that a message is lost."`
	Partitions []Partition      `yaml:"partitions" doc:"Sets of regions, groups or nodes cut off from the rest for a time window, then healed."`
	Churn      *Churn           `yaml:"churn" doc:"Nodes leaving and rejoining. Default: none."`
}

// Latency picks the region matrix.
type Latency struct {
	Matrix         string      `yaml:"matrix" default:"measured" doc:"measured (the shipped IBM Cloud inter-region table, Aug 2024), inline (regions and rtt_ms below), or the path of a CSV matrix in milliseconds, relative to the scenario file."`
	Regions        []string    `yaml:"regions" doc:"With measured or a CSV: the regions to use (default: all). With inline: the region names, in the order of rtt_ms."`
	RTTms          [][]float64 `yaml:"rtt_ms" doc:"With inline: the round-trip matrix in milliseconds, one row per region."`
	IntraRegionRTT Duration    `yaml:"intra_region_rtt" default:"1ms" min:"0s" max:"1s" doc:"Round trip between two nodes of the same region (the measured table leaves it 0; its source gives 0.08–2.2 ms)."`
	Factor         *DistSpec   `yaml:"factor" unit:"number" doc:"Multiplies each message's one-way latency by a draw, so that its spread scales with the pair's base latency, e.g. {dist: pareto, min: 0.8, alpha: 5} (mean 1, a tail of slow paths). Default: 1."`
}

// BandwidthClass is a kind of access link.
type BandwidthClass struct {
	Name  string    `yaml:"name" required:"true" doc:"Name that population groups may refer to."`
	Share Share     `yaml:"share" min:"0%" max:"100%" doc:"Share of the nodes without a named class that get this one; shares sum to 100%, unless every population group names its class."`
	Up    Bandwidth `yaml:"up" required:"true" min:"1kbps" doc:"Uplink rate; a node's messages queue on it, first in first out."`
	Down  Bandwidth `yaml:"down" required:"true" min:"1kbps" doc:"Downlink rate; limits how fast each message arrives."`
}

// Partition cuts a set of nodes off from the rest for a while.
type Partition struct {
	From    Duration `yaml:"from" min:"0s" doc:"When the cut starts."`
	Until   Duration `yaml:"until" required:"true" min:"0s" doc:"When it heals; after from."`
	Regions []string `yaml:"regions" doc:"Regions inside the cut."`
	Groups  []string `yaml:"groups" doc:"Population groups inside the cut."`
	Nodes   []int    `yaml:"nodes" doc:"Node IDs inside the cut."`
}

// Churn makes nodes leave and come back.
type Churn struct {
	Share      Share     `yaml:"share" default:"100%" min:"0%" max:"100%" doc:"Share of the nodes that churn."`
	Session    DistSpec  `yaml:"session" required:"true" unit:"duration" doc:"How long a node stays online, e.g. {dist: weibull, scale: 1h, shape: 0.6}."`
	Downtime   *DistSpec `yaml:"downtime" unit:"duration" doc:"How long it stays away before rejoining. Default: it never rejoins."`
	CrashShare Share     `yaml:"crash_share" default:"0%" min:"0%" max:"100%" doc:"Share of leaves that are crashes (no goodbye) rather than graceful."`
}

// Population is the nodes, in groups.
type Population struct {
	Nodes  int     `yaml:"nodes" min:"1" max:"10000000" doc:"Total number of nodes; required when a group is given by share."`
	Groups []Group `yaml:"groups" doc:"Groups of like nodes. Default: one group of cpu nodes in every region."`
	// HardwareProfiles are files dais gpu bench wrote, relative to the
	// scenario file; each adds its measured class to the catalog.
	HardwareProfiles []string `yaml:"hardware_profiles" doc:"Hardware profile files (written by dais gpu bench), relative to the scenario file; each adds its measured GPU class, which groups then name in gpu."`
}

// Group is a set of nodes with the same hardware, link and roles.
type Group struct {
	Name       string   `yaml:"name" required:"true" doc:"Name of the group, used by partitions and adversaries."`
	GPU        string   `yaml:"gpu" default:"cpu" doc:"GPU class from the catalog (a100, cpu, h100, l40s, rtx3060, rtx3090, rtx4090, t4) or the name of a measured class from population.hardware_profiles."`
	Count      int      `yaml:"count" min:"0" max:"10000000" doc:"Number of nodes; give count or share, not both."`
	Share      Share    `yaml:"share" min:"0%" max:"100%" doc:"Share of population.nodes; group shares (with counts) must add up to nodes."`
	Regions    []string `yaml:"regions" doc:"Regions the group's nodes are spread over, uniformly. Default: all regions."`
	Bandwidth  string   `yaml:"bandwidth" doc:"Name of a network.bandwidth class for every node of the group. Default: drawn by class shares."`
	Stake      Tokens   `yaml:"stake" default:"0" doc:"Tokens each node stakes."`
	Roles      []string `yaml:"roles" enum:"provider|validator|data_owner|requester" doc:"What the nodes do: provider, validator, data_owner, requester. Default: provider."`
	DataShards int      `yaml:"data_shards" default:"0" min:"0" max:"1000000" doc:"Training-data shards each node holds."`
	Balance    Tokens   `yaml:"balance" default:"0" doc:"Tokens each node holds at genesis (requesters pay jobs from it)."`
	Slots      int      `yaml:"slots" default:"2" min:"1" max:"1000" doc:"Work units a provider accepts at once."`
}

// Workload is what requesters ask for.
type Workload struct {
	Arrivals Arrivals  `yaml:"arrivals" required:"true" doc:"When jobs are posted."`
	Jobs     []JobType `yaml:"jobs" required:"true" doc:"Kinds of job and their shares of arrivals."`
	Drain    Duration  `yaml:"drain" default:"2m" min:"0s" doc:"How long the run goes on after run.duration, when requesters stop posting, so that posted jobs finish; jobs still open three blocks before the end are cancelled and settled. More than four blocks (protocol.market.block_interval)."`
	// Encryption is off (nil) unless the scenario asks for it.
	Encryption *WorkloadEncryption `yaml:"encryption" doc:"End-to-end encrypted work (X25519 key wraps, ChaCha20-Poly1305): each unit's input sealed by its requester to the provider that runs it (and granted to re-executors), its result sealed to the requester; validators and the committee see only ciphertext and commitments. The simulator charges each node's processor the measured sealing cost and reports the bytes it adds. Default: off."`
}

// WorkloadEncryption sizes the payloads end-to-end encryption seals.
type WorkloadEncryption struct {
	Input  Size `yaml:"input" default:"1MiB" doc:"A unit's input, sealed by the requester and opened by each executor."`
	Output Size `yaml:"output" default:"64KiB" doc:"A unit's result, sealed by the provider to the requester."`
}

// Arrivals is the job arrival process.
type Arrivals struct {
	Process    string   `yaml:"process" required:"true" enum:"poisson|constant|burst|trace" doc:"poisson (exponential gaps at rate), constant (one every 1/rate), burst (burst_size jobs every burst_every), or trace (times from a file)."`
	Rate       Rate     `yaml:"rate" min:"0/s" doc:"Mean arrivals per unit of time, e.g. 10/s (poisson, constant)."`
	BurstSize  int      `yaml:"burst_size" min:"1" max:"10000000" doc:"Jobs per burst (burst)."`
	BurstEvery Duration `yaml:"burst_every" min:"1ms" doc:"Time between bursts (burst)."`
	Trace      string   `yaml:"trace" doc:"CSV of arrival times and job types, relative to the scenario file (trace)."`
}

// JobType is one kind of job.
type JobType struct {
	Name          string    `yaml:"name" required:"true" doc:"Name of the job type."`
	Kind          string    `yaml:"kind" required:"true" enum:"inference|compute|training" doc:"inference (batch inference requests), compute (generic GPU work split into units), training (federated rounds)."`
	Share         Share     `yaml:"share" default:"100%" min:"0%" max:"100%" doc:"Share of arrivals of this type; shares sum to 100%."`
	FLOPs         *DistSpec `yaml:"flops" required:"true" unit:"number" doc:"Arithmetic per work unit, for example {dist: lognormal, median: 1e12, sigma: 1}."`
	Units         int       `yaml:"units" default:"1" min:"1" max:"1000000" doc:"Work units a job is split into."`
	Memory        Size      `yaml:"memory" default:"1GiB" doc:"Device memory a unit needs; smaller GPUs cannot take it."`
	Deadline      Duration  `yaml:"deadline" min:"0s" doc:"Time from posting to verified result after which the job has failed (0: none)."`
	Budget        Tokens    `yaml:"budget" doc:"Tokens the requester escrows per job."`
	PricePerPFLOP Tokens    `yaml:"price_per_pflop" default:"0" doc:"If > 0, the budget is this price per 10^15 FLOPs of the job instead of budget."`
	Intensity     float64   `yaml:"intensity" default:"0" min:"0" doc:"FLOPs per byte of memory traffic (0: compute-bound)."`
	Steps         int       `yaml:"steps" default:"1" min:"1" max:"1000000" doc:"Checkpointed steps per unit (what a bisection dispute bisects)."`
	InputBytes    *DistSpec `yaml:"input_bytes" unit:"size" doc:"Input data per work unit, drawn per job like flops, e.g. 1MB or {dist: lognormal, median: 50MB, sigma: 1}: a provider fetches it from the requester over both nodes' links before it can run the unit. Default: none."`
	OutputBytes   *DistSpec `yaml:"output_bytes" unit:"size" doc:"Output data per work unit, drawn per job: the provider sends it to the requester before its result. Default: none."`
	Stream        bool      `yaml:"stream" default:"false" doc:"Each arrival of this type is one unit (a request to a service) released into a session: a job of units units escrowed once, whose units each draw their own flops; the requester opens the next session when one is used up. Default: each arrival is a whole job."`
}

// Protocol holds the protocol choices. Each later part adds its section.
type Protocol struct {
	Gossip       Gossip       `yaml:"gossip" doc:"Block gossip: a block of block_size is relayed from a proposer every interval (pushed, announced or compact). Used when no consensus section is given."`
	Consensus    *Consensus   `yaml:"consensus" doc:"Consensus among the nodes with the validator role; the others follow as full nodes. When given, the run measures consensus instead of plain gossip."`
	Market       Market       `yaml:"market" doc:"The compute marketplace: who schedules units and how (used when the scenario has a workload)."`
	Verification Verification `yaml:"verification" doc:"How results are checked."`
	Rewards      RewardPolicy `yaml:"rewards" doc:"Tokenomics: emission and how rewards are paid."`
	Governance   Governance   `yaml:"governance" doc:"Governance proposals submitted during the run."`
	Learning     *Learning    `yaml:"learning" doc:"Federated learning on optdigits with real training; when given, the run measures learning."`
}

// Learning configures federated training. Learners are the population's
// nodes with the provider or data_owner role; their GPU classes set how long
// training steps take in simulated time while the math is real.
type Learning struct {
	Model          string  `yaml:"model" default:"mlp" enum:"mlp|softmax" doc:"mlp (64→64→10, ReLU) or softmax regression, trained with gorgonia."`
	Rounds         int     `yaml:"rounds" default:"20" min:"1" max:"10000" doc:"Federated rounds."`
	LocalEpochs    int     `yaml:"local_epochs" default:"2" min:"1" max:"100" doc:"Passes over a learner's rows per round (E)."`
	BatchSize      int     `yaml:"batch_size" default:"10" min:"1" max:"4096" doc:"Local mini-batch size."`
	LearningRate   float64 `yaml:"learning_rate" default:"0.1" min:"0" max:"10" doc:"Local SGD learning rate (momentum 0.9)."`
	PerRound       int     `yaml:"per_round" default:"0" min:"0" doc:"Learners selected per round (0: all)."`
	Aggregation    string  `yaml:"aggregation" default:"fedavg" enum:"fedavg|krum|multi-krum|median|trimmed-mean|foolsgold" doc:"Aggregation rule."`
	Tolerate       Share   `yaml:"tolerate" default:"30%" min:"0%" max:"50%" doc:"Attacker share the robust rules are sized for (Krum's f, trimmed mean's β)."`
	Partition      string  `yaml:"partition" default:"iid" enum:"iid|dirichlet|one-class" doc:"How training rows are split across learners."`
	Alpha          float64 `yaml:"alpha" default:"0.5" min:"0.001" max:"1000" doc:"dirichlet: concentration α (small is skewed)."`
	Validators     int     `yaml:"validators" default:"3" min:"0" max:"100" doc:"Validators scoring updates on held-out rows (0: no scoring, no payouts)."`
	ValidationRows int     `yaml:"validation_rows" default:"300" min:"10" max:"3000" doc:"Training rows held out for validators."`
	Filter         bool    `yaml:"filter" default:"false" doc:"Drop updates whose median validator score is negative."`
	NormBound      float64 `yaml:"norm_bound" default:"6" min:"0" max:"1000" doc:"Validators reject (score −∞, pay nothing) an update whose norm exceeds this many times the round's median norm; 0: no bound. 6 rejects no honest update in the measured IID and Dirichlet(0.5) runs."`
	MarginalScores bool    `yaml:"marginal_scores" default:"false" doc:"Score an update by what it adds to the round's mean (loss of the mean with it against without it) instead of on its own; pays one-class Sybils less, scalers under the bound more (see BENCHMARKS.md)."`
	Baseline       bool    `yaml:"baseline" default:"true" doc:"Also train the model centrally on the same rows and report its accuracy beside the federated one."`
	Clean          bool    `yaml:"clean" default:"false" doc:"Also run without attackers (same seed) and report the accuracy drop."`
	Aggregators    int     `yaml:"aggregators" default:"0" min:"0" max:"100" doc:"Aggregator committee size: each member aggregates the round's accepted updates on its GPU and the coordinator commits the model version more than two thirds of them report (0: the coordinator aggregates, trusted)."`
	Budget         Tokens  `yaml:"budget" default:"0" doc:"The training job's budget, escrowed on the coordinator's ledger when the job is posted: each round pays budget ÷ rounds to the learners by validator score and the rest is refunded after the last round (0: 0.001 token per round)."`

	// DP is off (nil) unless the scenario asks for it.
	DP *LearningDP `yaml:"dp" doc:"Differential privacy (DP-FedAvg, McMahan et al. 2018): every update clipped to clip, averaged with equal weights, Gaussian noise of sd noise_multiplier·clip/n added; the run also runs without it (same seed) and reports the accuracy cost and the user-level ε. Needs aggregation fedavg. Default: off."`

	// SecureAggregation is off (nil) unless the scenario asks for it.
	SecureAggregation *LearningSecureAggregation `yaml:"secure_aggregation" doc:"Secure aggregation (Bonawitz et al. 2017): learners send masked updates (pairwise X25519 masks and a self mask in Z_2^64, seeds Shamir-shared) and the coordinator learns only their sum, so a round survives learners dropping out after sharing. Only fedavg (and dp, noise added by learners) can aggregate a sum: krum, multi-krum, median, trimmed-mean and foolsgold compare individual updates and are refused, as are the score filter, marginal scores and an aggregator committee; validators score nothing and each round's pot is split equally among the learners in the sum. Default: off."`

	// Surrogate is off (nil) unless the scenario asks for it.
	Surrogate *LearningSurrogate `yaml:"surrogate" doc:"Surrogate mode, for more learners than real gradients allow (optdigits has 3,523 unheld rows): the protocol runs in full (selection, updates of the model's size on the network, scoring, committee, payouts) with modeled training, and test accuracy comes from a learning curve fitted to a real run; every such figure is labelled surrogate. Default: off (real gradients)."`

	// Economy is off (nil) unless the scenario asks for it.
	Economy *Economy `yaml:"economy" doc:"The data economy: data providers (groups with the data_owner role) register data sets of optdigits rows whose value is measured by real training, the learners (role provider) train on the registered rows, and each round's pot (emission plus paid requests) pays the compute, data and validation pools by measured value through Yuma consensus. Validators are then the population's validator-role nodes, with their groups' stake. Default: off."`
}

// Economy pays data, compute and validation by measured value, round by
// round (protocol/economy).
type Economy struct {
	Pools       EconomyPools     `yaml:"pools" doc:"How each round's pot splits into the contribution pools; the rest goes to the treasury."`
	PerRound    Tokens           `yaml:"per_round" default:"1" min:"0.000000001" doc:"Tokens minted into each round's pot."`
	Data        []DataSet        `yaml:"data" required:"true" doc:"The data sets data providers register, by population group (role data_owner): honest, noisy, skewed or copied."`
	Dedup       EconomyDedup     `yaml:"dedup" doc:"Near-duplicate detection over rows (MinHash with LSH banding, then an exact check): a row that near-duplicates a row registered before it adds nothing and earns nothing."`
	Valuation   EconomyValuation `yaml:"valuation" doc:"How data sets' value is measured: the validation gain (mean cross-entropy) of softmax regression trained on the union of a coalition's rows, each coalition trained once; leave-one-out, and truncated Monte Carlo Shapley over providers (exact Shapley when there are few)."`
	Bounty      float64          `yaml:"bounty" default:"1" min:"0" max:"100" doc:"β of the class bounty: a row of class c counts 1 + β·e_c/max e, where e is the round's model's error rate per class on validation rows (the classes the model is worst at pay most)."`
	Yuma        EconomyYuma      `yaml:"yuma" doc:"Yuma consensus parameters (protocol/yuma; subtensor's defaults)."`
	Humans      []HumanGroup     `yaml:"humans" doc:"Validator groups whose nodes are human validators: each round they label rows of the data sets by hand instead of scoring updates; a row's consensus label (Yuma over the humans' stake) checks the label its provider gave, and a human is paid by how often its labels have consensus."`
	HumanSample int              `yaml:"human_sample" default:"10" min:"1" max:"3500" doc:"Rows of every data set the humans label each round (the same rows for all, drawn afresh each round)."`
	Rule        string           `yaml:"rule" default:"product" enum:"objective|product|weighted|gate" doc:"How a data set's objective assessment (its measured value, by the automated validators' consensus) and the human one (the share of its checked rows whose given label is the humans' consensus label) combine: objective (humans ignored), product (value × human agreement), weighted ((1 − human_weight)·objective share + human_weight·agreement share), gate (value where the human agreement reaches gate, else 0)."`
	HumanWeight Share            `yaml:"human_weight" default:"50%" min:"0%" max:"100%" doc:"weighted: the humans' weight."`
	Gate        Share            `yaml:"gate" default:"60%" min:"0%" max:"100%" doc:"gate: the human agreement a data set needs to earn."`
	Access      string           `yaml:"access" default:"open" enum:"open|paid" doc:"Who may use the committed model versions: open (free) or paid per request (price), which feeds the next settlement's pot."`
	Price       Tokens           `yaml:"price" default:"0" doc:"paid: tokens per request."`
	Requests    Rate             `yaml:"requests" default:"0/s" min:"0/s" max:"100000/s" doc:"Requests users make to the newest model version (Poisson, over each round's simulated time)."`
}

// EconomyPools are the shares of each round's pot.
type EconomyPools struct {
	Compute    Share `yaml:"compute" default:"50%" min:"0%" max:"100%" doc:"Compute providers (learners), by the consensus on their updates."`
	Data       Share `yaml:"data" default:"30%" min:"0%" max:"100%" doc:"Data providers, by their data sets' measured value and bounty."`
	Validation Share `yaml:"validation" default:"20%" min:"0%" max:"100%" doc:"Validators, by their Yuma dividends."`
}

// DataSet is the data set each node of a data_owner group registers.
type DataSet struct {
	Group      string `yaml:"group" required:"true" doc:"Population group (role data_owner) whose nodes register this kind of data set."`
	Rows       int    `yaml:"rows" default:"100" min:"1" max:"3500" doc:"Rows each node registers, drawn from optdigits' training rows (no two providers draw the same row)."`
	Classes    []int  `yaml:"classes" doc:"Only rows of these digits (class skew). Default: all ten."`
	LabelNoise Share  `yaml:"label_noise" default:"0%" min:"0%" max:"100%" doc:"Share of rows given a wrong label (another class, uniformly)."`
	Duplicates Share  `yaml:"duplicates" default:"0%" min:"0%" max:"99%" doc:"Share of the rows that are copies of the node's own other rows (padding)."`
	CopyOf     string `yaml:"copy_of" doc:"A group whose data sets this group's nodes copy (node i copies that group's node i mod its size) instead of drawing rows."`
	Jitter     Share  `yaml:"jitter" default:"0%" min:"0%" max:"50%" doc:"copy_of: share of each copied row's pixels moved by one count, to dodge exact matching."`
	Colluding  bool   `yaml:"colluding" default:"false" doc:"The data set belongs to the colluding validators' cabal (adversary colluding_validators): they report it at the maximum value."`
}

// EconomyDedup tunes near-duplicate detection.
type EconomyDedup struct {
	Hashes    int   `yaml:"hashes" default:"128" min:"8" max:"1024" doc:"MinHash signature length."`
	Bands     int   `yaml:"bands" default:"32" min:"1" max:"1024" doc:"LSH bands; must divide hashes (128 in 32 bands of 4 catch a pair of Jaccard 0.7 with probability 0.9998)."`
	Threshold Share `yaml:"threshold" default:"60%" min:"1%" max:"100%" doc:"Jaccard similarity of two rows' (pixel, level) sets at which the later is a copy (distinct optdigits rows reach at most 0.42, a copy with 5% of its pixels moved at least 0.74)."`
}

// EconomyValuation tunes data valuation.
type EconomyValuation struct {
	Seed         int     `yaml:"seed" default:"100" min:"0" max:"1000" doc:"Rows no provider holds (drawn from the rest of optdigits' training rows) that every coalition's model also trains on: the model the market starts from, so that a small coalition of skewed data is not judged as the whole world, and a data set is valued by what it adds to it."`
	Trainer      string  `yaml:"trainer" default:"lbfgs" enum:"lbfgs|sgd" doc:"lbfgs: fit each coalition's model to its optimum (L-BFGS, L2 penalty l2), so its value depends on its rows alone; sgd: epochs of gorgonia SGD, whose visiting order changes with the number of rows — noise that swamps leave-one-out differences among many providers (BENCHMARKS.md)."`
	L2           float64 `yaml:"l2" default:"0.001" min:"0.000001" max:"100" doc:"lbfgs: the L2 penalty on the weights, which makes the optimum unique."`
	Permutations int     `yaml:"permutations" default:"20" min:"1" max:"100000" doc:"Monte Carlo Shapley's sample budget: random orders of the providers, in antithetic pairs, each provider's first and last positions computed exactly."`
	Tolerance    Share   `yaml:"tolerance" default:"1%" min:"0%" max:"100%" doc:"Truncation: stop walking an order once the coalition is within this share of the full coalition's gain."`
	Exact        int     `yaml:"exact" default:"10" min:"0" max:"16" doc:"Also compute exact Shapley (2^n coalitions) when there are at most this many providers, pay by it, and report the Monte Carlo estimate's error against it."`
	Truth        bool    `yaml:"truth" default:"true" doc:"Also value the data on the 1,797 test rows the protocol never sees (the true value the report correlates rewards with): free with exact Shapley, about as many models again without."`
	Epochs       int     `yaml:"epochs" default:"3" min:"1" max:"100" doc:"sgd: epochs each coalition's model trains for."`
	BatchSize    int     `yaml:"batch_size" default:"32" min:"1" max:"4096" doc:"sgd: the mini-batch size."`
	LearningRate float64 `yaml:"learning_rate" default:"0.1" min:"0.000001" max:"10" doc:"sgd: the learning rate (momentum 0.9)."`
}

// EconomyYuma are the Yuma consensus parameters.
type EconomyYuma struct {
	Kappa       Share `yaml:"kappa" default:"50%" min:"1%" max:"100%" doc:"κ: the stake that must support a weight for it to be the consensus (50%: the stake-weighted median)."`
	BondPenalty Share `yaml:"bond_penalty" default:"100%" min:"0%" max:"100%" doc:"β: how much weight above consensus is cut before bonding."`
	BondAlpha   Share `yaml:"bond_alpha" default:"10%" min:"1%" max:"100%" doc:"α: the weight of a round's bonds in their moving average."`
}

// HumanGroup makes a validator group's nodes human validators.
type HumanGroup struct {
	Group    string   `yaml:"group" required:"true" doc:"Population group (role validator) of human validators."`
	Accuracy Share    `yaml:"accuracy" default:"90%" min:"0%" max:"100%" doc:"Chance a fresh human labels a row right."`
	Fatigue  Share    `yaml:"fatigue" default:"0.05%" min:"0%" max:"100%" doc:"Accuracy lost per row labelled in a round (never below chance)."`
	Latency  Duration `yaml:"latency" default:"10s" min:"1ms" doc:"Time labelling one row takes."`
	Window   Duration `yaml:"window" default:"10m" min:"1ms" doc:"Time a human spends labelling each round: at most window/latency rows; the rest of the round's sample stays unlabelled by it."`
	Cost     Tokens   `yaml:"cost" default:"0.0001" min:"0" doc:"What labelling one row costs the human, in tokens (reported against its earnings)."`
}

// LearningSecureAggregation configures secure aggregation.
type LearningSecureAggregation struct {
	Threshold   Share    `yaml:"threshold" default:"67%" min:"51%" max:"100%" doc:"Shares of a learner's seeds needed to rebuild them, as a share of the round's learners (t = ⌈threshold·n⌉, more than half): a round unmasks with up to n − t learners dropping out after sharing."`
	Dropout     Share    `yaml:"dropout" default:"0%" min:"0%" max:"100%" doc:"Share of each round's learners that drop out after sharing their seeds (each drawn independently per round from the seed): they send no masked update and no unmasking shares."`
	FracBits    int      `yaml:"frac_bits" default:"24" min:"8" max:"40" doc:"Fixed-point fractional bits of the masked updates (values rounded to multiples of 2^-frac_bits)."`
	StepTimeout Duration `yaml:"step_timeout" default:"10s" min:"1ms" max:"1h" doc:"How long the coordinator waits for the learners' keys, shares and unmasking shares (masked updates: until the round timeout)."`
	ClearRule   string   `yaml:"clear_rule" default:"none" enum:"none|fedavg|krum|multi-krum|median|trimmed-mean|foolsgold" doc:"Also run the same scenario and seed in clear with this rule (a robust one, against the same attack), and report privacy bought against robustness lost (none: no such run)."`
}

// LearningDP configures DP-FedAvg.
type LearningDP struct {
	Clip            float64 `yaml:"clip" default:"1" min:"0.000001" max:"1000000" doc:"L2 norm every update is clipped to (the sensitivity of one learner's contribution to the sum)."`
	NoiseMultiplier float64 `yaml:"noise_multiplier" default:"1" min:"0" max:"1000" doc:"σ: the noise's standard deviation over the clip (0: clipping only, ε infinite)."`
	Delta           float64 `yaml:"delta" default:"0.00001" min:"0.000000000001" max:"0.5" doc:"δ of the reported (ε, δ) guarantee."`
}

// LearningSurrogate configures learning's surrogate mode: the curve
// acc(k) = a − b·exp(−c·k) is fitted to a real run of fit_providers
// providers for fit_rounds rounds with the same model, partition, rule and
// local training, and attacks scale it by the measured attack table.
type LearningSurrogate struct {
	FitProviders int `yaml:"fit_providers" default:"20" min:"1" max:"1000" doc:"Providers of the real run the learning curve is fitted to."`
	FitRounds    int `yaml:"fit_rounds" default:"20" min:"3" max:"200" doc:"Rounds of the real run the learning curve is fitted to."`
	Rows         int `yaml:"rows" default:"0" min:"0" max:"1000000" doc:"Nominal training rows per learner, the cost of its modeled training job (0: a fit-run provider's share)."`
}

// Market configures the marketplace committee.
type Market struct {
	Scheduler       string   `yaml:"scheduler" default:"fair_share" enum:"fifo|fastest|fair_share|lottery" doc:"fifo (longest-idle provider first), fastest (greedy by capability), fair_share (weighted fair queueing, so small GPUs keep getting work they can finish), lottery (chance proportional to stake or capacity)."`
	LotteryBy       string   `yaml:"lottery_by" default:"stake" enum:"stake|capacity" doc:"lottery: weigh providers by stake or by GPU capacity."`
	BlockInterval   Duration `yaml:"block_interval" default:"2s" min:"100ms" doc:"The committee's block interval: job posts, results and payments settle on chain in blocks."`
	CommitDelay     Duration `yaml:"commit_delay" default:"300ms" min:"0s" doc:"Modeled agreement delay of the committee per block (BFT finality p50 measured for 100 validators); 0s commits each block as it is proposed. Less than block_interval."`
	Bandwidth       string   `yaml:"bandwidth" doc:"Name of a network.bandwidth class for the committee leader's node (its assignments and statuses queue on its uplink). Default: drawn by class shares."`
	Matching        string   `yaml:"matching" default:"per_block" enum:"per_block|continuous" doc:"per_block: a job's units wait for the block that commits its post, and every result is a transaction; continuous: off-chain matching with on-chain settlement: units are assigned as soon as a job or a provider is ready, and escrow, results (one Merkle root per block) and payouts settle on chain in batches per block."`
	Settlement      string   `yaml:"settlement" default:"modeled" enum:"modeled|chain" doc:"modeled: the committee's leader keeps the ledger and every block is final commit_delay after it is proposed; chain: chain_validators run the BFT engine (protocol/consensus/bft) over the ledger, and job posts (signed by their requesters), results, settlements, slashes and payouts are transactions they agree on, as in a live testnet's settlement: chain. A job opens when the block holding its post commits (matching per_block) and its results settle in batches, one Merkle root per block. Each block then takes the timeout_commit of block_interval plus a consensus round over the network; the block reward is its proposer's; governance proposals are not supported."`
	ChainValidators int      `yaml:"chain_validators" default:"4" min:"1" max:"100" doc:"settlement chain: BFT validators: the committee's node, and the rest on its link, spread over the latency matrix's regions from the committee's own."`
	DisputeBlocks   uint64   `yaml:"dispute_blocks" default:"600" min:"1" doc:"The ledger's dispute window, in blocks: a settled job's record and result commitments are pruned this many blocks after the block that settles it, and a result root this many after the block that records it, so the ledger's memory does not grow with simulated time; a slash whose evidence names a pruned record is refused. The committee slashes within a few blocks of the result. A value past the run's blocks keeps everything."`
}

// Verification configures how results are checked.
type Verification struct {
	Scheme      string `yaml:"scheme" default:"spot_check" enum:"none|redundancy|spot_check|bisection" doc:"none; redundancy (k replicas and a quorum, BOINC-style adaptive replication); spot_check (validators replay a share of units); bisection (a Verde-style dispute game over per-step checkpoints, one step re-executed by a referee)."`
	Replicas    int    `yaml:"replicas" default:"2" min:"1" max:"10" doc:"redundancy: replicas per unit (k)."`
	Quorum      int    `yaml:"quorum" default:"0" min:"0" max:"10" doc:"redundancy: agreeing results needed (0: k)."`
	TrustAfter  int    `yaml:"trust_after" default:"0" min:"0" doc:"redundancy: agreeing results after which a host is trusted and replicated less (0: no adaptive replication)."`
	TrustSample Share  `yaml:"trust_sample" default:"10%" min:"0%" max:"100%" doc:"redundancy: chance a trusted host's unit is still replicated."`
	SpotCheck   Share  `yaml:"spot_check" default:"10%" min:"0%" max:"100%" doc:"spot_check: share of results re-executed by a validator."`
	Panel       int    `yaml:"panel" default:"1" min:"1" max:"9" doc:"validators re-executing each checked unit; with 2, a colluder's approval is contradicted and a third breaks the tie."`
}

// RewardPolicy picks the tokenomics; the rest are protocol/rewards defaults.
type RewardPolicy struct {
	Emission            string `yaml:"emission" default:"halving" enum:"fixed|halving|exponential" doc:"Emission schedule."`
	EmissionPerBlock    Tokens `yaml:"emission_per_block" default:"1" doc:"Emission of block 1 (of every block, for fixed)."`
	HalvingBlocks       uint64 `yaml:"halving_blocks" default:"1000000" min:"1" doc:"halving: blocks between halvings."`
	Cap                 Tokens `yaml:"cap" default:"0" doc:"Maximum supply ever minted (0: no cap)."`
	Payout              string `yaml:"payout" default:"work" enum:"work|per_identity" doc:"work: compute rewards pro rata to verified work (FLOPs), so identities sharing a GPU gain nothing; per_identity: every provider identity also gets participation_reward per period (Sybil-prone)."`
	ParticipationReward Tokens `yaml:"participation_reward" default:"0" doc:"per_identity: tokens per provider identity per reward period."`
	FeeBurn             Share  `yaml:"fee_burn" default:"10%" min:"0%" max:"20%" doc:"Share of each job's fee that is burned, offsetting emission. The provider keeps 80% of the fee and the rest joins the reward pot, so at most 20%."`
	SlashLazyWork       Share  `yaml:"slash_lazy_work" default:"10%" min:"0%" max:"100%" doc:"Share of a provider's stake burned for each result proven lazy (a failed spot check, quorum or dispute)."`
}

// Governance lists proposals the run submits.
type Governance struct {
	Proposals []ProposalPlan `yaml:"proposals" doc:"Proposals submitted at a height, with how the stake votes."`
}

// ProposalPlan is one proposal and its vote.
type ProposalPlan struct {
	Height     uint64        `yaml:"height" required:"true" min:"1" doc:"Block the proposal is submitted in."`
	Changes    []ParamChange `yaml:"changes" required:"true" doc:"Parameter changes, e.g. {key: rewards.emission_per_block, value: \"0.25\"}."`
	Activation uint64        `yaml:"activation" default:"0" doc:"Height the change takes effect (0: the earliest allowed after voting)."`
	Yes        Share         `yaml:"yes" default:"0%" min:"0%" max:"100%" doc:"Share of staked voting power voting yes."`
	No         Share         `yaml:"no" default:"0%" min:"0%" max:"100%" doc:"Share voting no."`
	Veto       Share         `yaml:"veto" default:"0%" min:"0%" max:"100%" doc:"Share voting no with veto."`
	Abstain    Share         `yaml:"abstain" default:"0%" min:"0%" max:"100%" doc:"Share abstaining."`
}

// ParamChange sets one governable parameter.
type ParamChange struct {
	Key   string `yaml:"key" required:"true" doc:"Governable parameter, e.g. rewards.emission_per_block or verify.spot_check_probability."`
	Value string `yaml:"value" required:"true" doc:"Its new value, written as the parameter's unit."`
}

// Economics prices what nodes spend.
type Economics struct {
	Electricity      []RegionPrice `yaml:"electricity" doc:"Electricity price by region; other regions pay default_usd_per_kwh."`
	DefaultUSDPerKWh float64       `yaml:"default_usd_per_kwh" default:"0.15" min:"0" doc:"Electricity price where no region price is given, USD/kWh."`
	TokenUSD         float64       `yaml:"token_usd" default:"1" min:"0" doc:"Value of one token in USD, for profit figures."`
}

// RegionPrice is one region's electricity price.
type RegionPrice struct {
	Region    string  `yaml:"region" required:"true" doc:"Region name."`
	USDPerKWh float64 `yaml:"usd_per_kwh" required:"true" min:"0" doc:"Price in USD per kWh."`
}

// Consensus picks and tunes a consensus engine.
type Consensus struct {
	Engine        string       `yaml:"engine" required:"true" enum:"bft|longest_chain" doc:"bft (Tendermint-style proof of stake: rounds of propose, prevote, precommit; final at > 2/3 of stake) or longest_chain (proof of work or a stake lottery; final at a confirmation depth)."`
	MaxValidators int          `yaml:"max_validators" default:"0" min:"0" max:"100000" doc:"BFT: the top K validator-role nodes by stake vote (0: all of them); the rest follow."`
	BlockSize     Size         `yaml:"block_size" default:"1KiB" max:"64MiB" doc:"Bytes of each block's payload when the ledger is off (the engines never look inside a block). With ledger.enabled, blocks are the ledger's and this is unused."`
	Signatures    string       `yaml:"signatures" default:"real" enum:"real|modeled" doc:"real: ed25519 signs and verifies every vote; modeled: a 64-byte placeholder on the wire and the checks counted, for very large runs (the report says which)."`
	Timeouts      BFTTimeouts  `yaml:"timeouts" doc:"BFT timeouts; each grows by its delta per round (CometBFT defaults)."`
	LongestChain  LongestChain `yaml:"longest_chain" doc:"Longest-chain settings."`
	Ledger        Ledger       `yaml:"ledger" doc:"The real ledger under the engine: every node keeps a replica, clients submit signed transfers, and the invariant checker holds every replica to conservation of tokens and to one state root per height."`
	Processing    Processing   `yaml:"processing" doc:"What a node's runtime costs: CPU time per message, store writes, timer lateness (0: free, the default). dais calibrate measures them on live nodes."`
}

// Processing is what a consensus node's runtime spends on messages, store
// writes and timers. A node does one thing at a time: its messages wait
// for it.
type Processing struct {
	Send        Duration `yaml:"send" default:"0s" min:"0s" max:"1s" doc:"Per message a node sends (a gossip publication once): encoding and signing; the message leaves when it is spent."`
	Receive     Duration `yaml:"receive" default:"0s" min:"0s" max:"1s" doc:"Per message a node receives (not a gossip duplicate): decoding and checking signatures; the node acts on the message when it is spent."`
	Commit      Duration `yaml:"commit" default:"0s" min:"0s" max:"10s" doc:"Per block a node commits: storing it (the live store's write and sync); the node's messages wait meanwhile."`
	SignedRound Duration `yaml:"signed_round" default:"0s" min:"0s" max:"10s" doc:"BFT: per round a validator signs in, recording it (a synced store write) before its first proposal or vote of the round leaves, as live validators do so as never to sign a round twice."`
	TimerLate   Duration `yaml:"timer_late" default:"0s" min:"0s" max:"1s" doc:"How late every timer fires past its due time (a live runtime's wake-up and input queue); a timer re-armed when it fires slips by as much each time."`
}

// Ledger puts the ledger (accounts, signed transfers, mempools, block
// rewards) under the consensus engine.
type Ledger struct {
	Enabled             bool   `yaml:"enabled" default:"false" doc:"Run the ledger: blocks carry transfers instead of block_size bytes of padding."`
	TxRate              Rate   `yaml:"tx_rate" default:"10/s" min:"0/s" max:"1000000/s" doc:"Transfers per second, all clients together; each client sends its share at Poisson times."`
	Clients             string `yaml:"clients" default:"requester" enum:"requester|all" doc:"Which nodes send transfers: those of groups with the requester role, or every node."`
	Fanout              int    `yaml:"fanout" default:"2" min:"1" max:"1000" doc:"Validators (or miners) each client sends its transfers to; BFT validators relay them to the other validators, longest-chain nodes flood them to their peers."`
	Balance             Tokens `yaml:"balance" default:"1000" min:"1" max:"1000000" doc:"Genesis balance of every node's account; validators also bond their stake."`
	EmissionPerBlock    Tokens `yaml:"emission_per_block" default:"1" min:"0" max:"1000000" doc:"Tokens minted to each block's proposer."`
	HalvingBlocks       int    `yaml:"halving_blocks" default:"0" min:"0" max:"1000000000" doc:"Halve the emission every this many blocks; 0 keeps it fixed."`
	ModeledVerification bool   `yaml:"modeled_verification" default:"false" doc:"Skip ed25519 verification of transfers (clients still sign), for large runs; the report says which."`
}

// BFTTimeouts are the round timeouts of the BFT engine.
type BFTTimeouts struct {
	Propose        Duration `yaml:"propose" default:"3s" min:"1ms" doc:"Wait for a proposal in round 0."`
	ProposeDelta   Duration `yaml:"propose_delta" default:"500ms" min:"0s" doc:"Added per round."`
	Prevote        Duration `yaml:"prevote" default:"1s" min:"1ms" doc:"Wait after +2/3 of any prevotes."`
	PrevoteDelta   Duration `yaml:"prevote_delta" default:"500ms" min:"0s" doc:"Added per round."`
	Precommit      Duration `yaml:"precommit" default:"1s" min:"1ms" doc:"Wait after +2/3 of any precommits."`
	PrecommitDelta Duration `yaml:"precommit_delta" default:"500ms" min:"0s" doc:"Added per round."`
	Commit         Duration `yaml:"commit" default:"1s" min:"0s" doc:"Pause after a commit before the next height: sets the block interval."`
}

// LongestChain tunes the longest-chain engine.
type LongestChain struct {
	Interval      Duration `yaml:"interval" default:"10s" min:"1ms" doc:"Target block interval (fixed difficulty)."`
	Confirmations int      `yaml:"confirmations" default:"6" min:"1" max:"1000" doc:"Blocks on top before a block is final."`
	Mining        string   `yaml:"mining" default:"pow" enum:"pow|stake" doc:"pow: hash power from each node's GPU class (dense FP16 rate); stake: a lottery weighted by stake."`
}

// Gossip is the block-propagation protocol.
type Gossip struct {
	BlockSize Size     `yaml:"block_size" default:"1MiB" max:"64MiB" doc:"Payload bytes of each block."`
	Degree    int      `yaml:"degree" default:"4" min:"1" max:"1000" doc:"Peers each node dials; links go both ways, so the mean degree is about twice this."`
	Interval  Duration `yaml:"interval" default:"10s" min:"0s" doc:"Time between blocks; proposers take turns in node order (schedule slots), or the mean time between mined blocks (schedule mining). Blocks are proposed during run.duration, and the run goes on one more interval without new blocks, so the last block is measured like the others. 0s: a single block, from node 0, at the start."`

	Relay          string           `yaml:"relay" default:"push" enum:"push|announce|compact" doc:"How a node passes a block on: push (the whole block to every peer but the sender: the flood), announce (an inventory entry or header, then the peer requests the block from the first announcer and downloads it once, as Bitcoin and SimBlock do), or compact (BIP 152: a sketch of 6-byte short transaction IDs rebuilt from the receiver's mempool, the missing transactions fetched; sent unsolicited to high-bandwidth peers, announced to the others)."`
	Compare        []string         `yaml:"compare" enum:"push|announce|compact" doc:"Run the scenario under each of these relays as well (the same seed: the same peer graph, placement and block times) and set them side by side in the report: per-block time to 50%, 90% and 100% of the nodes as distributions across blocks, bytes per node per block, the duplicate share. The run's other figures are those of relay. Default: none."`
	Announce       string           `yaml:"announce" default:"inv" enum:"inv|headers" doc:"announce and compact: what an announcement carries, an inventory entry or the 80-byte header (BIP 130). Either way the block is requested at once: bytes differ, round trips do not."`
	RequestTimeout Duration         `yaml:"request_timeout" default:"10s" min:"0s" max:"1h" doc:"announce and compact: how long a node waits for a block (or its missing transactions) before asking another peer that announced it; 0s never asks again. Not armed on a network that loses nothing (no loss, partitions or churn), where every request is answered."`
	MempoolOverlap Share            `yaml:"mempool_overlap" default:"100%" min:"0%" max:"100%" doc:"compact: the chance that each of a block's transactions is already in the receiver's mempool; the others are fetched (getblocktxn, blocktxn)."`
	TxSize         Size             `yaml:"tx_size" default:"400B" min:"1B" max:"1MiB" doc:"compact: mean transaction size; a block holds block_size / tx_size transactions, each a 6-byte short ID in the sketch."`
	HighBandwidth  int              `yaml:"high_bandwidth" default:"3" min:"0" max:"64" doc:"compact: outbound peers each node asks to push it sketches unsolicited (BIP 152 high-bandwidth mode; Bitcoin Core uses 3); they send before validating. 0: every sketch is announced and requested."`
	Validation     GossipValidation `yaml:"validation" doc:"Time a node takes to check a block before passing it on (every relay; push included)."`
	OutDegree      *DistSpec        `yaml:"out_degree" unit:"number" doc:"Peers each node dials, drawn per node and rounded (at least 1), e.g. {dist: uniform, min: 4, max: 12}; replaces degree. Default: degree for every node."`
	MaxInbound     int              `yaml:"max_inbound" default:"0" min:"0" max:"1000000" doc:"Most peers that may dial one node (Bitcoin Core: 117); a dial to a full node goes elsewhere. 0: no cap."`
	Schedule       string           `yaml:"schedule" default:"slots" enum:"slots|mining" doc:"When blocks are made: slots (every interval, proposers taking turns) or mining (exponential gaps of mean interval, each block mined by a node with probability proportional to its hash power; two blocks may then be close, and both are relayed)."`
	HashPower      *DistSpec        `yaml:"hash_power" unit:"number" doc:"mining: each node's hash power, drawn per node (only ratios matter), e.g. {dist: normal, mean: 400000, stddev: 100000} as SimBlock draws it. Default: the dense FP16 rate of the node's GPU class, as longest_chain's pow."`
}

// GossipValidation is the per-hop validation time of a gossip run: time
// plus per_mib for every MiB of block, scaled by the node's group.
type GossipValidation struct {
	Time   *DistSpec         `yaml:"time" unit:"duration" doc:"Per block and hop, fixed (2ms) or a distribution. Default: none."`
	PerMiB Duration          `yaml:"per_mib" default:"0s" min:"0s" max:"1h" doc:"Added per MiB of block payload."`
	Groups []ValidationScale `yaml:"groups" doc:"Population groups that validate slower or faster: their nodes' times are multiplied by scale."`
}

// ValidationScale makes one population group validate slower or faster.
type ValidationScale struct {
	Group string  `yaml:"group" required:"true" doc:"A population group."`
	Scale float64 `yaml:"scale" required:"true" min:"0" max:"1000" doc:"Multiplies the group's validation times (2: twice as slow)."`
}

// Adversary is one kind of attacker.
type Adversary struct {
	Kind       string   `yaml:"kind" required:"true" enum:"lazy|free_rider|sybil|label_flip|sign_flip|scaling|little_is_enough|colluding_validators|lying_aggregator|equivocation|silent_validator|delayed_votes" doc:"The attack."`
	Count      int      `yaml:"count" min:"0" doc:"Number of attacking nodes; give count or share."`
	Share      Share    `yaml:"share" min:"0%" max:"100%" doc:"Share of the nodes that attack."`
	Group      string   `yaml:"group" doc:"Population group the attackers are drawn from. Default: any."`
	Start      Duration `yaml:"start" min:"0s" doc:"When the attack begins."`
	Delay      Duration `yaml:"delay" default:"500ms" min:"0s" doc:"delayed_votes: how late the attackers' votes leave."`
	Fraction   Share    `yaml:"fraction" default:"50%" min:"0%" max:"100%" doc:"lazy: share of units faked."`
	Stale      bool     `yaml:"stale" default:"false" doc:"lazy: fakes are copies of the last real result rather than random."`
	Identities int      `yaml:"identities" default:"2" min:"1" max:"1000" doc:"sybil: identities sharing one GPU (k); in learning runs, the number of Sybil learners."`
	Scale      float64  `yaml:"scale" default:"0" min:"0" doc:"sign_flip and scaling: the factor (0: 4 for sign_flip, 10 for scaling)."`
}

// Outputs says what a run writes.
type Outputs struct {
	Formats []string `yaml:"formats" enum:"md|html|json|csv" doc:"Report files: md (report.md), html (report.html), json (metrics.json), csv (timeseries.csv). Default: all."`
	Step    Duration `yaml:"step" default:"1s" min:"1ms" doc:"Resolution of time series."`
	Dir     string   `yaml:"dir" doc:"Folder for the run's files. Default: runs/<run.name>."`
}

// GPUCatalog is the GPU classes the scenario's groups may name: the
// built-in catalog and the measured classes of population.hardware_profiles.
// Runners resolve class names through it (never gpu.Lookup directly), so
// a group that names a measured class runs on its figures.
func (sc *Scenario) GPUCatalog() *gpu.Catalog { return sc.gpus }

// GPUClass resolves a GPU class name through GPUCatalog.
func (sc *Scenario) GPUClass(name string) (gpu.Class, error) {
	c, ok := sc.gpus.Lookup(name)
	if !ok {
		return gpu.Class{}, fmt.Errorf("scenarios: unknown GPU class %q; known: %s", name, strings.Join(sc.gpus.Names(), ", "))
	}
	return c, nil
}

// Matrix is the region matrix the scenario resolved (measured, a CSV or
// inline, restricted to the regions it names), with the intra-region RTT
// on the diagonal.
func (sc *Scenario) Matrix() netspec.Matrix { return sc.matrix }

// Link is the access link of a node of group g: the group's named class,
// or, without one, a class drawn by share with u, a uniform draw in [0, 1)
// from the node's own placement stream.
func (sc *Scenario) Link(g Group, u float64) netspec.Link {
	classes := sc.Network.Bandwidth
	pick := classes[len(classes)-1]
	for _, c := range classes {
		if g.Bandwidth != "" {
			if c.Name == g.Bandwidth {
				pick = c
				break
			}
			continue
		}
		if u < float64(c.Share) {
			pick = c
			break
		}
		u -= float64(c.Share)
	}
	return netspec.Link{UpBps: pick.Up.BitsPerSecond(), DownBps: pick.Down.BitsPerSecond()}
}

// RegionIndexes are the regions (indexes into Matrix().Regions) that group
// g's nodes spread over: its own list, or every region.
func (sc *Scenario) RegionIndexes(g Group) []int {
	var out []int
	for _, name := range g.Regions {
		out = append(out, sc.matrix.Index(name))
	}
	if len(out) == 0 {
		for i := range sc.matrix.Regions {
			out = append(out, i)
		}
	}
	return out
}

// NetPartitions are the scenario's partitions for the network model.
// groupNodes maps each population group to its node IDs, which depend on
// how a runner numbers nodes.
func (sc *Scenario) NetPartitions(groupNodes map[string][]protocol.NodeID) []netspec.Partition {
	var out []netspec.Partition
	for _, sp := range sc.Network.Partitions {
		part := netspec.Partition{From: protocol.Time(sp.From), Until: protocol.Time(sp.Until)}
		for _, name := range sp.Regions {
			if i := sc.matrix.Index(name); i >= 0 {
				part.Regions = append(part.Regions, i)
			}
		}
		for _, g := range sp.Groups {
			part.Nodes = append(part.Nodes, groupNodes[g]...)
		}
		for _, id := range sp.Nodes {
			part.Nodes = append(part.Nodes, protocol.NodeID(id))
		}
		out = append(out, part)
	}
	return out
}

// NetChurn is the scenario's churn for the network model, or nil.
func (sc *Scenario) NetChurn() *netspec.Churn {
	c := sc.Network.Churn
	if c == nil {
		return nil
	}
	ch := &netspec.Churn{Session: c.Session.Dist(), CrashShare: float64(c.CrashShare)}
	if c.Downtime != nil {
		ch.Downtime = c.Downtime.Dist()
	}
	return ch
}
