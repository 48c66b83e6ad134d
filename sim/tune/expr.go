package tune

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/scenarios"
)

// selector names one number in a run: a figure ("detection_rate"), a
// group's value for one label ("profit_usd_per_gpu_hour_by_class[cpu]",
// with ".set" for a group of several sets), or a group's minimum, maximum
// or mean over its labels ("min(profit_usd_per_gpu_hour_by_class)").
type selector struct {
	text  string
	agg   string // "min", "max", "mean" over a group's labels; "" otherwise
	key   string // the figure's or group's key
	label string // a group label; "" for a figure or an aggregate
	set   string // a group's set ("" for its first)
	group bool
}

// term is weight · selector; expr is a sum of terms.
type term struct {
	weight float64
	sel    selector
}

type expr []term

func (e expr) String() string {
	var b strings.Builder
	for i, t := range e {
		w := t.weight
		switch {
		case i > 0 && w < 0:
			b.WriteString(" - ")
			w = -w
		case i > 0:
			b.WriteString(" + ")
		case w < 0:
			b.WriteString("-")
			w = -w
		}
		if w != 1 {
			b.WriteString(strconv.FormatFloat(w, 'g', -1, 64) + " * ")
		}
		b.WriteString(t.sel.text)
	}
	return b.String()
}

// parseExpr reads "[-] [w *] figure {+|- [w *] figure}".
func parseExpr(s string) (expr, error) {
	var e expr
	rest := strings.TrimSpace(s)
	if rest == "" {
		return nil, fmt.Errorf("empty: write a figure, or a sum such as 'detection_rate - 0.5 * verification_overhead'")
	}
	sign := 1.0
	for first := true; rest != ""; first = false {
		switch {
		case rest[0] == '-':
			sign, rest = -1, strings.TrimSpace(rest[1:])
		case rest[0] == '+':
			sign, rest = 1, strings.TrimSpace(rest[1:])
		case !first:
			return nil, fmt.Errorf("%q: want + or - between terms", rest)
		}
		weight := 1.0
		if n := numberPrefix(rest); n > 0 {
			w, err := strconv.ParseFloat(rest[:n], 64)
			after := strings.TrimSpace(rest[n:])
			if err != nil || math.IsInf(w, 0) || !strings.HasPrefix(after, "*") {
				return nil, fmt.Errorf("%q: a weight is a number followed by * and a figure", rest)
			}
			weight, rest = w, strings.TrimSpace(after[1:])
		}
		n := selectorLen(rest)
		if n == 0 {
			return nil, fmt.Errorf("%q: want a figure key", rest)
		}
		sel, err := parseSelector(rest[:n])
		if err != nil {
			return nil, err
		}
		e = append(e, term{weight: sign * weight, sel: sel})
		rest = strings.TrimSpace(rest[n:])
	}
	return e, nil
}

// numberPrefix is the length of the number s starts with (Go float
// syntax without a sign), or 0.
func numberPrefix(s string) int {
	i := 0
	digits := func() {
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '_') {
			i++
		}
	}
	digits()
	if i < len(s) && s[i] == '.' {
		i++
		digits()
	}
	if i == 0 || s[:i] == "." {
		return 0
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && s[j] >= '0' && s[j] <= '9' {
			i = j
			digits()
		}
	}
	return i
}

// selectorLen is the length of the selector s starts with: a key, then
// brackets or parentheses with what they hold, then .set.
func selectorLen(s string) int {
	i := 0
	for i < len(s) && isKeyByte(s[i]) {
		i++
	}
	if i == 0 || s[0] >= '0' && s[0] <= '9' {
		return 0
	}
	if i < len(s) && (s[i] == '[' || s[i] == '(') {
		end := strings.IndexByte(s[i:], map[byte]byte{'[': ']', '(': ')'}[s[i]])
		if end < 0 {
			return len(s)
		}
		i += end + 1
		if i < len(s) && s[i] == '.' {
			i++
			for i < len(s) && isKeyByte(s[i]) {
				i++
			}
		}
	}
	return i
}

func isKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.'
}

// parseSelector reads one selector (see selector).
func parseSelector(s string) (selector, error) {
	sel := selector{text: s}
	bad := func(format string, a ...any) (selector, error) {
		return selector{}, fmt.Errorf("%q: "+format, append([]any{s}, a...)...)
	}
	if s == "" {
		return bad("want a figure key")
	}
	if open := strings.IndexByte(s, '('); open >= 0 {
		sel.agg, sel.group = s[:open], true
		if !slices.Contains([]string{"min", "max", "mean"}, sel.agg) {
			return bad("%s() is not known; min(GROUP), max(GROUP) and mean(GROUP) are", sel.agg)
		}
		if !strings.HasSuffix(s, ")") {
			return bad("want %s(GROUP) with the group's key inside", sel.agg)
		}
		sel.key, sel.set, _ = strings.Cut(s[open+1:len(s)-1], ".")
	} else if open := strings.IndexByte(s, '['); open >= 0 {
		end := strings.IndexByte(s, ']')
		if end < open {
			return bad("want GROUP[label]")
		}
		sel.key, sel.label, sel.group = s[:open], s[open+1:end], true
		if rest := s[end+1:]; rest != "" {
			if !strings.HasPrefix(rest, ".") || len(rest) == 1 {
				return bad("after GROUP[label] only .set may follow")
			}
			sel.set = rest[1:]
		}
		if sel.label == "" {
			return bad("the label between [ and ] is empty")
		}
	} else {
		sel.key = s
	}
	if sel.key == "" || strings.ContainsFunc(sel.key+sel.set, func(r rune) bool { return r > 127 || !isKeyByte(byte(r)) || r == '.' }) {
		return bad("a key is letters, digits and _")
	}
	return sel, nil
}

// value reads the selector in run: NaN when the figure is undefined there,
// and ok false when run has no such figure, group, label or set.
func (s selector) value(run *metrics.Run) (v float64, ok bool) {
	if !s.group {
		f, ok := run.Figure(s.key)
		return f.Value, ok
	}
	i := slices.IndexFunc(run.Groups, func(g metrics.Group) bool { return g.Key == s.key })
	if i < 0 {
		return math.NaN(), false
	}
	g := run.Groups[i]
	set := 0
	if s.set != "" {
		set = slices.IndexFunc(g.Sets, func(b metrics.BarSet) bool { return b.Name == s.set })
	}
	if set < 0 || set >= len(g.Sets) {
		return math.NaN(), false
	}
	vals := g.Sets[set].Values
	if s.agg == "" {
		l := slices.Index(g.Labels, s.label)
		if l < 0 || l >= len(vals) {
			return math.NaN(), false
		}
		return vals[l], true
	}
	var defined []float64
	for _, v := range vals {
		if !math.IsNaN(v) {
			defined = append(defined, v)
		}
	}
	if len(defined) == 0 {
		return math.NaN(), true
	}
	switch s.agg {
	case "min":
		return slices.Min(defined), true
	case "max":
		return slices.Max(defined), true
	}
	var sum float64
	for _, v := range defined {
		sum += v
	}
	return sum / float64(len(defined)), true
}

// missing explains why run has no value for s, with the nearest names it
// does have.
func (s selector) missing(run *metrics.Run) string {
	var names []string
	for _, f := range run.Figures {
		names = append(names, f.Key)
	}
	var groups []string
	for _, g := range run.Groups {
		groups = append(groups, g.Key)
	}
	i := slices.IndexFunc(run.Groups, func(g metrics.Group) bool { return g.Key == s.key })
	switch {
	case !s.group && i >= 0:
		return fmt.Sprintf("%s is a group (one value per label: %s): write %s[label], min(%s), max(%s) or mean(%s)",
			s.key, strings.Join(run.Groups[i].Labels, ", "), s.key, s.key, s.key, s.key)
	case s.group && i < 0:
		return fmt.Sprintf("the run has no group %s%s; its groups are %s", s.key, scenarios.DidYouMean(s.key, groups), strings.Join(groups, ", "))
	case !s.group:
		return fmt.Sprintf("the run has no figure %s%s (docs/metrics.md lists every key)", s.key, scenarios.DidYouMean(s.key, append(names, groups...)))
	}
	g := run.Groups[i]
	var sets []string
	for _, b := range g.Sets {
		sets = append(sets, b.Name)
	}
	if s.set != "" && !slices.Contains(sets, s.set) {
		return fmt.Sprintf("group %s has no set %s%s; its sets are %s", s.key, s.set, scenarios.DidYouMean(s.set, sets), strings.Join(sets, ", "))
	}
	return fmt.Sprintf("group %s has no label %s%s; its labels are %s", s.key, s.label, scenarios.DidYouMean(s.label, g.Labels), strings.Join(g.Labels, ", "))
}
