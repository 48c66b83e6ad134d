package scenarios

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/agnivade/levenshtein"
)

// Struct tags the decoder, the JSON Schema and the docs read; they are the
// one place a key's default, range and meaning are written.
//
//	yaml:"key"          the key in the file
//	doc:"…"             what it means (docs and schema)
//	default:"…"         its value when absent, in the written form
//	min:"…" max:"…"     the allowed range, in the written form
//	enum:"a|b|c"        the allowed words (strings and lists of strings)
//	unit:"duration"     the unit of a DistSpec's scale parameters
//	required:"true"     the key must be present
type field struct {
	index    int
	key      string
	doc      string
	def      string
	min, max string
	enum     []string
	unit     string
	required bool
}

var fieldCache sync.Map // reflect.Type → []field

func fieldsOf(t reflect.Type) []field {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.([]field)
	}
	var fs []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		key := sf.Tag.Get("yaml")
		if key == "" || key == "-" {
			continue
		}
		f := field{index: i, key: key, doc: sf.Tag.Get("doc"), def: sf.Tag.Get("default"),
			min: sf.Tag.Get("min"), max: sf.Tag.Get("max"), unit: sf.Tag.Get("unit"),
			required: sf.Tag.Get("required") == "true"}
		if e := sf.Tag.Get("enum"); e != "" {
			f.enum = strings.Split(e, "|")
		}
		fs = append(fs, f)
	}
	fieldCache.Store(t, fs)
	return fs
}

func keysOf(fs []field) []string {
	ks := make([]string, len(fs))
	for i, f := range fs {
		ks[i] = f.key
	}
	return ks
}

type decoder struct {
	errs Errors
	// pos maps each decoded key path to where its value was written, so
	// checks after decoding can point at the line.
	pos map[string]Pos
	// top is where the document starts: the place for errors about
	// sections that are missing altogether.
	top Pos
}

func (d *decoder) errorf(p Pos, path, format string, a ...any) {
	d.errs = append(d.errs, &Error{Pos: p, Path: path, Msg: fmt.Sprintf(format, a...)})
}

var (
	scalarType   = reflect.TypeOf((*scalar)(nil)).Elem()
	distSpecType = reflect.TypeOf(DistSpec{})
)

// setDefaults writes every default tag of a struct (recursively into nested
// structs, not into lists, whose elements get theirs when decoded).
func setDefaults(v reflect.Value) {
	for _, f := range fieldsOf(v.Type()) {
		fv := v.Field(f.index)
		if f.def != "" {
			var d decoder
			d.scalarInto(&node{kind: kScalar, value: f.def}, fv, "default of "+f.key, f)
			if len(d.errs) > 0 {
				panic(fmt.Sprintf("scenarios: bad default tag: %v", d.errs))
			}
		}
		if fv.Kind() == reflect.Struct && fv.Type() != distSpecType && fv.Type() != rawValueType && !fv.Addr().Type().Implements(scalarType) {
			setDefaults(fv)
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// decode fills v from n. f describes the field v is (tags), if any.
func (d *decoder) decode(n *node, v reflect.Value, path string, f field) {
	if n.kind == kNull && v.Kind() != reflect.Struct {
		return // an empty value keeps the default
	}
	t := v.Type()
	switch {
	case t == rawValueType:
		v.Set(reflect.ValueOf(RawValue{Text: n.flow(), Pos: n.pos}))
	case t == settingsType:
		d.decodeSettings(n, v, path)
	case t == distSpecType:
		if spec, ok := d.decodeDist(n, path, f.unit); ok {
			v.Set(reflect.ValueOf(spec))
		}
	case reflect.PointerTo(t).Implements(scalarType), isPrimitive(t.Kind()):
		d.scalarInto(n, v, path, f)
	case t.Kind() == reflect.Pointer:
		nv := reflect.New(t.Elem())
		if t.Elem().Kind() == reflect.Struct && t.Elem() != distSpecType && t.Elem() != rawValueType {
			setDefaults(nv.Elem())
		}
		d.decode(n, nv.Elem(), path, f)
		v.Set(nv)
	case t.Kind() == reflect.Struct:
		d.decodeStruct(n, v, path)
	case t.Kind() == reflect.Slice:
		if n.kind != kSeq {
			d.errorf(n.pos, path, "want a list, got %s%s", n.kind, scalarHint(n))
			return
		}
		s := reflect.MakeSlice(t, len(n.items), len(n.items))
		for i, item := range n.items {
			ip := fmt.Sprintf("%s[%d]", path, i)
			d.pos[ip] = item.pos
			e := s.Index(i)
			if e.Kind() == reflect.Struct && e.Type() != distSpecType && e.Type() != rawValueType && !e.Addr().Type().Implements(scalarType) {
				setDefaults(e)
			}
			d.decode(item, e, ip, f)
		}
		v.Set(s)
	default:
		panic(fmt.Sprintf("scenarios: no decoder for %v at %s", t, path))
	}
}

func scalarHint(n *node) string {
	if n.kind == kScalar {
		return fmt.Sprintf(" (%q)", n.value)
	}
	return ""
}

func isPrimitive(k reflect.Kind) bool {
	switch k {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int64, reflect.Uint64, reflect.Float64:
		return true
	}
	return false
}

func (d *decoder) decodeStruct(n *node, v reflect.Value, path string) {
	fs := fieldsOf(v.Type())
	if n.kind != kMap && n.kind != kNull {
		d.errorf(n.pos, path, "want a mapping of keys (%s), got %s%s", strings.Join(keysOf(fs), ", "), n.kind, scalarHint(n))
		return
	}
	given := map[string]bool{}
	for i, k := range n.keys {
		var f *field
		for j := range fs {
			if fs[j].key == k {
				f = &fs[j]
			}
		}
		kp := join(path, k)
		if f == nil {
			where := "here"
			if path != "" {
				where = "in " + path
			}
			d.errorf(n.keyPos[i], kp, "unknown key%s; the keys %s are %s", suggest(k, keysOf(fs)), where, strings.Join(keysOf(fs), ", "))
			continue
		}
		given[k] = true
		d.pos[kp] = n.vals[i].pos
		if n.vals[i].kind == kNull {
			d.pos[kp] = n.keyPos[i]
		}
		d.decode(n.vals[i], v.Field(f.index), kp, *f)
	}
	for _, f := range fs {
		if f.required && !given[f.key] {
			p := n.pos
			if p.File == "" && len(d.errs) == 0 {
				p = Pos{}
			}
			d.errorf(p, join(path, f.key), "missing; this key is required (%s)", firstSentence(f.doc))
		}
	}
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i]
	}
	return strings.TrimSuffix(s, ".")
}

// scalarInto parses one scalar into v and checks its enum and range.
func (d *decoder) scalarInto(n *node, v reflect.Value, path string, f field) {
	if n.kind != kScalar {
		d.errorf(n.pos, path, "want %s, got %s", describe(v.Type()), n.kind)
		return
	}
	s := n.value
	var err error
	var num float64
	numeric := true
	switch sc := v.Addr().Interface().(type) {
	case scalar:
		err = sc.parse(s)
		num = sc.base()
	default:
		switch v.Kind() {
		case reflect.String:
			numeric = false
			v.SetString(s)
		case reflect.Bool:
			numeric = false
			switch {
			case n.quoted:
				err = fmt.Errorf("want true or false, got the string %q", s)
			case s == "true":
				v.SetBool(true)
			case s == "false":
				v.SetBool(false)
			default:
				err = fmt.Errorf("want true or false, got %q", s)
			}
		case reflect.Int, reflect.Int64:
			var x int64
			x, err = strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, 64)
			if err != nil || n.quoted {
				err = fmt.Errorf("want a whole number, got %q", s)
			}
			v.SetInt(x)
			num = float64(x)
		case reflect.Uint64:
			var x uint64
			x, err = strconv.ParseUint(strings.ReplaceAll(s, "_", ""), 10, 64)
			if err != nil || n.quoted {
				err = fmt.Errorf("want a whole number >= 0, got %q", s)
			}
			v.SetUint(x)
			num = float64(x)
		case reflect.Float64:
			var x float64
			x, err = parseNumber(s)
			if err == nil && n.quoted {
				err = fmt.Errorf("want a number, got the string %q", s)
			}
			v.SetFloat(x)
			num = x
		}
	}
	if err != nil {
		d.errorf(n.pos, path, "%v", err)
		return
	}
	if len(f.enum) > 0 && !contains(f.enum, s) {
		d.errorf(n.pos, path, "%q is not allowed%s; want one of %s", s, suggest(s, f.enum), strings.Join(f.enum, ", "))
		return
	}
	if numeric && (f.min != "" || f.max != "") {
		lo, hi := d.bound(v.Type(), f.min), d.bound(v.Type(), f.max)
		if num < lo || num > hi {
			d.errorf(n.pos, path, "%s is out of range: want %s", s, rangeText(f))
		}
	}
}

// bound parses a min or max tag in the field's written form.
func (d *decoder) bound(t reflect.Type, tag string) float64 {
	if tag == "" {
		return math.NaN()
	}
	v := reflect.New(t)
	if sc, ok := v.Interface().(scalar); ok {
		if err := sc.parse(tag); err != nil {
			panic(fmt.Sprintf("scenarios: bad range tag %q: %v", tag, err))
		}
		return sc.base()
	}
	x, err := parseNumber(tag)
	if err != nil {
		panic(fmt.Sprintf("scenarios: bad range tag %q", tag))
	}
	return x
}

func rangeText(f field) string {
	switch {
	case f.min != "" && f.max != "":
		return fmt.Sprintf("a value in [%s, %s]", f.min, f.max)
	case f.min != "":
		return ">= " + f.min
	default:
		return "<= " + f.max
	}
}

func parseNumber(s string) (float64, error) {
	x, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(s), "_", ""), 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, fmt.Errorf("want a number, got %q", s)
	}
	return x, nil
}

func describe(t reflect.Type) string {
	if sc, ok := reflect.New(t).Interface().(scalar); ok {
		return fmt.Sprintf("a %s such as %s", sc.unit(), sc.example())
	}
	switch t.Kind() {
	case reflect.String:
		return "a word"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Uint64:
		return "a whole number"
	case reflect.Float64:
		return "a number"
	}
	return t.String()
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns ` (did you mean "x"?)` for the closest candidate within a
// small edit distance, or "".
func suggest(word string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		dist := levenshtein.ComputeDistance(strings.ToLower(word), strings.ToLower(c))
		if dist < bestD {
			best, bestD = c, dist
		}
	}
	limit := max(1, len(word)/3)
	if best != "" && bestD <= limit {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// DidYouMean is ` (did you mean "x"?)` for the candidate nearest to word
// within a third of its length in edits, or "": the loader's suggestion,
// for other names dais checks (figure keys in a tune file).
func DidYouMean(word string, candidates []string) string { return suggest(word, candidates) }
