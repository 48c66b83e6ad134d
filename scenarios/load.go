package scenarios

import (
	"bytes"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxFileBytes bounds a scenario file; anything larger is not a hand-written
// scenario (and the YAML parser needs about a second and 150 MB per MiB).
const MaxFileBytes = 1 << 20

// Load reads, checks and returns the scenario in path, with overrides
// ("key.path=value", as given to --set) applied. Every problem in the file
// is reported at once, as Errors, each naming file:line:column and key path.
func Load(path string, overrides ...string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenarios: %w", err)
	}
	return Parse(path, data, overrides...)
}

// Parse is Load on bytes already read; file names them in errors and is the
// base for relative paths inside the scenario.
func Parse(file string, data []byte, overrides ...string) (*Scenario, error) {
	src := data
	data = bytes.TrimPrefix(data, utf8BOM)
	if err := checkText(file, data); err != nil {
		return nil, err
	}
	root, errs := parseYAML(file, data)
	if len(errs) > 0 {
		return nil, Errors(errs).sorted()
	}
	if root.kind != kMap {
		return nil, Errors{{Pos: root.pos, Msg: fmt.Sprintf("a scenario is a mapping of sections (run, network, population, …), got %s", root.kind)}}
	}
	d := &decoder{pos: map[string]Pos{}, top: root.pos}
	for _, o := range overrides {
		d.override(root, o)
	}
	if len(d.errs) > 0 {
		return nil, d.errs.sorted()
	}
	sc := &Scenario{File: file, Source: src, Overrides: append([]string(nil), overrides...)}
	v := reflect.ValueOf(sc).Elem()
	setDefaults(v)
	d.decodeStruct(root, v, "")
	decodeErrs := len(d.errs)
	d.validate(sc, root)
	d.errs = append(d.errs[:decodeErrs], withoutCascades(d.errs[:decodeErrs], d.errs[decodeErrs:])...)
	if len(d.errs) > 0 {
		return nil, d.errs.sorted()
	}
	sc.pos, sc.top = d.pos, d.top
	return sc, nil
}

// withoutCascades drops the checks made after decoding that touch a key
// whose value failed to decode: a bad share would otherwise also be reported
// as shares not summing.
func withoutCascades(decodeErrs, checkErrs Errors) Errors {
	var out Errors
	for _, c := range checkErrs {
		related := false
		for _, e := range decodeErrs {
			if c.Path == "" || e.Path == "" || strings.HasPrefix(e.Path, c.Path) || strings.HasPrefix(c.Path, e.Path) {
				related = true
				break
			}
		}
		if !related {
			out = append(out, c)
		}
	}
	return out
}

func checkText(file string, data []byte) error {
	p := Pos{File: file}
	switch {
	case len(data) > MaxFileBytes:
		return Errors{{Pos: p, Msg: fmt.Sprintf("the file is %d bytes; a scenario is at most %d", len(data), MaxFileBytes)}}
	case len(bytes.TrimSpace(data)) == 0:
		return Errors{{Pos: p, Msg: "the file is empty: a scenario needs at least a run section"}}
	case !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0:
		line := 1 + bytes.Count(data[:firstBad(data)], []byte("\n"))
		return Errors{{Pos: Pos{File: file, Line: line, Col: 1}, Msg: "not a text file: scenario files are UTF-8 YAML"}}
	}
	return nil
}

func firstBad(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 || r == 0 {
			return i
		}
		i += n
	}
	return len(data)
}

// override splices one "key.path=value" into the tree. The value is YAML,
// so lists and mappings work: --set 'network.jitter={dist: exponential, mean: 5ms}'.
func (d *decoder) override(root *node, arg string) {
	at := Pos{Override: arg}
	path, value, ok := strings.Cut(arg, "=")
	if !ok || path == "" {
		d.errorf(at, "", "want key.path=value")
		return
	}
	v, errs := parseYAML("--set "+arg, []byte(value))
	if len(value) == 0 || strings.TrimSpace(value) == "" {
		v, errs = &node{kind: kNull}, nil
	}
	if len(errs) > 0 {
		d.errorf(at, path, "value: %s", errs[0].Msg)
		return
	}
	markOverride(v, at)
	cur := root
	parts := splitPath(path)
	for i, part := range parts {
		last := i == len(parts)-1
		name, idx, hasIdx := part.name, part.index, part.hasIndex
		if part.bad {
			d.errorf(at, path, "bad key path; want keys joined by dots, with [i] for list items")
			return
		}
		next, _, found := cur.get(name)
		if !found {
			if hasIdx {
				d.errorf(at, path, "%s is not set, so it has no item [%d]", name, idx)
				return
			}
			next = &node{kind: kMap, pos: at}
			if last {
				next = v
			}
			cur.keys, cur.keyPos, cur.vals = append(cur.keys, name), append(cur.keyPos, at), append(cur.vals, next)
			cur = next
			continue
		}
		if hasIdx {
			if next.kind != kSeq || idx >= len(next.items) {
				d.errorf(at, path, "%s has no item [%d]", name, idx)
				return
			}
			if last {
				next.items[idx] = v
				return
			}
			cur = next.items[idx]
		} else if last {
			for j, k := range cur.keys {
				if k == name {
					cur.vals[j], cur.keyPos[j] = v, at
				}
			}
			return
		} else {
			cur = next
		}
		if cur.kind == kNull {
			cur.kind = kMap
		}
		if cur.kind != kMap {
			d.errorf(at, path, "%s is %s, not a mapping", name, cur.kind)
			return
		}
	}
}

func markOverride(n *node, at Pos) {
	n.pos = at
	for i := range n.keyPos {
		n.keyPos[i] = at
	}
	for _, c := range n.vals {
		markOverride(c, at)
	}
	for _, c := range n.items {
		markOverride(c, at)
	}
}

type pathPart struct {
	name     string
	index    int
	hasIndex bool
	bad      bool
}

func splitPath(p string) []pathPart {
	var out []pathPart
	for _, s := range strings.Split(p, ".") {
		part := pathPart{name: s}
		if i := strings.IndexByte(s, '['); i >= 0 {
			n, err := strconv.Atoi(strings.TrimSuffix(s[i+1:], "]"))
			part = pathPart{name: s[:i], index: n, hasIndex: true, bad: err != nil || n < 0 || !strings.HasSuffix(s, "]")}
		}
		if part.name == "" {
			part.bad = true
		}
		out = append(out, part)
	}
	return out
}
