package learn

import (
	"errors"
	"fmt"
	"math"
)

// ErrRule means an unknown rule name or an unusable tolerance.
var ErrRule = errors.New("learn: invalid aggregation rule")

// Rule names, as scenarios and reports spell them.
const (
	RuleFedAvg      = "fedavg"
	RuleKrum        = "krum"
	RuleMultiKrum   = "multi-krum"
	RuleMedian      = "median"
	RuleTrimmedMean = "trimmed-mean"
	RuleFoolsGold   = "foolsgold"
)

// RuleNames lists the rules NamedRule knows, in report order.
var RuleNames = []string{RuleFedAvg, RuleKrum, RuleMultiKrum, RuleMedian, RuleTrimmedMean, RuleFoolsGold}

// NamedRule returns the rule called name, sized for a round of n updates
// by tolerate, the share of Byzantine updates the defender assumes:
//
//   - krum: f = ⌊tolerate·n⌋, capped at (n−3)/2 so that n >= 2f+3;
//   - multi-krum: the same f, averaging the m = n−f best-scored updates;
//   - trimmed-mean: β = ⌊tolerate·n⌋ from each end, capped at (n−1)/2;
//   - fedavg, median and foolsgold ignore tolerate.
//
// A defender does not know how many attackers there are; sizing by an
// assumed share (0.3 is usual) rather than by the true count is what a
// deployment could do, and the true count may exceed it.
func NamedRule(name string, tolerate float64) (RuleFunc, error) {
	if !(tolerate >= 0 && tolerate < 0.5) {
		return nil, fmt.Errorf("%w: tolerated share %v, want [0, 0.5)", ErrRule, tolerate)
	}
	f := func(n int) int { return int(math.Floor(tolerate * float64(n))) }
	switch name {
	case RuleFedAvg:
		return func(int) Rule { return FedAvg{} }, nil
	case RuleKrum:
		return func(n int) Rule { return Krum{F: max(min(f(n), (n-3)/2), 0)} }, nil
	case RuleMultiKrum:
		return func(n int) Rule {
			k := max(min(f(n), (n-3)/2), 0)
			return Krum{F: k, M: n - k}
		}, nil
	case RuleMedian:
		return func(int) Rule { return Median{} }, nil
	case RuleTrimmedMean:
		return func(n int) Rule { return TrimmedMean{Beta: max(min(f(n), (n-1)/2), 0)} }, nil
	case RuleFoolsGold:
		return func(int) Rule { return FoolsGold{} }, nil
	}
	return nil, fmt.Errorf("%w: unknown rule %q, want one of %v", ErrRule, name, RuleNames)
}
