// Command spacepanda is the SpacePanda command line.
//
// The node and its commands are not built yet (see docs/status.md); for now the
// command only reports that.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "spacepanda: the node is not built yet; see docs/status.md")
	os.Exit(1)
}
