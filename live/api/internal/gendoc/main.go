// Command gendoc writes docs/api.md from the API's schema; go generate
// ./live/api runs it.
package main

import (
	"fmt"
	"os"

	"github.com/dais-sim/dais/live/api/apidoc"
)

func main() {
	fd, err := apidoc.Compile(os.Args[1], os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.WriteFile(os.Args[3], []byte(apidoc.Markdown(fd)), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
