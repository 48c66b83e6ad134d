package apidoc

import (
	"context"
	"fmt"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Compile parses and links file (a path under importDir) with its
// comments: the schema as written, for docs and the drift test.
func Compile(importDir, file string) (protoreflect.FileDescriptor, error) {
	c := protocompile.Compiler{
		Resolver:       protocompile.WithStandardImports(&protocompile.SourceResolver{ImportPaths: []string{importDir}}),
		SourceInfoMode: protocompile.SourceInfoStandard,
	}
	fs, err := c.Compile(context.Background(), file)
	if err != nil {
		return nil, fmt.Errorf("apidoc: compiling %s: %w", file, err)
	}
	return fs[0], nil
}
