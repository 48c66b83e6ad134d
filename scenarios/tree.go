package scenarios

import (
	"fmt"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Pos is where a value came from: a file position, or a --set override.
type Pos struct {
	File string
	Line int
	Col  int
	// Override is the --set argument the value came from, if any.
	Override string
}

func (p Pos) String() string {
	if p.Override != "" {
		return fmt.Sprintf("--set %s", p.Override)
	}
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

type kind uint8

const (
	kNull kind = iota
	kScalar
	kMap
	kSeq
)

func (k kind) String() string {
	return [...]string{"nothing", "a value", "a mapping", "a list"}[k]
}

// node is the loader's own view of a YAML document: positions on every key
// and value, aliases resolved, keys in file order. Decoding works on it
// rather than on the parser's AST so overrides can be spliced in.
type node struct {
	kind kind
	pos  Pos
	// kScalar
	value  string
	quoted bool // a quoted string: never a number or boolean
	// kMap
	keys   []string
	keyPos []Pos
	vals   []*node
	// kSeq
	items []*node
	// size is the number of values in the subtree, aliases expanded.
	size int
}

func (n *node) get(key string) (*node, Pos, bool) {
	for i, k := range n.keys {
		if k == key {
			return n.vals[i], n.keyPos[i], true
		}
	}
	return nil, Pos{}, false
}

// parseYAML turns a file's bytes into a node tree; syntax errors come back
// with their position.
func parseYAML(file string, data []byte) (*node, []*Error) {
	if line, col := scanNesting(data, prescanDepth); line > 0 {
		return nil, []*Error{{Pos: Pos{File: file, Line: line, Col: col}, Msg: fmt.Sprintf("nesting deeper than %d levels", maxDepth)}}
	}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		var se *yaml.SyntaxError
		if asSyntax(err, &se) && se.Token != nil && se.Token.Position != nil {
			return nil, []*Error{{Pos: Pos{File: file, Line: se.Token.Position.Line, Col: se.Token.Position.Column}, Msg: "YAML syntax: " + se.Message}}
		}
		return nil, []*Error{{Pos: Pos{File: file}, Msg: "YAML syntax: " + firstLine(err.Error())}}
	}
	var docs []*ast.DocumentNode
	for _, d := range f.Docs {
		if d.Body != nil {
			docs = append(docs, d)
		}
	}
	if len(docs) == 0 {
		return nil, []*Error{{Pos: Pos{File: file}, Msg: "the file is empty: a scenario needs at least a run section"}}
	}
	if len(docs) > 1 {
		p := docs[1].Body.GetToken().Position
		return nil, []*Error{{Pos: Pos{File: file, Line: p.Line, Col: p.Column}, Msg: "a scenario file holds one YAML document; found a second"}}
	}
	c := converter{file: file, anchors: map[string]*node{}}
	n := c.convert(docs[0].Body, 0)
	if n.size > maxValues {
		return nil, []*Error{{Pos: Pos{File: file}, Msg: fmt.Sprintf("the file stands for more than %d values (aliases expanded); a scenario has at most that", maxValues)}}
	}
	return n, c.errs
}

func asSyntax(err error, target **yaml.SyntaxError) bool {
	se, ok := err.(*yaml.SyntaxError)
	if ok {
		*target = se
	}
	return ok
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

type converter struct {
	file    string
	anchors map[string]*node
	errs    []*Error
}

const maxDepth = 64

// maxValues bounds the values of a file, each alias counted as the values
// it stands for: decoding walks aliases, so a few lines of anchors could
// otherwise stand for billions of values.
const maxValues = 1 << 20

func (c *converter) pos(n ast.Node) Pos {
	t := n.GetToken()
	if t == nil || t.Position == nil {
		return Pos{File: c.file}
	}
	return Pos{File: c.file, Line: t.Position.Line, Col: t.Position.Column}
}

func (c *converter) fail(p Pos, format string, a ...any) *node {
	c.errs = append(c.errs, &Error{Pos: p, Msg: fmt.Sprintf(format, a...)})
	return &node{kind: kNull, pos: p}
}

func (c *converter) convert(n ast.Node, depth int) *node {
	out := c.convertNode(n, depth)
	if out.size == 0 {
		out.size = 1
		for _, v := range out.vals {
			out.size = min(out.size+v.size, maxValues+1)
		}
		for _, v := range out.items {
			out.size = min(out.size+v.size, maxValues+1)
		}
	}
	return out
}

func (c *converter) convertNode(n ast.Node, depth int) *node {
	if depth > maxDepth {
		return c.fail(c.pos(n), "nesting deeper than %d levels", maxDepth)
	}
	p := c.pos(n)
	switch n := n.(type) {
	case nil:
		return &node{kind: kNull}
	case *ast.NullNode:
		return &node{kind: kNull, pos: p}
	case *ast.StringNode:
		t := n.GetToken()
		quoted := t != nil && (t.Type == token.DoubleQuoteType || t.Type == token.SingleQuoteType)
		return &node{kind: kScalar, pos: p, value: n.Value, quoted: quoted}
	case *ast.LiteralNode:
		return &node{kind: kScalar, pos: p, value: n.Value.Value, quoted: true}
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return &node{kind: kScalar, pos: p, value: n.GetToken().Value}
	case *ast.MappingValueNode:
		m := &node{kind: kMap, pos: c.pos(n.Key)}
		c.addPair(m, n, depth)
		return m
	case *ast.MappingNode:
		m := &node{kind: kMap, pos: p}
		if len(n.Values) > 0 {
			m.pos = c.pos(n.Values[0].Key)
		}
		for _, mv := range n.Values {
			c.addPair(m, mv, depth)
		}
		return m
	case *ast.SequenceNode:
		s := &node{kind: kSeq, pos: p}
		for _, v := range n.Values {
			s.items = append(s.items, c.convert(v, depth+1))
		}
		return s
	case *ast.AnchorNode:
		v := c.convert(n.Value, depth+1)
		if n.Name != nil {
			c.anchors[n.Name.GetToken().Value] = v
		}
		return v
	case *ast.AliasNode:
		name := ""
		if n.Value != nil {
			name = n.Value.GetToken().Value
		}
		v, ok := c.anchors[name]
		if !ok {
			return c.fail(p, "alias *%s names no anchor defined above it", name)
		}
		return v
	case *ast.TagNode:
		return c.fail(p, "YAML tags (%s) are not supported in scenario files", n.Start.Value)
	case *ast.CommentNode, *ast.CommentGroupNode:
		return &node{kind: kNull, pos: p}
	}
	return c.fail(p, "unsupported YAML construct (%s)", n.Type())
}

func (c *converter) addPair(m *node, mv *ast.MappingValueNode, depth int) {
	kp := c.pos(mv.Key)
	if _, ok := mv.Key.(*ast.MergeKeyNode); ok {
		c.fail(kp, "merge keys (<<) are not supported; repeat the keys, or use an alias for the whole value")
		return
	}
	key, ok := scalarKey(mv.Key)
	if !ok {
		c.fail(kp, "a key must be a plain word, not %s", mv.Key.Type())
		return
	}
	for i, k := range m.keys {
		if k == key {
			c.fail(kp, "key %q appears twice (first at line %d)", key, m.keyPos[i].Line)
			return
		}
	}
	m.keys = append(m.keys, key)
	m.keyPos = append(m.keyPos, kp)
	m.vals = append(m.vals, c.convert(mv.Value, depth+1))
}

func scalarKey(k ast.MapKeyNode) (string, bool) {
	switch k := k.(type) {
	case *ast.StringNode:
		return k.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.NullNode:
		return k.GetToken().Value, true
	}
	return "", false
}
