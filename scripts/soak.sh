#!/bin/sh
# The long testbed runs (docs/testbed.md, "Done when" of issue 13). Each run
# prints its report; the last line of each is the JSON report. The script
# fails if any run fails its own checks.
set -u
bin=${SPACEPANDA:-bin/spacepanda}
status=0
run() {
	echo "== spacepanda testbed $*"
	"$bin" testbed "$@" || status=1
}
run --nodes 5 --rate 50 --duration 20s --kill --partition --churn --seed 7 --json
run --nodes 10 --rate 200 --duration 60s --json
run --nodes 5 --rate 200 --duration 5s --offline 10000 --json
run --nodes 5 --rate 50 --duration 20s --kill --partition --seed 11 --json
run --nodes 5 --rate 50 --duration 20s --kill --partition --churn --seed 7 --procs --json
exit $status
