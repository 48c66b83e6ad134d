package api

// The generated code in gen/ comes from proto/dais/v1/node.proto. To
// regenerate it (needs protoc, e.g. Debian's protobuf-compiler):
//
//go:generate sh -c "cd proto && protoc --plugin=protoc-gen-go=$(go env GOPATH)/bin/protoc-gen-go --plugin=protoc-gen-connect-go=$(go env GOPATH)/bin/protoc-gen-connect-go --go_out=../gen --go_opt=module=github.com/dais-sim/dais/live/api/gen --connect-go_out=../gen --connect-go_opt=module=github.com/dais-sim/dais/live/api/gen dais/v1/node.proto"
//go:generate go run ./internal/gendoc proto dais/v1/node.proto ../../docs/api.md
