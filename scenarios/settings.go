package scenarios

import "reflect"

// Settings is a mapping of key paths (what --set takes) to any YAML
// values, kept in file order with where each key and value was written: a
// sweep's fixed overrides,
//
//	set:
//	  run.duration: 2m
//	  network.jitter: {dist: exponential, mean: 5ms}
type Settings []Setting

// Setting is one key path and its value.
type Setting struct {
	Key    string
	KeyPos Pos
	Value  RawValue
}

// Override is the setting as --set and Load take it: "key.path=value".
func (s Setting) Override() string { return s.Key + "=" + s.Value.Text }

var settingsType = reflect.TypeOf(Settings{})

func (d *decoder) decodeSettings(n *node, v reflect.Value, path string) {
	if n.kind != kMap {
		d.errorf(n.pos, path, "want a mapping of key paths to values (run.duration: 2m), got %s%s", n.kind, scalarHint(n))
		return
	}
	out := make(Settings, len(n.keys))
	for i, k := range n.keys {
		out[i] = Setting{Key: k, KeyPos: n.keyPos[i], Value: RawValue{Text: n.vals[i].flow(), Pos: n.vals[i].pos}}
	}
	v.Set(reflect.ValueOf(out))
}
