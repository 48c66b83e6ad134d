package scenarios

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/gpu/profile"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/scenarios/netspec"
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// at returns where a key path was written, falling back to its parents.
func (d *decoder) at(path string) Pos {
	for p := path; p != ""; {
		if pos, ok := d.pos[p]; ok {
			return pos
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return d.top
}

func (d *decoder) check(path string, format string, a ...any) {
	d.errorf(d.at(path), path, format, a...)
}

const shareTolerance = 1e-9

// validate checks what the types alone cannot: references between
// sections, sums of shares, the shape of a matrix, files named.
func (d *decoder) validate(sc *Scenario, root *node) {
	if !nameRE.MatchString(sc.Run.Name) {
		d.check("run.name", "%q: use letters, digits, '.', '_' and '-' (it names a folder)", sc.Run.Name)
	}
	d.validateLatency(sc)
	d.validateBandwidth(sc)
	before := len(d.errs)
	d.validatePopulation(sc)
	populationOK := len(d.errs) == before
	regions := sc.matrix.Regions
	groups := map[string]bool{}
	for _, g := range sc.Population.Groups {
		groups[g.Name] = true
	}
	for i, p := range sc.Network.Partitions {
		path := fmt.Sprintf("network.partitions[%d]", i)
		if p.Until <= p.From {
			d.check(path+".until", "%v is not after from (%v): a partition must heal after it starts", p.Until, p.From)
		}
		if len(p.Regions)+len(p.Groups)+len(p.Nodes) == 0 {
			d.check(path, "names nothing to cut off: give regions, groups or nodes")
		}
		if len(regions) > 0 { // else the matrix failed, and said so
			d.checkNames(path+".regions", p.Regions, regions, "region")
		}
		d.checkNames(path+".groups", p.Groups, keys(groups), "population group")
		for j, id := range p.Nodes {
			if id < 0 || id >= sc.NodeCount() {
				d.check(fmt.Sprintf("%s.nodes[%d]", path, j), "node %d does not exist: IDs run from 0 to %d", id, sc.NodeCount()-1)
			}
		}
	}
	if w := sc.Workload; w != nil {
		d.validateWorkload(sc, w)
	}
	d.validateGossip(sc)
	if l := sc.Protocol.Learning; l != nil && l.NormBound != 0 && l.NormBound < 1 {
		d.check("protocol.learning.norm_bound", "%v would reject the median update itself: give 0 (no bound) or at least 1", l.NormBound)
	}
	if l := sc.Protocol.Learning; l != nil && l.DP != nil {
		if l.Aggregation != "fedavg" {
			d.check("protocol.learning.dp", "differential privacy is DP-FedAvg: set aggregation to fedavg (it is %s; the guarantee is the mean's)", l.Aggregation)
		}
		if l.Surrogate != nil {
			d.check("protocol.learning.dp", "differential privacy in surrogate mode: the fitted learning curve knows nothing of the noise")
		}
	}
	d.validateEconomy(sc)
	d.validateSettlement(sc)
	if l := sc.Protocol.Learning; l != nil && l.SecureAggregation != nil {
		d.validateSecureAggregation(l)
	}
	for i, a := range sc.Adversaries {
		path := fmt.Sprintf("adversaries[%d]", i)
		d.countOrShare(path, d.has(path+".count"), d.has(path+".share"))
		if a.Group != "" && !groups[a.Group] {
			d.check(path+".group", "no population group %q%s", a.Group, suggest(a.Group, keys(groups)))
		}
	}
	if populationOK { // the runner checks count nodes by group
		d.validateRunner(sc)
	}
	if len(sc.Outputs.Formats) == 0 {
		sc.Outputs.Formats = []string{"md", "html", "json", "csv"}
	}
	d.noDuplicates("outputs.formats", sc.Outputs.Formats)
	if sc.Outputs.Dir == "" {
		sc.Outputs.Dir = filepath.Join("runs", sc.Run.Name)
	}
}

// validateSettlement refuses what the market cannot yet do on the BFT
// chain (settlement: chain).
func (d *decoder) validateSettlement(sc *Scenario) {
	if sc.Protocol.Market.Settlement != "chain" {
		return
	}
	if sc.Protocol.Market.Matching == "continuous" {
		d.check("protocol.market.matching", "continuous matching with settlement: chain: on the BFT chain a job opens when the block holding its post commits, and its results settle in batches, one Merkle root per block; use per_block")
	}
	if len(sc.Protocol.Governance.Proposals) > 0 {
		d.check("protocol.governance.proposals", "governance proposals with settlement: chain are not supported yet (each would be signed by its proposer's own account); use settlement: modeled")
	}
	if w := sc.Workload; w != nil {
		for i, j := range w.Jobs {
			if j.Stream {
				d.check(fmt.Sprintf("workload.jobs[%d].stream", i), "streamed jobs with settlement: chain are not supported yet; use settlement: modeled")
			}
		}
	}
}

// validateSecureAggregation refuses what needs individual updates, which
// secure aggregation hides from the coordinator: every rule but fedavg,
// the score filter, marginal scores, an aggregator committee; and
// surrogate mode, which models no masking.
func (d *decoder) validateSecureAggregation(l *Learning) {
	if l.Aggregation != "fedavg" {
		d.check("protocol.learning.aggregation", "%s compares individual updates, which secure aggregation hides from the coordinator: use fedavg (or dp), or run %s in clear with secure_aggregation.clear_rule", l.Aggregation, l.Aggregation)
	}
	if l.Filter {
		d.check("protocol.learning.filter", "the score filter needs validators to score individual updates, which secure aggregation hides")
	}
	if l.MarginalScores {
		d.check("protocol.learning.marginal_scores", "marginal scores need individual updates, which secure aggregation hides")
	}
	if l.Aggregators > 0 {
		d.check("protocol.learning.aggregators", "an aggregator committee aggregates individual updates, which secure aggregation hides")
	}
	if l.Surrogate != nil {
		d.check("protocol.learning.secure_aggregation", "secure aggregation in surrogate mode: give real gradients (no surrogate)")
	}
}

func (d *decoder) has(path string) bool { _, ok := d.pos[path]; return ok }

// keys are m's keys, sorted: suggestions and messages list them in a
// fixed order.
func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (d *decoder) checkNames(path string, names, known []string, what string) {
	set := map[string]bool{}
	for _, k := range known {
		set[k] = true
	}
	for j, n := range names {
		if !set[n] {
			d.check(fmt.Sprintf("%s[%d]", path, j), "unknown %s %q%s", what, n, suggest(n, known))
		}
	}
}

func (d *decoder) noDuplicates(path string, xs []string) {
	seen := map[string]bool{}
	for j, x := range xs {
		if seen[x] {
			d.check(fmt.Sprintf("%s[%d]", path, j), "%q is listed twice", x)
		}
		seen[x] = true
	}
}

func (d *decoder) countOrShare(path string, hasCount, hasShare bool) {
	switch {
	case hasCount && hasShare:
		d.check(path+".share", "give count or share, not both")
	case !hasCount && !hasShare:
		d.check(path, "give count or share")
	}
}

func (d *decoder) validateLatency(sc *Scenario) {
	l := &sc.Network.Latency
	switch l.Matrix {
	case "measured":
		sc.matrix = netspec.DefaultMatrix()
	case "inline":
		if len(l.Regions) == 0 {
			d.check("network.latency.regions", "matrix: inline needs the region names")
			return
		}
		if len(l.RTTms) != len(l.Regions) {
			d.check("network.latency.rtt_ms", "matrix is not square: %d rows for %d regions", len(l.RTTms), len(l.Regions))
			return
		}
		m := netspec.Matrix{Regions: l.Regions}
		for i, row := range l.RTTms {
			rp := fmt.Sprintf("network.latency.rtt_ms[%d]", i)
			if len(row) != len(l.Regions) {
				d.check(rp, "matrix is not square: row %d (%s) has %d values for %d regions", i, l.Regions[i], len(row), len(l.Regions))
				return
			}
			out := make([]protocol.Duration, len(row))
			for j, ms := range row {
				if ms < 0 {
					d.check(fmt.Sprintf("%s[%d]", rp, j), "%g ms is negative", ms)
					return
				}
				out[j] = protocol.Duration(math.Round(ms * float64(protocol.Millisecond)))
			}
			m.RTT = append(m.RTT, out)
		}
		sc.matrix = m
		d.noDuplicates("network.latency.regions", l.Regions)
		l.Regions = nil // all of them, in this order
	default:
		path := l.Matrix
		if !filepath.IsAbs(path) && sc.File != "" {
			path = filepath.Join(filepath.Dir(sc.File), path)
		}
		f, err := os.Open(path)
		if err != nil {
			d.check("network.latency.matrix", "want measured, inline or a CSV file; cannot read %q: %v", l.Matrix, unwrapPathErr(err))
			return
		}
		defer f.Close()
		m, err := netspec.ParseMatrixCSV(f, path)
		if err != nil {
			d.check("network.latency.matrix", "%v", err)
			return
		}
		sc.matrix = m
	}
	if len(l.RTTms) > 0 && l.Matrix != "inline" {
		d.check("network.latency.rtt_ms", "only used with matrix: inline")
	}
	for i := range sc.matrix.RTT {
		if sc.matrix.RTT[i][i] == 0 {
			sc.matrix.RTT[i][i] = l.IntraRegionRTT.D()
		}
	}
	if len(l.Regions) > 0 {
		d.checkNames("network.latency.regions", l.Regions, sc.matrix.Regions, "region")
		d.noDuplicates("network.latency.regions", l.Regions)
		sc.matrix = subMatrix(sc.matrix, l.Regions)
	}
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func subMatrix(m netspec.Matrix, names []string) netspec.Matrix {
	var idx []int
	for _, n := range names {
		if i := m.Index(n); i >= 0 {
			idx = append(idx, i)
		}
	}
	out := netspec.Matrix{}
	for _, i := range idx {
		out.Regions = append(out.Regions, m.Regions[i])
		row := make([]protocol.Duration, len(idx))
		for k, j := range idx {
			row[k] = m.RTT[i][j]
		}
		out.RTT = append(out.RTT, row)
	}
	return out
}

func (d *decoder) validateBandwidth(sc *Scenario) {
	bw := sc.Network.Bandwidth
	if len(bw) == 0 {
		sc.Network.Bandwidth = []BandwidthClass{{Name: "default", Share: 1, Up: 1e9, Down: 1e9}}
		return
	}
	if len(bw) == 1 && !d.has("network.bandwidth[0].share") {
		sc.Network.Bandwidth[0].Share = 1
	}
	var sum float64
	names := map[string]bool{}
	for i, c := range sc.Network.Bandwidth {
		if names[c.Name] {
			d.check(fmt.Sprintf("network.bandwidth[%d].name", i), "class %q is defined twice", c.Name)
		}
		names[c.Name] = true
		sum += float64(c.Share)
	}
	// Shares place the nodes of groups that name no class; when every
	// group names one, no node is placed by share.
	named := len(sc.Population.Groups) > 0
	for _, g := range sc.Population.Groups {
		named = named && g.Bandwidth != ""
	}
	if math.Abs(sum-1) > shareTolerance && !(named && sum == 0) {
		d.check("network.bandwidth", "class shares sum to %s, want 100%%", Share(sum))
	}
}

// NodeCount is the number of nodes the population describes.
func (sc *Scenario) NodeCount() int {
	if sc.Population.Nodes > 0 {
		return sc.Population.Nodes
	}
	n := 0
	for _, g := range sc.Population.Groups {
		n += g.Count
	}
	return n
}

func (d *decoder) validatePopulation(sc *Scenario) {
	p := &sc.Population
	d.loadProfiles(sc)
	if len(p.Groups) == 0 {
		if p.Nodes == 0 {
			d.check("population", "give nodes, or groups of nodes")
			return
		}
		p.Groups = []Group{{Name: "nodes", GPU: "cpu", Count: p.Nodes, Roles: []string{"provider"}}}
		return
	}
	names := map[string]bool{}
	var counted int
	var shared float64
	anyShare := false
	for i, g := range p.Groups {
		path := fmt.Sprintf("population.groups[%d]", i)
		if names[g.Name] {
			d.check(path+".name", "group %q is defined twice", g.Name)
		}
		names[g.Name] = true
		if _, ok := sc.gpus.Lookup(g.GPU); !ok {
			names := sc.gpus.Names()
			d.check(path+".gpu", "unknown GPU class %q%s; the catalog has %s", g.GPU, suggest(g.GPU, names), strings.Join(names, ", "))
		}
		hasCount, hasShare := d.has(path+".count"), d.has(path+".share")
		if len(p.Groups) == 1 && !hasCount && !hasShare && p.Nodes > 0 {
			p.Groups[i].Share, hasShare = 1, true
		}
		d.countOrShare(path, hasCount, hasShare)
		if hasShare {
			anyShare = true
			shared += float64(p.Groups[i].Share)
		}
		counted += g.Count
		if len(sc.matrix.Regions) > 0 {
			d.checkNames(path+".regions", g.Regions, sc.matrix.Regions, "region")
		}
		if g.Bandwidth != "" {
			var classes []string
			for _, c := range sc.Network.Bandwidth {
				classes = append(classes, c.Name)
			}
			if !contains(classes, g.Bandwidth) {
				d.check(path+".bandwidth", "no bandwidth class %q%s; network.bandwidth has %s", g.Bandwidth, suggest(g.Bandwidth, classes), strings.Join(classes, ", "))
			}
		}
		if len(g.Roles) == 0 {
			p.Groups[i].Roles = []string{"provider"}
		}
		d.noDuplicates(path+".roles", g.Roles)
	}
	if len(d.errs) > 0 {
		return
	}
	switch {
	case anyShare && p.Nodes == 0:
		d.check("population.nodes", "missing: groups given by share need the total number of nodes")
	case anyShare:
		if shared > 1+shareTolerance {
			d.check("population.groups", "group shares sum to %s, more than 100%%", Share(shared))
			return
		}
		rest := p.Nodes - counted
		if rest < 0 {
			d.check("population.groups", "group counts add up to %d, more than population.nodes = %d", counted, p.Nodes)
			return
		}
		// Shares split the nodes that counts leave; largest remainder
		// rounding keeps the total exact.
		d.splitShares(p, rest, shared)
	default:
		if p.Nodes > 0 && counted != p.Nodes {
			d.check("population.nodes", "%d, but the group counts add up to %d", p.Nodes, counted)
		}
		if counted == 0 {
			d.check("population.groups", "the groups hold no nodes")
		}
	}
}

// loadProfiles reads population.hardware_profiles into the scenario's GPU
// catalog.
func (d *decoder) loadProfiles(sc *Scenario) {
	var added []gpu.Class
	for i, f := range sc.Population.HardwareProfiles {
		key := fmt.Sprintf("population.hardware_profiles[%d]", i)
		path := f
		if !filepath.IsAbs(path) && sc.File != "" {
			path = filepath.Join(filepath.Dir(sc.File), path)
		}
		prof, err := profile.Load(path)
		if err != nil {
			d.check(key, "%v", err)
			continue
		}
		c := prof.GPUClass()
		if slices.ContainsFunc(added, func(a gpu.Class) bool { return strings.EqualFold(a.Name, c.Name) }) {
			d.check(key, "%s defines class %q, which an earlier profile defines too", f, c.Name)
			continue
		}
		added = append(added, c)
	}
	cat, err := gpu.NewCatalog(added...)
	if err != nil { // profile.Load and the check above rule this out
		panic(fmt.Sprintf("scenarios: measured classes do not make a catalog: %v", err))
	}
	sc.gpus = cat
}

func (d *decoder) splitShares(p *Population, rest int, shared float64) {
	if math.Abs(shared-1) > shareTolerance && shared > 0 {
		d.check("population.groups", "group shares sum to %s; they must sum to 100%% of the nodes the counts leave", Share(shared))
		return
	}
	type rem struct {
		i    int
		frac float64
	}
	given := 0
	var rems []rem
	for i := range p.Groups {
		if !d.has(fmt.Sprintf("population.groups[%d].share", i)) && !(len(p.Groups) == 1) {
			continue
		}
		if d.has(fmt.Sprintf("population.groups[%d].count", i)) {
			continue
		}
		exact := float64(p.Groups[i].Share) * float64(rest)
		p.Groups[i].Count = int(math.Floor(exact))
		given += p.Groups[i].Count
		rems = append(rems, rem{i, exact - math.Floor(exact)})
	}
	// Hand out what rounding down left, largest fraction first, ties by order.
	for left := rest - given; left > 0; left-- {
		best := 0
		for k := range rems {
			if rems[k].frac > rems[best].frac {
				best = k
			}
		}
		p.Groups[rems[best].i].Count++
		rems[best].frac = -1
	}
}

func (d *decoder) validateWorkload(sc *Scenario, w *Workload) {
	if b := sc.Protocol.Market.Bandwidth; b != "" && !slices.ContainsFunc(sc.Network.Bandwidth, func(c BandwidthClass) bool { return c.Name == b }) {
		var names []string
		for _, c := range sc.Network.Bandwidth {
			names = append(names, c.Name)
		}
		d.check("protocol.market.bandwidth", "no network.bandwidth class %q%s", b, suggest(b, names))
	}
	if m := sc.Protocol.Market; m.CommitDelay >= m.BlockInterval {
		d.check("protocol.market.commit_delay", "commit delay %s is not below the block interval %s", m.CommitDelay, m.BlockInterval)
	}
	if m := sc.Protocol.Market; w.Drain <= 4*m.BlockInterval {
		d.check("workload.drain", "drain %s: want more than four blocks (4 × %s) so that the last jobs settle", w.Drain, m.BlockInterval)
	}
	a := w.Arrivals
	switch a.Process {
	case "poisson", "constant":
		if a.Rate <= 0 {
			d.check("workload.arrivals.rate", "%s arrivals need a rate > 0, e.g. 10/s", a.Process)
		}
	case "burst":
		if a.BurstSize == 0 || a.BurstEvery == 0 {
			d.check("workload.arrivals", "burst arrivals need burst_size and burst_every")
		}
	case "trace":
		if a.Trace == "" {
			d.check("workload.arrivals.trace", "trace arrivals need a trace file")
		} else {
			path := a.Trace
			if !filepath.IsAbs(path) && sc.File != "" {
				path = filepath.Join(filepath.Dir(sc.File), path)
			}
			if _, err := os.Stat(path); err != nil {
				d.check("workload.arrivals.trace", "cannot read %q: %v", a.Trace, unwrapPathErr(err))
			}
		}
	}
	var sum float64
	names := map[string]bool{}
	for i, j := range w.Jobs {
		if names[j.Name] {
			d.check(fmt.Sprintf("workload.jobs[%d].name", i), "job type %q is defined twice", j.Name)
		}
		names[j.Name] = true
		sum += float64(j.Share)
	}
	if len(w.Jobs) > 0 && math.Abs(sum-1) > shareTolerance {
		d.check("workload.jobs", "job shares sum to %s, want 100%%", Share(sum))
	}
}

func (d *decoder) validateGossip(sc *Scenario) {
	g := &sc.Protocol.Gossip
	if g.Schedule == "mining" && g.Interval == 0 {
		d.check("protocol.gossip.interval", "0s, but schedule mining needs a mean interval between blocks > 0")
	}
	d.noDuplicates("protocol.gossip.compare", g.Compare)
	if g.HashPower != nil && g.Schedule != "mining" {
		d.check("protocol.gossip.hash_power", "only used with schedule: mining")
	}
	var groups []string
	for _, gr := range sc.Population.Groups {
		groups = append(groups, gr.Name)
	}
	for i, v := range g.Validation.Groups {
		path := fmt.Sprintf("protocol.gossip.validation.groups[%d].group", i)
		if !contains(groups, v.Group) {
			d.check(path, "no population group %q%s; the groups are %s", v.Group, suggest(v.Group, groups), strings.Join(groups, ", "))
		}
	}
}
