package scenarios

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/dais-sim/dais/protocol/dist"
)

// DistSpec is a distribution written as a mapping, e.g.
//
//	{dist: exponential, mean: 2ms}
//	{dist: weibull, scale: 1h, shape: 0.6}
//
// or as a single value, which means a fixed one. Scale parameters (mean,
// median, min, …) are written in the field's unit (a duration, a size or a
// plain number); shape parameters are plain numbers.
type DistSpec struct {
	Kind string
	// Params in the distribution's units: seconds for durations, bytes for
	// sizes, else plain numbers.
	Params map[string]float64
	unitOf string
}

type distParam struct {
	name   string
	scaled bool // in the field's unit; otherwise a plain number
	min    float64
	open   bool // min excluded
}

// distKinds lists every distribution a scenario may name, and its parameters.
var distKinds = map[string][]distParam{
	"fixed":       {{name: "value", scaled: true, min: math.Inf(-1)}},
	"uniform":     {{name: "min", scaled: true, min: math.Inf(-1)}, {name: "max", scaled: true, min: math.Inf(-1)}},
	"exponential": {{name: "mean", scaled: true, min: 0, open: true}},
	"normal":      {{name: "mean", scaled: true, min: math.Inf(-1)}, {name: "stddev", scaled: true, min: 0}},
	"lognormal":   {{name: "median", scaled: true, min: 0, open: true}, {name: "sigma", min: 0}},
	"pareto":      {{name: "min", scaled: true, min: 0, open: true}, {name: "alpha", min: 0, open: true}},
	"weibull":     {{name: "scale", scaled: true, min: 0, open: true}, {name: "shape", min: 0, open: true}},
}

func distKindNames() []string {
	var ks []string
	for k := range distKinds {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Dist returns the distribution, in the units described on Params.
func (s DistSpec) Dist() dist.Dist {
	p := s.Params
	switch s.Kind {
	case "fixed":
		return dist.Fixed{V: p["value"]}
	case "uniform":
		return dist.Uniform{Min: p["min"], Max: p["max"]}
	case "exponential":
		return dist.Exponential{M: p["mean"]}
	case "normal":
		return dist.Normal{Mu: p["mean"], Sigma: p["stddev"]}
	case "lognormal":
		return dist.LogNormal{Mu: math.Log(p["median"]), Sigma: p["sigma"]}
	case "pareto":
		return dist.Pareto{Xm: p["min"], Alpha: p["alpha"]}
	case "weibull":
		return dist.Weibull{Lambda: p["scale"], K: p["shape"]}
	}
	return nil
}

func (s DistSpec) String() string {
	var parts []string
	for _, p := range distKinds[s.Kind] {
		parts = append(parts, fmt.Sprintf("%s=%g", p.name, s.Params[p.name]))
	}
	return fmt.Sprintf("%s(%s)", s.Kind, strings.Join(parts, ", "))
}

// MarshalText prints the spec for metrics.json.
func (s DistSpec) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// parseScaled reads a scale parameter in the field's unit and returns it in
// the distribution's units.
func parseScaled(unit, text string) (float64, error) {
	switch unit {
	case "duration":
		var d Duration
		if err := d.parse(text); err != nil {
			return 0, err
		}
		return float64(d) / 1e9, nil
	case "size":
		var z Size
		if err := z.parse(text); err != nil {
			return 0, err
		}
		return float64(z), nil
	}
	return parseNumber(text)
}

// decodeDist reads a DistSpec from a node; unit comes from the field's tag.
func (d *decoder) decodeDist(n *node, path, unit string) (DistSpec, bool) {
	spec := DistSpec{Params: map[string]float64{}, unitOf: unit}
	if n.kind == kScalar {
		v, err := parseScaled(unit, n.value)
		if err != nil {
			d.errorf(n.pos, path, "%v", err)
			return spec, false
		}
		spec.Kind, spec.Params["value"] = "fixed", v
		return spec, true
	}
	if n.kind != kMap {
		d.errorf(n.pos, path, "want a distribution such as {dist: exponential, mean: %s}, got %s", exampleFor(unit), n.kind)
		return spec, false
	}
	kn, kpos, ok := n.get("dist")
	if !ok {
		d.errorf(n.pos, path, "missing key dist (one of %s)", strings.Join(distKindNames(), ", "))
		return spec, false
	}
	params, known := distKinds[kn.value]
	if kn.kind != kScalar || !known {
		d.errorf(kpos, path+".dist", "unknown distribution %q%s; want one of %s", kn.value, suggest(kn.value, distKindNames()), strings.Join(distKindNames(), ", "))
		return spec, false
	}
	spec.Kind = kn.value
	good := true
	names := []string{"dist"}
	for _, p := range params {
		names = append(names, p.name)
	}
	for i, k := range n.keys {
		if k == "dist" {
			continue
		}
		var p *distParam
		for j := range params {
			if params[j].name == k {
				p = &params[j]
			}
		}
		kp := path + "." + k
		if p == nil {
			d.errorf(n.keyPos[i], kp, "unknown parameter for %s%s; it takes %s", spec.Kind, suggest(k, names), strings.Join(names[1:], ", "))
			good = false
			continue
		}
		v := n.vals[i]
		if v.kind != kScalar {
			d.errorf(v.pos, kp, "want a value, got %s", v.kind)
			good = false
			continue
		}
		var x float64
		var err error
		if p.scaled {
			x, err = parseScaled(unit, v.value)
		} else {
			x, err = parseNumber(v.value)
		}
		if err != nil {
			d.errorf(v.pos, kp, "%v", err)
			good = false
			continue
		}
		if x < p.min || (p.open && x == p.min) {
			rel := ">="
			if p.open {
				rel = ">"
			}
			d.errorf(v.pos, kp, "%s must be %s %g", v.value, rel, p.min)
			good = false
			continue
		}
		spec.Params[k] = x
	}
	for _, p := range params {
		if _, ok := spec.Params[p.name]; !ok && good {
			d.errorf(n.pos, path, "%s needs %s", spec.Kind, p.name)
			good = false
		}
	}
	if good && spec.Kind == "uniform" && spec.Params["min"] > spec.Params["max"] {
		d.errorf(n.pos, path, "uniform min exceeds max")
		good = false
	}
	return spec, good
}

func exampleFor(unit string) string {
	switch unit {
	case "duration":
		return "2ms"
	case "size":
		return "1MB"
	}
	return "1.5"
}
