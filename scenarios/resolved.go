package scenarios

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Resolved is the scenario as it ran: every key with its value after
// defaults, overrides and derived counts (group counts from shares), one
// "key.path=value" per key in the order of the schema, values in their
// written form. Two runs' lists differ exactly where their scenarios do,
// which is what dais compare shows. Where a run's files went
// (outputs.dir) is left out: it changes no figure.
func (sc *Scenario) Resolved() []string {
	var out []string
	resolveStruct(reflect.ValueOf(sc).Elem(), "", &out)
	return out
}

func resolveStruct(v reflect.Value, path string, out *[]string) {
	for _, f := range fieldsOf(v.Type()) {
		p := join(path, f.key)
		if p == "outputs.dir" {
			continue
		}
		resolveValue(v.Field(f.index), p, out)
	}
}

func resolveValue(v reflect.Value, path string, out *[]string) {
	t := v.Type()
	switch {
	case t.Kind() == reflect.Pointer:
		if !v.IsNil() {
			resolveValue(v.Elem(), path, out)
		}
	case t == distSpecType || reflect.PointerTo(t).Implements(scalarType) || isPrimitive(t.Kind()):
		*out = append(*out, path+"="+written(v))
	case t.Kind() == reflect.Struct:
		resolveStruct(v, path, out)
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		for i := 0; i < v.Len(); i++ {
			resolveValue(v.Index(i), fmt.Sprintf("%s[%d]", path, i), out)
		}
	case t.Kind() == reflect.Slice:
		if v.Len() > 0 {
			*out = append(*out, path+"="+written(v))
		}
	}
}

// written prints a value as a scenario file would write it.
func written(v reflect.Value) string {
	switch x := v.Interface().(type) {
	case Size:
		return sizeText(int64(x))
	case Bandwidth:
		return scaledText(float64(x), []unitStep{{1e9, "Gbps"}, {1e6, "Mbps"}, {1e3, "kbps"}, {1, "bps"}})
	case Rate:
		return strconv.FormatFloat(float64(x), 'g', -1, 64) + "/s"
	case DistSpec:
		parts := []string{"dist: " + x.Kind}
		for _, p := range distKinds[x.Kind] {
			parts = append(parts, fmt.Sprintf("%s: %g", p.name, x.Params[p.name]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case fmt.Stringer:
		return x.String()
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	if v.Kind() == reflect.Slice {
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = written(v.Index(i))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprint(v.Interface())
}

type unitStep struct {
	mult float64
	name string
}

// scaledText writes x in the largest unit that divides it exactly.
func scaledText(x float64, units []unitStep) string {
	for _, u := range units {
		if q := x / u.mult; q >= 1 && q == float64(int64(q)) {
			return strconv.FormatInt(int64(q), 10) + u.name
		}
	}
	last := units[len(units)-1]
	return strconv.FormatFloat(x/last.mult, 'g', -1, 64) + last.name
}

func sizeText(n int64) string {
	if n == 0 {
		return "0"
	}
	return scaledText(float64(n), []unitStep{{1 << 30, "GiB"}, {1e9, "GB"}, {1 << 20, "MiB"}, {1e6, "MB"}, {1 << 10, "KiB"}, {1e3, "KB"}, {1, ""}})
}
