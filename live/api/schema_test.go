package api_test

import (
	"os"
	"regexp"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"

	"github.com/dais-sim/dais/live/api/apidoc"
	"github.com/dais-sim/dais/live/api/gen/daisv1"
)

// The schema file is the source of the generated code, the docs and the
// SDK: the generated descriptor is the file's, docs/api.md is what apidoc
// writes from it, and the SDK calls every method.
func TestSchemaIsTheSource(t *testing.T) {
	fd, err := apidoc.Compile("proto", "dais/v1/node.proto")
	if err != nil {
		t.Fatal(err)
	}
	written := protodesc.ToFileDescriptorProto(fd)
	written.SourceCodeInfo = nil
	generated := protodesc.ToFileDescriptorProto(daisv1.File_dais_v1_node_proto)
	generated.SourceCodeInfo = nil
	if !proto.Equal(written, generated) {
		t.Error("live/api/gen differs from proto/dais/v1/node.proto: run go generate ./live/api")
	}
	doc, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(doc) != apidoc.Markdown(fd) {
		t.Error("docs/api.md differs from the schema: run go generate ./live/api")
	}
	sdk, err := os.ReadFile("client/client.go")
	if err != nil {
		t.Fatal(err)
	}
	methods := fd.Services().Get(0).Methods()
	for i := 0; i < methods.Len(); i++ {
		name := string(methods.Get(i).Name())
		if !regexp.MustCompile(`NodeService` + name + `Procedure`).Match(sdk) {
			t.Errorf("the SDK (client/client.go) does not call %s", name)
		}
	}
}
