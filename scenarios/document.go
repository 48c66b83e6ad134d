package scenarios

import (
	"bytes"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
)

// Document is a YAML file decoded into a Go struct by the same rules as a
// scenario — struct tags for keys, defaults, ranges, enums and required
// keys; every problem at once with file:line:column and key path, and a
// did-you-mean for unknown keys — for the other files dais reads (sweep and
// tune files). At says where a key path was written, for checks made after
// decoding.
type Document struct {
	File string
	pos  map[string]Pos
	top  Pos
}

// At is where a key path was written, or its nearest parent that was.
func (d *Document) At(path string) Pos {
	return (&decoder{pos: d.pos, top: d.top}).at(path)
}

// Errorf is an Error at path's position, for checks a caller makes after
// DecodeFile.
func (d *Document) Errorf(path, format string, a ...any) *Error {
	return &Error{Pos: d.At(path), Path: path, Msg: fmt.Sprintf(format, a...)}
}

// DecodeFile reads path and decodes it into v, a pointer to a struct whose
// fields carry the tags scenario structs do (see decode.go). what names the
// kind of file in messages ("a sweep").
func DecodeFile(path string, v any, what string) (*Document, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenarios: %w", err)
	}
	return Decode(path, data, v, what)
}

// Decode is DecodeFile on bytes already read.
func Decode(file string, data []byte, v any, what string) (*Document, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		panic("scenarios: Decode wants a pointer to a struct")
	}
	data = bytes.TrimPrefix(data, utf8BOM)
	if err := checkText(file, data); err != nil {
		return nil, err
	}
	root, errs := parseYAML(file, data)
	if len(errs) > 0 {
		return nil, Errors(errs).sorted()
	}
	if root.kind != kMap {
		return nil, Errors{{Pos: root.pos, Msg: fmt.Sprintf("%s is a mapping of keys (%s), got %s", what, strings.Join(keysOf(fieldsOf(rv.Elem().Type())), ", "), root.kind)}}
	}
	d := &decoder{pos: map[string]Pos{}, top: root.pos}
	setDefaults(rv.Elem())
	d.decodeStruct(root, rv.Elem(), "")
	if len(d.errs) > 0 {
		return nil, d.errs.sorted()
	}
	return &Document{File: file, pos: d.pos, top: d.top}, nil
}

// Sorted returns es in file order (file positions first, then overrides).
func (es Errors) Sorted() Errors { return es.sorted() }

// RawValue is any YAML value, kept as flow-style YAML text (a scalar, a
// list, a mapping): what a sweep gives to --set. Its position is where it
// was written.
type RawValue struct {
	Text string
	Pos  Pos
}

var rawValueType = reflect.TypeOf(RawValue{})

// flow writes n as one line of flow-style YAML that parses back to n.
func (n *node) flow() string {
	switch n.kind {
	case kScalar:
		if n.quoted {
			return strconv.Quote(n.value)
		}
		return n.value
	case kSeq:
		parts := make([]string, len(n.items))
		for i, it := range n.items {
			parts[i] = it.flow()
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case kMap:
		parts := make([]string, len(n.keys))
		for i, k := range n.keys {
			parts[i] = k + ": " + n.vals[i].flow()
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return ""
}
