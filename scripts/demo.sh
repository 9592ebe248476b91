#!/usr/bin/env bash
# The local three-node demo. The node and command line (issue "node + cmd") are
# not built yet, so there is nothing to demonstrate end to end; say so plainly.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "make demo: the node is not built yet (see docs/status.md); nothing to run." >&2
exit 1
