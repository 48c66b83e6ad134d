package learnrun

import (
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dais-sim/dais/gpu/datasets"
	"github.com/dais-sim/dais/gpu/models"
	"github.com/dais-sim/dais/protocol/learn"
	"github.com/dais-sim/dais/scenarios/learning"
)

// FilterSuffix marks a table rule that aggregates only updates whose
// median validator score is at least Params.MinScore.
const FilterSuffix = "+filter"

// TableAttack is one attack column group of the table.
type TableAttack struct {
	Name   string
	Attack learning.Attack // Share is set per cell
}

// TableOptions describe an attack table: every rule × partition ×
// attack × attacker share, one run each with Base's other settings and
// seed. Base.Baseline adds the centralized baseline.
type TableOptions struct {
	Base learning.Params
	// Rules are learn.NamedRule names; a name ending in FilterSuffix
	// is that rule behind the validators' score filter (Params.Filter
	// with Base.MinScore).
	Rules      []string
	Partitions []datasets.Scheme
	Attacks    []TableAttack
	// Shares are the attackers' shares of learner identities; 0 is the
	// clean run, shared by every attack of a rule and partition.
	Shares []float64
	// Workers run cells in parallel (0: GOMAXPROCS). Each run is
	// deterministic, so the table does not depend on it.
	Workers int
	// Progress, if not nil, is called after each run, from one goroutine
	// at a time.
	Progress func(done, total int)
}

// DefaultTableOptions is the table: the six rules and FedAvg
// behind the validators' score filter; IID and
// Dirichlet(0.5) partitions; label flipping, sign flipping, scaling, a
// little is enough, free riding and Sybil label flipping (both shards);
// attacker shares 0, 10, 20, 30 and 45%; 20 providers, 20 rounds of 2
// local epochs.
func DefaultTableOptions() TableOptions {
	base := learning.DefaultParams()
	base.Baseline = true
	return TableOptions{
		Base:       base,
		Rules:      append(slices.Clone(learn.RuleNames), learn.RuleFedAvg+FilterSuffix),
		Partitions: []datasets.Scheme{{Kind: datasets.SchemeIID}, {Kind: datasets.SchemeDirichlet, Alpha: 0.5}},
		Attacks: []TableAttack{
			{Name: "label_flip", Attack: learning.Attack{Kind: learning.LabelFlip}},
			{Name: "sign_flip", Attack: learning.Attack{Kind: learning.SignFlip}},
			{Name: "scaling", Attack: learning.Attack{Kind: learning.Scaling}},
			{Name: "little_is_enough", Attack: learning.Attack{Kind: learning.LittleIsEnough}},
			{Name: "free_rider", Attack: learning.Attack{Kind: learning.FreeRider}},
			{Name: "sybil", Attack: learning.Attack{Kind: learning.Sybil, SybilData: learning.SybilSample}},
			{Name: "sybil_source", Attack: learning.Attack{Kind: learning.Sybil, SybilData: learning.SybilSource}},
		},
		Shares: []float64{0, 0.1, 0.2, 0.3, 0.45},
	}
}

// SybilTableOptions is the Sybil setting of Fung, Yoon and Beschastnikh
// (2020, "The Limitations of Federated Learning in Sybil Settings"; their
// MNIST experiment, on optdigits here): 10 honest providers, each holding
// the rows of one class (one-class partition); k Sybil identities, each
// training on the same copy of every Source-class row relabelled as
// Target (SybilSource: 1 → 7); softmax regression trained as distributed
// SGD, one gradient step per round on each learner's data (here one
// full-batch step of learning rate 1, 30 rounds; the paper takes 3,000
// steps on batches of 50, each client's update normalized to norm 1). The few honest holders of the source class are
// outnumbered for that class, and the Sybils' identical updates are the
// tightest cluster of the round. Shares are k = 2, 5 and 9 Sybils beside
// the 10 providers (and 0, the clean run); every rule of learn.RuleNames
// and FedAvg behind the validators' score filter.
func SybilTableOptions() TableOptions {
	base := learning.DefaultParams()
	base.Model = models.KindSoftmax
	base.Providers = 10
	base.Partition = datasets.Scheme{Kind: datasets.SchemeOneClass}
	// One full-batch step: no class has more than 389 of optdigits'
	// training rows, and a provider (or Sybil) holds one class.
	base.Epochs, base.BatchSize = 1, 400
	base.LearningRate, base.Momentum = 1, 0
	base.Rounds = 30
	return TableOptions{
		Base:       base,
		Rules:      append(slices.Clone(learn.RuleNames), learn.RuleFedAvg+FilterSuffix),
		Partitions: []datasets.Scheme{base.Partition},
		Attacks:    []TableAttack{{Name: "sybil_source", Attack: learning.Attack{Kind: learning.Sybil, SybilData: learning.SybilSource}}},
		Shares:     SybilShares(base.Providers, 0, 2, 5, 9),
	}
}

// SybilShares returns the attacker shares of k Sybils beside n providers,
// k/(n+k), for each k.
func SybilShares(n int, ks ...int) []float64 {
	out := make([]float64, len(ks))
	for i, k := range ks {
		out[i] = float64(k) / float64(n+k)
	}
	return out
}

// Cell is one run of the table.
type Cell struct {
	Partition, Rule, Attack string
	Share                   float64
	// Accuracy is the final test accuracy, Drop the clean cell's minus
	// this one's; AttackSuccess is MeanAttackSuccess.
	Accuracy, Drop, AttackSuccess float64
	// NodeShare and TokenShare are the attackers' shares of identities
	// and of the training reward.
	NodeShare, TokenShare float64
	Wall                  time.Duration
}

// Table is the result of AttackTable.
type Table struct {
	Options TableOptions
	Cells   []Cell
	// Centralized is the baseline's test accuracy; Wall the whole table's
	// host time.
	Centralized float64
	Wall        time.Duration
}

// AttackTable runs every cell of the table. Cells run on Workers
// goroutines, each run in its own World.
func AttackTable(opts TableOptions) (*Table, error) {
	start := time.Now()
	type job struct {
		cell Cell
		p    learning.Params
	}
	var jobs []job
	for _, part := range opts.Partitions {
		for _, rule := range opts.Rules {
			for _, share := range opts.Shares {
				attacks := opts.Attacks
				if share == 0 {
					attacks = []TableAttack{{Name: "none"}}
				}
				for _, a := range attacks {
					p := opts.Base
					p.Rule, p.Filter = strings.CutSuffix(rule, FilterSuffix)
					p.Partition, p.Attack = part, a.Attack
					p.Attack.Share = share
					p.Clean, p.Baseline, p.Sink = false, false, nil
					jobs = append(jobs, job{Cell{Partition: p.PartitionName(), Rule: rule, Attack: a.Name, Share: share}, p})
				}
			}
		}
	}
	t := &Table{Options: opts, Cells: make([]Cell, len(jobs))}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	next := make(chan int)
	errs := make([]error, len(jobs))
	var mu sync.Mutex
	done := 0
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				j := jobs[i]
				res, err := Run(&j.p)
				if err != nil {
					errs[i] = err
				} else {
					c := j.cell
					c.Accuracy, c.AttackSuccess = res.Final(), res.MeanAttackSuccess()
					c.NodeShare, c.TokenShare, c.Wall = res.AttackerNodeShare(), res.AttackerTokenShare(), res.Wall
					t.Cells[i] = c
				}
				mu.Lock()
				done++
				if opts.Progress != nil {
					opts.Progress(done, len(jobs))
				}
				mu.Unlock()
			}
		}()
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("learnrun: table cell %+v: %w", jobs[i].cell, err)
		}
	}
	for i, c := range t.Cells {
		if clean, ok := t.Cell(c.Partition, c.Rule, "none", 0); ok {
			t.Cells[i].Drop = clean.Accuracy - c.Accuracy
		}
	}
	t.Centralized = math.NaN()
	if opts.Base.Baseline {
		var err error
		if t.Centralized, err = Centralized(&opts.Base); err != nil {
			return nil, err
		}
	}
	t.Wall = time.Since(start)
	return t, nil
}

// Cell returns the cell of a partition (as schemeName spells it), rule,
// attack and share; share 0 is attack "none".
func (t *Table) Cell(partition, rule, attack string, share float64) (Cell, bool) {
	for _, c := range t.Cells {
		if c.Partition == partition && c.Rule == rule && c.Share == share && (c.Attack == attack || share == 0) {
			return c, true
		}
	}
	return Cell{}, false
}

// Markdown renders the table: Data().Markdown().
func (t *Table) Markdown() string { return t.Data().Markdown() }

// Data returns the table's results as TableData.
func (t *Table) Data() *TableData {
	o := t.Options
	d := &TableData{Rules: o.Rules, Shares: o.Shares, BaselineEpochs: o.Base.BaselineEpochs,
		Centralized: JSONFloat(t.Centralized), Runs: len(t.Cells), Wall: t.Wall.Round(time.Second)}
	for _, part := range o.Partitions {
		p := o.Base
		p.Partition = part
		d.Partitions = append(d.Partitions, p.PartitionName())
	}
	for _, a := range o.Attacks {
		d.Attacks = append(d.Attacks, a.Name)
	}
	for _, c := range t.Cells {
		d.Cells = append(d.Cells, TableCell{Partition: c.Partition, Rule: c.Rule, Attack: c.Attack, Share: c.Share,
			Accuracy: JSONFloat(c.Accuracy), AttackSuccess: JSONFloat(c.AttackSuccess),
			NodeShare: JSONFloat(c.NodeShare), TokenShare: JSONFloat(c.TokenShare)})
	}
	return d
}

// TableData is an attack table's results as TestAttackTable writes them
// to JSON (-tablejson; the surrogate embeds BENCHMARKS.md's table as
// attack_table.json): everything its Markdown renders.
type TableData struct {
	// Partitions are as schemeName spells them ("iid", "dirichlet(0.5)").
	Partitions []string  `json:"partitions"`
	Rules      []string  `json:"rules"`
	Attacks    []string  `json:"attacks"`
	Shares     []float64 `json:"shares"`
	// BaselineEpochs and Centralized describe the centralized baseline
	// (Centralized null: none).
	BaselineEpochs int       `json:"baseline_epochs"`
	Centralized    JSONFloat `json:"centralized"`
	Runs           int       `json:"runs"`
	// Wall is the whole table's host time, in nanoseconds, rounded to
	// the second.
	Wall  time.Duration `json:"wall_ns"`
	Cells []TableCell   `json:"cells"`
}

// TableCell is one run of TableData; Cell says what its fields are.
type TableCell struct {
	Partition     string    `json:"partition"`
	Rule          string    `json:"rule"`
	Attack        string    `json:"attack"`
	Share         float64   `json:"share"`
	Accuracy      JSONFloat `json:"accuracy"`
	AttackSuccess JSONFloat `json:"attack_success"`
	NodeShare     JSONFloat `json:"node_share"`
	TokenShare    JSONFloat `json:"token_share"`
}

// JSONFloat is a float64 that encodes NaN as JSON null and decodes null
// as NaN.
type JSONFloat float64

// MarshalJSON implements json.Marshaler.
func (f JSONFloat) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(f)) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(f))
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *JSONFloat) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = JSONFloat(math.NaN())
		return nil
	}
	return json.Unmarshal(b, (*float64)(f))
}

// Cell returns the cell of a partition, rule, attack and share; share 0
// is attack "none".
func (d *TableData) Cell(partition, rule, attack string, share float64) (TableCell, bool) {
	for _, c := range d.Cells {
		if c.Partition == partition && c.Rule == rule && c.Share == share && (c.Attack == attack || share == 0) {
			return c, true
		}
	}
	nan := JSONFloat(math.NaN())
	return TableCell{Accuracy: nan, AttackSuccess: nan, NodeShare: nan, TokenShare: nan}, false
}

// Markdown renders the table: for each partition and attack, rules down
// and attacker shares across, each cell "final accuracy / attack success"
// in percent; then the attackers' reward share under the first rule.
func (d *TableData) Markdown() string {
	var b strings.Builder
	pct := func(x JSONFloat) string {
		if math.IsNaN(float64(x)) {
			return "–"
		}
		return fmt.Sprintf("%.1f", 100*x)
	}
	header := func(first string) {
		b.WriteString("| " + first + " |")
		for _, s := range d.Shares {
			fmt.Fprintf(&b, " %.3g%% |", 100*s)
		}
		b.WriteString("\n|---|")
		for range d.Shares {
			b.WriteString("---:|")
		}
		b.WriteString("\n")
	}
	for _, pn := range d.Partitions {
		for _, a := range d.Attacks {
			fmt.Fprintf(&b, "\n**%s, %s** — final test accuracy %% / attack success %% (1→7, mean over the last half of the rounds)\n\n", pn, a)
			header("rule")
			for _, rule := range d.Rules {
				b.WriteString("| " + rule + " |")
				for _, s := range d.Shares {
					c, _ := d.Cell(pn, rule, a, s)
					fmt.Fprintf(&b, " %s / %s |", pct(c.Accuracy), pct(c.AttackSuccess))
				}
				b.WriteString("\n")
			}
		}
		if len(d.Rules) > 0 {
			fmt.Fprintf(&b, "\n**%s, %s** — attackers' share of the training reward %% (share ∝ positive validator score; their share of identities is the column)\n\n", pn, d.Rules[0])
			header("attack")
			for _, a := range d.Attacks {
				b.WriteString("| " + a + " |")
				for _, s := range d.Shares {
					c, _ := d.Cell(pn, d.Rules[0], a, s)
					if s == 0 {
						b.WriteString(" – |")
						continue
					}
					fmt.Fprintf(&b, " %s (of %s) |", pct(c.TokenShare), pct(c.NodeShare))
				}
				b.WriteString("\n")
			}
		}
	}
	if !math.IsNaN(float64(d.Centralized)) {
		fmt.Fprintf(&b, "\nCentralized baseline (same MLP, every provider row, %d epochs): %s%%.", d.BaselineEpochs, pct(d.Centralized))
	}
	fmt.Fprintf(&b, "\n%d runs, wall time %v.\n", d.Runs, d.Wall)
	return b.String()
}
