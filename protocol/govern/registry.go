package govern

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"sort"
)

// Param is a governable parameter: a named int64 with bounds.
type Param struct {
	// Key is dotted snake_case, the owning package first:
	// "rewards.fee_burn_bps".
	Key string
	// Help is one line: what the parameter does.
	Help string
	// Decimals says how the value is written: the int64 is the written
	// decimal × 10^Decimals (9 for tokens, so "1.5" is 1.5·10⁹ base units;
	// 0 for bps or blocks).
	Decimals uint8
	// Min and Max bound the value (inclusive); Default is its value until
	// a proposal changes it.
	Min, Max, Default int64
}

// Format prints a value of the parameter as written.
func (p Param) Format(v int64) string { return FormatValue(v, p.Decimals) }

// Check reports whether v is within the parameter's bounds.
func (p Param) Check(v int64) error {
	if v < p.Min || v > p.Max {
		return fmt.Errorf("%w: %s = %s, want %s … %s", ErrOutOfBounds, p.Key, p.Format(v), p.Format(p.Min), p.Format(p.Max))
	}
	return nil
}

var keyPattern = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*(\.[a-z][a-z0-9]*(_[a-z0-9]+)*)+$`)

// Registry lists the governable parameters. It is immutable after
// NewRegistry: share it freely.
type Registry struct {
	params []Param // by key
	check  func(Params) error
}

// NewRegistry returns a registry of params. check, if not nil, judges a
// whole parameter set (rules across keys, such as shares summing to a
// whole); a proposal whose changes would make the set in force break it is
// rejected at submission, and fails if it passes into a set that breaks
// it. The defaults must satisfy check.
func NewRegistry(check func(Params) error, params ...Param) (*Registry, error) {
	r := &Registry{params: slices.Clone(params), check: check}
	slices.SortFunc(r.params, func(a, b Param) int { return cmp.Compare(a.Key, b.Key) })
	for i, p := range r.params {
		switch {
		case !keyPattern.MatchString(p.Key):
			return nil, fmt.Errorf("%w: parameter key %q is not dotted snake_case", ErrConfig, p.Key)
		case i > 0 && r.params[i-1].Key == p.Key:
			return nil, fmt.Errorf("%w: parameter %s defined twice", ErrConfig, p.Key)
		case p.Min > p.Max || p.Default < p.Min || p.Default > p.Max:
			return nil, fmt.Errorf("%w: parameter %s: default %d outside %d … %d", ErrConfig, p.Key, p.Default, p.Min, p.Max)
		case p.Decimals > 18:
			return nil, fmt.Errorf("%w: parameter %s has %d decimals, at most 18 fit", ErrConfig, p.Key, p.Decimals)
		}
	}
	if err := r.Check(r.Defaults()); err != nil {
		return nil, fmt.Errorf("%w: the defaults: %v", ErrConfig, err)
	}
	return r, nil
}

// Param returns the parameter with key.
func (r *Registry) Param(key string) (Param, bool) {
	i, ok := slices.BinarySearchFunc(r.params, key, func(p Param, k string) int { return cmp.Compare(p.Key, k) })
	if !ok {
		return Param{}, false
	}
	return r.params[i], true
}

// Params lists the parameters in key order; the caller owns the slice.
func (r *Registry) Params() []Param { return slices.Clone(r.params) }

// Defaults is the parameter set before any change.
func (r *Registry) Defaults() Params {
	p := Params{keys: make([]string, len(r.params)), vals: make([]int64, len(r.params))}
	for i, q := range r.params {
		p.keys[i], p.vals[i] = q.Key, q.Default
	}
	return p
}

// Change builds a change from the written value: Change("rewards.fee_burn_bps", "2500").
func (r *Registry) Change(key, text string) (Change, error) {
	p, ok := r.Param(key)
	if !ok {
		return Change{}, fmt.Errorf("%w %q", ErrUnknownParam, key)
	}
	v, err := ParseValue(text, p.Decimals)
	if err != nil {
		return Change{}, fmt.Errorf("%s: %w", key, err)
	}
	c := Change{Key: key, Value: v}
	return c, r.CheckChange(c)
}

// CheckChange reports whether c names a parameter and stays in its bounds.
func (r *Registry) CheckChange(c Change) error {
	p, ok := r.Param(c.Key)
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownParam, c.Key)
	}
	return p.Check(c.Value)
}

// Check judges a whole set with the registry's rule across keys.
func (r *Registry) Check(ps Params) error {
	if r.check == nil {
		return nil
	}
	if err := r.check(ps); err != nil {
		return fmt.Errorf("%w: %v", ErrConstraint, err)
	}
	return nil
}

// Change sets one parameter to a value.
type Change struct {
	Key   string
	Value int64
}

// Params is a parameter set: a value for every key of a registry. It is
// immutable; share it freely.
type Params struct {
	keys []string // sorted
	vals []int64
}

// Lookup returns the value of key.
func (p Params) Lookup(key string) (int64, bool) {
	i := sort.SearchStrings(p.keys, key)
	if i == len(p.keys) || p.keys[i] != key {
		return 0, false
	}
	return p.vals[i], true
}

// Get returns the value of key; asking for a key the registry does not
// define is a programming error, and panics.
func (p Params) Get(key string) int64 {
	v, ok := p.Lookup(key)
	if !ok {
		panic("govern: no parameter " + key)
	}
	return v
}

// Keys lists the keys in order; the caller owns the slice.
func (p Params) Keys() []string { return slices.Clone(p.keys) }

// set changes key to v in place; p must own its values (a fresh Defaults
// does) and key must exist.
func (p *Params) set(key string, v int64) {
	p.vals[sort.SearchStrings(p.keys, key)] = v
}

// String prints key=value pairs in key order.
func (p Params) String() string {
	s := ""
	for i, k := range p.keys {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%s=%d", k, p.vals[i])
	}
	return s
}
