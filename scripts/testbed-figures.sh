#!/usr/bin/env bash
# Issue 13's "Done when" figures on a quiet machine (about 17 minutes;
# docs/benchmarks.md, "Stop 16", "Stop 17"), and the hostile runs. Usage:
#
#   go build -o /tmp/sp-new ./cmd/spacepanda && go test -c -o /tmp/node.test ./node
#   git worktree add /tmp/old <commit> && (cd /tmp/old && go build -o /tmp/sp-old ./cmd/spacepanda)
#   scripts/testbed-figures.sh /tmp/sp-new /tmp/sp-old /tmp/node.test > figures.log
#
# The 10-node runs alternate the new and the old binary (new, old, new,
# old, new): the machine's speed drifts by more than the differences
# sought, so compare within one run of this script, with the Ed25519
# floor taken at its start, middle and end. Run nothing else meanwhile.
set -u
NEW=$1 OLD=$2 NODETEST=$3
floor() { go test crypto/ed25519 -run '^$' -bench "$1" 2>&1 | grep Benchmark; }
echo "== start $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"
floor 'Signing|Verification'
for b in "$NEW" "$OLD" "$NEW" "$OLD" "$NEW"; do
	echo "== 10 nodes x 200 msg/s x 60 s: $b $(date -u +%H:%M:%S)"
	"$b" --log-level info testbed --nodes 10 --rate 200 --duration 60s --seed 1 --json 2>/tmp/testbed-figures.err | tail -1
	grep "node CPU" /tmp/testbed-figures.err | tail -1
done
floor Verification
for i in 1 2; do
	echo "== 5 nodes, kill + partition + churn, one process ($i) $(date -u +%H:%M:%S)"
	"$NEW" testbed --nodes 5 --rate 50 --duration 20s --kill --partition --churn --seed 7 --json | tail -1
done
echo "== the same with --procs $(date -u +%H:%M:%S)"
"$NEW" testbed --nodes 5 --rate 50 --duration 20s --kill --partition --churn --seed 7 --procs --json | tail -1
echo "== 5 nodes, every fault and --hostile 3, one process and --procs $(date -u +%H:%M:%S)"
"$NEW" testbed --nodes 5 --rate 50 --duration 20s --kill --partition --churn --seed 7 --hostile 3 --json | tail -1
"$NEW" testbed --nodes 5 --rate 50 --duration 20s --kill --partition --churn --seed 7 --hostile 3 --procs --json | tail -1
echo "== --offline 10000 $(date -u +%H:%M:%S)"
"$NEW" testbed --nodes 5 --rate 200 --duration 5s --offline 10000 --baseline=false --json | tail -1
echo "== 8 control-socket clients $(date -u +%H:%M:%S)"
"$NODETEST" -test.run '^$' -test.bench ControlSend8 -test.benchtime 5000x 2>&1 | grep Benchmark
floor 'Signing|Verification'
echo "== end $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"
