package sweep

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/dais-sim/dais/protocol"
)

// MaxPoints bounds a sweep: past it a grid was surely not meant.
const MaxPoints = 1_000_000

// SigDigits is how many significant digits a value drawn or spaced from a
// range keeps: enough to tell points apart, short enough to read in a
// table, and written without an exponent, so every key type takes it
// (token amounts refuse 1e-3).
const SigDigits = 4

// axisValues are the values of a grid or zip axis, as text for --set.
func (a Axis) gridValues() []string {
	if a.Range == nil {
		out := make([]string, len(a.Values))
		for i, v := range a.Values {
			out[i] = v.Text
		}
		return out
	}
	r := a.Range
	out := make([]string, r.Steps)
	for i := range out {
		out[i] = r.format(r.at(float64(i) / float64(r.Steps-1)))
	}
	return out
}

// at maps u in [0, 1] onto the range, on its scale.
func (r *Range) at(u float64) float64 {
	if r.Scale == "log" {
		lo, hi := math.Log(r.Min), math.Log(r.Max)
		return math.Exp(lo + u*(hi-lo))
	}
	return r.Min + u*(r.Max-r.Min)
}

// format writes x as --set takes it: rounded to SigDigits significant
// digits (or a whole number), in plain decimal, with the range's unit.
func (r *Range) format(x float64) string {
	x = math.Min(math.Max(x, r.Min), r.Max) // rounding in at() may step past an end
	var s string
	if r.Integer {
		s = strconv.FormatFloat(math.Round(x), 'f', 0, 64)
	} else {
		s = plainDecimal(x, SigDigits)
	}
	return s + r.Unit
}

// plainDecimal writes x with sig significant digits and no exponent.
func plainDecimal(x float64, sig int) string {
	if x == 0 {
		return "0"
	}
	rounded, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'e', sig-1, 64), 64)
	mag := int(math.Floor(math.Log10(math.Abs(rounded))))
	decimals := max(0, sig-1-mag)
	s := strconv.FormatFloat(rounded, 'f', decimals, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// sample draws u in [0, 1) for n points on one axis: a Latin hypercube
// stratifies [0, 1) into n equal cells and gives each point its own cell in
// a random order; random draws independently.
func sample(design string, n int, seed uint64, axis int) []float64 {
	rng := protocol.Stream(seed, "sweep "+design, uint64(axis))
	u := make([]float64, n)
	if design == "random" {
		for i := range u {
			u[i] = rng.Float64()
		}
		return u
	}
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	for i := n - 1; i > 0; i-- { // Fisher–Yates, written out so the order is ours
		j := int(rng.Uint64N(uint64(i + 1)))
		perm[i], perm[j] = perm[j], perm[i]
	}
	for i := range u {
		u[i] = (float64(perm[i]) + rng.Float64()) / float64(n)
	}
	return u
}

// sampledValue maps u in [0, 1) onto an axis: a range on its scale (an
// integer range gives each whole number an equal share), a list of values
// by equal shares.
func (a Axis) sampledValue(u float64) string {
	if r := a.Range; r != nil {
		if r.Integer {
			lo, hi := math.Ceil(r.Min), math.Floor(r.Max)
			if r.Scale == "log" {
				// Equal shares of log space, then rounded.
				return r.format(r.at(u))
			}
			return r.format(math.Min(lo+math.Floor(u*(hi-lo+1)), hi))
		}
		return r.format(r.at(u))
	}
	i := min(int(u*float64(len(a.Values))), len(a.Values)-1)
	return a.Values[i].Text
}

// combos lists the value of each axis at each point, in point order.
func (f *File) combos(seed uint64) ([][]string, error) {
	switch f.Design {
	case "zip":
		vals := make([][]string, len(f.Axes))
		for i, a := range f.Axes {
			vals[i] = a.gridValues()
		}
		out := make([][]string, len(vals[0]))
		for p := range out {
			out[p] = make([]string, len(vals))
			for i := range vals {
				out[p][i] = vals[i][p]
			}
		}
		return out, nil
	case "latin_hypercube", "random":
		us := make([][]float64, len(f.Axes))
		for i := range f.Axes {
			us[i] = sample(f.Design, f.Points, seed, i)
		}
		out := make([][]string, f.Points)
		for p := range out {
			out[p] = make([]string, len(f.Axes))
			for i, a := range f.Axes {
				out[p][i] = a.sampledValue(us[i][p])
			}
		}
		return out, nil
	}
	// grid: the last axis varies fastest.
	vals := make([][]string, len(f.Axes))
	total := 1
	for i, a := range f.Axes {
		vals[i] = a.gridValues()
		total *= len(vals[i])
		if total > MaxPoints {
			return nil, fmt.Errorf("the grid has more than %d points", MaxPoints)
		}
	}
	out := make([][]string, total)
	for p := range out {
		out[p] = make([]string, len(vals))
		rest := p
		for i := len(vals) - 1; i >= 0; i-- {
			out[p][i] = vals[i][rest%len(vals[i])]
			rest /= len(vals[i])
		}
	}
	return out, nil
}
