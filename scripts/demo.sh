#!/usr/bin/env bash
# The local three-node demo (make demo): builds spacepanda, starts three
# daemons with temporary homes on loopback, creates a channel, invites the
# other two, exchanges messages, restarts one node, carries on, prints the
# transcript, and removes everything it created, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=$(mktemp -d "${TMPDIR:-/tmp}/spacepanda-demo.XXXXXX")
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

say() { printf '\n== %s\n' "$*"; }

echo "building spacepanda..."
go build -o "$WORK/spacepanda" ./cmd/spacepanda
SP="$WORK/spacepanda"
sp() { local who=$1; shift; "$SP" --home "$WORK/$who" "$@"; }

# start WHO: run WHO's daemon in the background and wait until it answers.
start() {
	local who=$1
	"$SP" --home "$WORK/$who" daemon --listen /ip4/127.0.0.1/tcp/0 --no-mdns >>"$WORK/$who.log" 2>&1 &
	PIDS+=($!)
	eval "PID_$who=$!"
	for _ in $(seq 200); do
		# Only ask once the socket exists: a status without a daemon would
		# open the home itself while the daemon starts.
		if [ -S "$WORK/$who/control.sock" ] && sp "$who" --json status 2>/dev/null | grep -q '"daemon":true'; then
			return 0
		fi
		sleep 0.1
	done
	echo "the daemon of $who did not start; its log:" >&2
	cat "$WORK/$who.log" >&2
	return 1
}

# wait_text WHO TEXT: wait until WHO's timeline holds TEXT.
wait_text() {
	for _ in $(seq 300); do
		if sp "$1" messages general | grep -qF -- "$2"; then
			return 0
		fi
		sleep 0.1
	done
	echo "$1 never received: $2" >&2
	return 1
}

say "three identities, three daemons on loopback"
for who in alice bob carol; do
	sp "$who" init --name "$who" | sed "s/^/[$who] /"
	start "$who"
done

say "alice creates #general and invites bob and carol"
ID=$(sp alice channel create general)
echo "[alice] channel general: $ID"
for who in bob carol; do
	CODE=$(sp alice channel invite general --uses 1 --expires 1h)
	echo "[alice] invite for $who: ${CODE:0:40}..."
	sp "$who" join "$CODE" | sed "s/^/[$who] /"
done

say "they talk"
sp alice send general "Welcome to SpacePanda, everyone!" | sed 's/^/[alice] /'
wait_text bob "Welcome to SpacePanda"
sp bob send general "Hi alice! Bob here, end-to-end encrypted." | sed 's/^/[bob] /'
wait_text carol "Bob here"
sp carol send general "Carol too. No server in sight." | sed 's/^/[carol] /'
wait_text alice "No server in sight"

say "bob's node is restarted (SIGTERM); alice talks meanwhile"
kill -TERM "$PID_bob"
wait "$PID_bob" 2>/dev/null || true
sp alice send general "Bob, you will read this when you are back." | sed 's/^/[alice] /'
start bob
wait_text bob "when you are back"
sp bob send general "Back, and I have the whole history." | sed 's/^/[bob] /'
wait_text alice "whole history"
wait_text carol "whole history"

say "transcript, as bob sees it after his restart"
sp bob messages general
say "members"
sp alice channel members general
say "channel list on bob's restarted node"
sp bob channel list
echo
echo "demo finished; cleaning up $WORK"
