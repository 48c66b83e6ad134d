package scenarios

import (
	"fmt"
	"slices"
)

// optdigitsRows is what data providers can draw from: optdigits'
// training rows (the validation rows come out of them too).
const optdigitsRows = 3823

// validateEconomy checks protocol.learning.economy's references: data sets
// and human validators name groups of the right role, copies name a data
// set, the pools and the rows fit.
func (d *decoder) validateEconomy(sc *Scenario) {
	l := sc.Protocol.Learning
	if l == nil || l.Economy == nil {
		return
	}
	e := l.Economy
	const base = "protocol.learning.economy"
	if l.SecureAggregation != nil {
		d.check(base, "the economy pays learners by the validators' scores of each update, which secure_aggregation hides: drop one of them")
	}
	if l.DP != nil || l.Surrogate != nil || l.Clean {
		d.check(base, "the economy runs alone: drop dp, surrogate and clean")
	}
	groups := map[string]Group{}
	var names []string
	for _, g := range sc.Population.Groups {
		groups[g.Name] = g
		names = append(names, g.Name)
	}
	if sum := e.Pools.Compute + e.Pools.Data + e.Pools.Validation; float64(sum) > 1+shareTolerance {
		d.check(base+".pools", "shares sum to %.4g%%: at most 100%% (the rest goes to the treasury)", 100*float64(sum))
	}
	if e.Dedup.Bands > e.Dedup.Hashes || e.Dedup.Hashes%e.Dedup.Bands != 0 {
		d.check(base+".dedup.bands", "%d bands do not divide %d hashes", e.Dedup.Bands, e.Dedup.Hashes)
	}
	switch {
	case e.Access == "paid" && e.Price <= 0:
		d.check(base+".price", "paid access needs a price above 0")
	case e.Access == "open" && e.Price != 0:
		d.check(base+".price", "open access is free: drop the price, or set access: paid")
	}
	role := func(path, name, want string) bool {
		g, ok := groups[name]
		if !ok {
			d.check(path, "no population group %q%s", name, suggest(name, names))
			return false
		}
		if !slices.Contains(g.Roles, want) {
			d.check(path, "group %q has roles %v: it needs the %s role", name, g.Roles, want)
			return false
		}
		return true
	}
	listed := map[string]int{}
	var dataGroups []string
	rows := l.ValidationRows
	for i, ds := range e.Data {
		path := fmt.Sprintf("%s.data[%d]", base, i)
		if _, twice := listed[ds.Group]; twice {
			d.check(path+".group", "group %q has two data sets", ds.Group)
		}
		listed[ds.Group] = i
		dataGroups = append(dataGroups, ds.Group)
		ok := role(path+".group", ds.Group, "data_owner")
		for j, c := range ds.Classes {
			if c < 0 || c > 9 {
				d.check(fmt.Sprintf("%s.classes[%d]", path, j), "digit %d: optdigits has classes 0 to 9", c)
			}
		}
		if ds.CopyOf == "" {
			if ok {
				rows += ds.Rows * groups[ds.Group].Count
			}
			if d.has(path + ".jitter") {
				d.check(path+".jitter", "jitter moves copied pixels: give copy_of too")
			}
		}
	}
	for i, ds := range e.Data {
		path := fmt.Sprintf("%s.data[%d].copy_of", base, i)
		if ds.CopyOf == "" {
			continue
		}
		j, ok := listed[ds.CopyOf]
		switch {
		case !ok:
			d.check(path, "no data set of group %q to copy%s", ds.CopyOf, suggest(ds.CopyOf, dataGroups))
		case ds.CopyOf == ds.Group:
			d.check(path, "a group cannot copy itself: use duplicates for padding")
		case e.Data[j].CopyOf != "":
			d.check(path, "group %q copies %q in turn: name the original", ds.CopyOf, e.Data[j].CopyOf)
		}
	}
	if rows > optdigitsRows {
		d.check(base+".data", "the data sets and the %d validation rows need %d rows; optdigits has %d training rows", l.ValidationRows, rows, optdigitsRows)
	}
	humans := map[string]bool{}
	for i, h := range e.Humans {
		path := fmt.Sprintf("%s.humans[%d].group", base, i)
		role(path, h.Group, "validator")
		if humans[h.Group] {
			d.check(path, "group %q is listed twice", h.Group)
		}
		humans[h.Group] = true
	}
	auto, compute := 0, 0
	for i, g := range sc.Population.Groups {
		path := fmt.Sprintf("population.groups[%d]", i)
		if slices.Contains(g.Roles, "data_owner") {
			if _, ok := listed[g.Name]; !ok {
				d.check(path+".roles", "data_owner group %q has no data set in %s.data", g.Name, base)
			}
		}
		if slices.Contains(g.Roles, "validator") && !humans[g.Name] {
			auto += g.Count
		}
		if slices.Contains(g.Roles, "provider") {
			compute += g.Count
		}
	}
	if auto == 0 {
		d.check(base, "the economy needs automated validators: a population group with the validator role that is not in humans")
	}
	if compute == 0 {
		d.check(base, "the economy needs learners: a population group with the provider role")
	}
	if auto > 0 && l.ValidationRows < auto {
		d.check("protocol.learning.validation_rows", "%d rows for %d validators", l.ValidationRows, auto)
	}
}
