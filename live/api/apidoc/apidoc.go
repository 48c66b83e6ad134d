// Package apidoc writes the Markdown reference of the user API
// (docs/api.md) from the compiled schema, comments included, so the docs
// say what proto/dais/v1/node.proto says.
package apidoc

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// Markdown is the reference of every service, message and enum in fd,
// which must carry source info (comments).
func Markdown(fd protoreflect.FileDescriptor) string {
	var b strings.Builder
	comment := func(d protoreflect.Descriptor) string {
		c := fd.SourceLocations().ByDescriptor(d).LeadingComments
		return strings.TrimSpace(strings.ReplaceAll(c, "\n ", "\n"))
	}
	fmt.Fprintf(&b, "# The dais node API (%s)\n\n", fd.Package())
	b.WriteString("Generated from `live/api/proto/" + fd.Path() + "` by `go generate ./live/api`; a test fails when it drifts.\n\n")
	b.WriteString("Every method is served by each node at `POST /" + string(fd.Package()) + ".<Service>/<Method>` over the Connect protocol: gRPC, gRPC-Web, or plain HTTP with a JSON body (`Content-Type: application/json`). The Go SDK is `live/api/client`.\n\n")
	// The file's opening comment, written above its syntax line.
	d := fd.SourceLocations().ByPath(protoreflect.SourcePath{12})
	for _, c := range append(d.LeadingDetachedComments, d.LeadingComments) {
		if c = strings.TrimSpace(strings.ReplaceAll(c, "\n ", "\n")); c != "" {
			b.WriteString(c + "\n\n")
		}
	}
	for i := 0; i < fd.Services().Len(); i++ {
		s := fd.Services().Get(i)
		fmt.Fprintf(&b, "## Service %s\n\n", s.Name())
		b.WriteString("| method | request | response | what it does |\n|---|---|---|---|\n")
		for j := 0; j < s.Methods().Len(); j++ {
			m := s.Methods().Get(j)
			fmt.Fprintf(&b, "| `%s` | [%s](#%s) | [%s](#%s) | %s |\n", m.Name(), m.Input().Name(), anchor(m.Input().Name()),
				m.Output().Name(), anchor(m.Output().Name()), oneLine(comment(m)))
		}
		b.WriteString("\n")
	}
	b.WriteString("## Messages\n\n")
	for i := 0; i < fd.Messages().Len(); i++ {
		m := fd.Messages().Get(i)
		fmt.Fprintf(&b, "### %s\n\n", m.Name())
		if c := comment(m); c != "" {
			b.WriteString(c + "\n\n")
		}
		if m.Fields().Len() == 0 {
			continue
		}
		b.WriteString("| field | type | meaning |\n|---|---|---|\n")
		for j := 0; j < m.Fields().Len(); j++ {
			f := m.Fields().Get(j)
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", f.Name(), typeName(f), oneLine(comment(f)))
		}
		b.WriteString("\n")
	}
	b.WriteString("## Enums\n\n")
	for i := 0; i < fd.Enums().Len(); i++ {
		e := fd.Enums().Get(i)
		fmt.Fprintf(&b, "### %s\n\n| value | number | meaning |\n|---|---|---|\n", e.Name())
		for j := 0; j < e.Values().Len(); j++ {
			v := e.Values().Get(j)
			fmt.Fprintf(&b, "| `%s` | %d | %s |\n", v.Name(), v.Number(), oneLine(comment(v)))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func anchor(n protoreflect.Name) string { return strings.ToLower(string(n)) }

func oneLine(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\n", " "), "|", "\\|")
}

func typeName(f protoreflect.FieldDescriptor) string {
	var t string
	switch {
	case f.IsMap():
		return fmt.Sprintf("map<%s, %s>", typeName(f.MapKey()), typeName(f.MapValue()))
	case f.Message() != nil:
		t = fmt.Sprintf("[%s](#%s)", f.Message().Name(), anchor(f.Message().Name()))
	case f.Enum() != nil:
		t = fmt.Sprintf("[%s](#%s)", f.Enum().Name(), anchor(f.Enum().Name()))
	default:
		t = f.Kind().String()
	}
	if f.IsList() {
		t = "repeated " + t
	}
	return t
}
