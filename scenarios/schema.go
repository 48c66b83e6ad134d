package scenarios

import "github.com/dais-sim/dais/sim/netmodel"

// Scenario is one experiment: what runs, on what network and fleet, with
// which protocol choices, under which attacks, and what it writes. The Go
// structs are the schema: the loader, the JSON Schema (dais schema) and
// scenarios/README.md are all generated from their tags.
type Scenario struct {
	Run         Run         `yaml:"run" required:"true" doc:"The run: its name, seed, length and repetitions."`
	Network     Network     `yaml:"network" doc:"The network under the nodes: latency between regions, access links, jitter, loss, partitions and churn."`
	Population  Population  `yaml:"population" doc:"The nodes: GPU classes, regions, stake and roles, in groups by count or share."`
	Workload    *Workload   `yaml:"workload" doc:"The jobs requesters post: arrival process and job types. Not simulated yet (arrives with the marketplace); validated."`
	Protocol    Protocol    `yaml:"protocol" doc:"Protocol choices and parameters."`
	Adversaries []Adversary `yaml:"adversaries" doc:"Attackers: kind, how many, when. Not simulated yet (arrive with the chain, marketplace and learning); validated."`
	Outputs     Outputs     `yaml:"outputs" doc:"What the run writes."`

	// File is the path the scenario was loaded from ("" for built-in ones).
	File string `yaml:"-"`
	// Source is the file's bytes, kept so a run records exactly what it ran.
	Source []byte `yaml:"-"`

	matrix netmodel.Matrix
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
	Bandwidth  []BandwidthClass `yaml:"bandwidth" doc:"Access-link classes, assigned to nodes by share unless a population group names one. Default: one class of 1Gbps both ways."`
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
}

// BandwidthClass is a kind of access link.
type BandwidthClass struct {
	Name  string    `yaml:"name" required:"true" doc:"Name that population groups may refer to."`
	Share Share     `yaml:"share" min:"0%" max:"100%" doc:"Share of the nodes without a named class that get this one; shares sum to 100%."`
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
}

// Group is a set of nodes with the same hardware, link and roles.
type Group struct {
	Name       string   `yaml:"name" required:"true" doc:"Name of the group, used by partitions and adversaries."`
	GPU        string   `yaml:"gpu" default:"cpu" doc:"GPU class from the catalog: a100, cpu, h100, l40s, rtx3060, rtx3090, rtx4090, t4."`
	Count      int      `yaml:"count" min:"0" max:"10000000" doc:"Number of nodes; give count or share, not both."`
	Share      Share    `yaml:"share" min:"0%" max:"100%" doc:"Share of population.nodes; group shares (with counts) must add up to nodes."`
	Regions    []string `yaml:"regions" doc:"Regions the group's nodes are spread over, uniformly. Default: all regions."`
	Bandwidth  string   `yaml:"bandwidth" doc:"Name of a network.bandwidth class for every node of the group. Default: drawn by class shares."`
	Stake      Tokens   `yaml:"stake" default:"0" doc:"Tokens each node stakes."`
	Roles      []string `yaml:"roles" enum:"provider|validator|data_owner|requester" doc:"What the nodes do: provider, validator, data_owner, requester. Default: provider."`
	DataShards int      `yaml:"data_shards" default:"0" min:"0" max:"1000000" doc:"Training-data shards each node holds."`
}

// Workload is what requesters ask for.
type Workload struct {
	Arrivals Arrivals  `yaml:"arrivals" required:"true" doc:"When jobs are posted."`
	Jobs     []JobType `yaml:"jobs" required:"true" doc:"Kinds of job and their shares of arrivals."`
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
	Name     string    `yaml:"name" required:"true" doc:"Name of the job type."`
	Kind     string    `yaml:"kind" required:"true" enum:"inference|compute|training" doc:"inference (batch inference requests), compute (generic GPU work split into units), training (federated rounds)."`
	Share    Share     `yaml:"share" default:"100%" min:"0%" max:"100%" doc:"Share of arrivals of this type; shares sum to 100%."`
	FLOPs    *DistSpec `yaml:"flops" unit:"number" doc:"Arithmetic per work unit, e.g. {dist: lognormal, median: 1e12, sigma: 1}."`
	Units    int       `yaml:"units" default:"1" min:"1" max:"1000000" doc:"Work units a job is split into."`
	Memory   Size      `yaml:"memory" default:"1GiB" doc:"Device memory a unit needs; smaller GPUs cannot take it."`
	Deadline Duration  `yaml:"deadline" min:"0s" doc:"Time from posting to verified result after which the job has failed (0: none)."`
	Budget   Tokens    `yaml:"budget" doc:"Tokens the requester escrows per job."`
}

// Protocol holds the protocol choices. Each later part adds its section.
type Protocol struct {
	Gossip    Gossip     `yaml:"gossip" doc:"Block gossip: a block of block_size is flooded from a proposer every interval. Used when no consensus section is given."`
	Consensus *Consensus `yaml:"consensus" doc:"Consensus among the nodes with the validator role; the others follow as full nodes. When given, the run measures consensus instead of plain gossip."`
}

// Consensus picks and tunes a consensus engine.
type Consensus struct {
	Engine        string       `yaml:"engine" required:"true" enum:"bft|longest_chain" doc:"bft (Tendermint-style proof of stake: rounds of propose, prevote, precommit; final at > 2/3 of stake) or longest_chain (proof of work or a stake lottery; final at a confirmation depth)."`
	MaxValidators int          `yaml:"max_validators" default:"0" min:"0" max:"100000" doc:"BFT: the top K validator-role nodes by stake vote (0: all of them); the rest follow."`
	BlockSize     Size         `yaml:"block_size" default:"1KiB" max:"64MiB" doc:"Bytes of each block's payload (the block content is opaque to the engines; the ledger arrives with the marketplace)."`
	Signatures    string       `yaml:"signatures" default:"real" enum:"real|modeled" doc:"real: ed25519 signs and verifies every vote; modeled: a 64-byte placeholder on the wire and the checks counted, for very large runs (the report says which)."`
	Timeouts      BFTTimeouts  `yaml:"timeouts" doc:"BFT timeouts; each grows by its delta per round (CometBFT defaults)."`
	LongestChain  LongestChain `yaml:"longest_chain" doc:"Longest-chain settings."`
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
	Interval  Duration `yaml:"interval" default:"10s" min:"0s" doc:"Time between blocks; proposers take turns in node order. Blocks are proposed during run.duration, and the run goes on one more interval without new blocks, so the last block is measured like the others. 0s: a single block, from node 0, at the start."`
}

// Adversary is one kind of attacker.
type Adversary struct {
	Kind  string   `yaml:"kind" required:"true" enum:"lazy|free_rider|sybil|label_flip|sign_flip|scaling|little_is_enough|colluding_validators|equivocation|silent_validator|delayed_votes" doc:"The attack."`
	Count int      `yaml:"count" min:"0" doc:"Number of attacking nodes; give count or share."`
	Share Share    `yaml:"share" min:"0%" max:"100%" doc:"Share of the nodes that attack."`
	Group string   `yaml:"group" doc:"Population group the attackers are drawn from. Default: any."`
	Start Duration `yaml:"start" min:"0s" doc:"When the attack begins."`
	Delay Duration `yaml:"delay" default:"500ms" min:"0s" doc:"delayed_votes: how late the attackers' votes leave."`
}

// Outputs says what a run writes.
type Outputs struct {
	Formats []string `yaml:"formats" enum:"md|html|json|csv" doc:"Report files: md (report.md), html (report.html), json (metrics.json), csv (timeseries.csv). Default: all."`
	Step    Duration `yaml:"step" default:"1s" min:"1ms" doc:"Resolution of time series."`
	Dir     string   `yaml:"dir" doc:"Folder for the run's files. Default: runs/<run.name>."`
}

// Matrix is the region matrix the scenario resolved (measured, a CSV or
// inline, restricted to the regions it names), with the intra-region RTT
// on the diagonal.
func (sc *Scenario) Matrix() netmodel.Matrix { return sc.matrix }

// Link is the access link of a node of group g: the group's named class,
// or, without one, a class drawn by share with u, a uniform draw in [0, 1)
// from the node's own placement stream.
func (sc *Scenario) Link(g Group, u float64) netmodel.Link {
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
	return netmodel.Link{UpBps: pick.Up.BitsPerSecond(), DownBps: pick.Down.BitsPerSecond()}
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
