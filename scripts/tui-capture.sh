#!/usr/bin/env bash
# The TUI capture of docs/user-guide.md, from the real program: builds
# spacepanda, starts two daemons (alice, bob) with temporary homes on
# loopback, talks, lets Bob's TUI read and reply, stops Bob's node, and
# prints what Alice's TUI shows (96x26, in tmux). Needs tmux and python3.
set -eu
D=$(mktemp -d)
S=$D/spacepanda
go build -o "$S" ./cmd/spacepanda
A=$D/a; B=$D/b
T="tmux -L spacepanda-capture-$$"
lastid() { $S --home $1 --json messages $2 | python3 -c 'import sys,json; ls=[json.loads(l) for l in sys.stdin]; print([m for m in ls if m["text"]==sys.argv[1]][-1]["id"])' "$3"; }
waitfor() { for i in $(seq 600); do if eval "$1"; then return 0; fi; sleep 0.2; done; echo "timeout: $1" >&2; return 1; }
$S --home $A init --name alice >/dev/null
$S --home $B init --name bob >/dev/null
$S --home $A daemon --listen /ip4/127.0.0.1/tcp/0 --no-mdns >$D/a.log 2>&1 & PA=$!
$S --home $B daemon --listen /ip4/127.0.0.1/tcp/0 --no-mdns >$D/b.log 2>&1 & PB=$!
trap 'kill $PA $PB 2>/dev/null; $T kill-server 2>/dev/null; rm -rf "$D"' EXIT
waitfor "$S --home $A status >/dev/null 2>&1 && $S --home $B status >/dev/null 2>&1"
$S --home $A channel create general >/dev/null
$S --home $A channel create random >/dev/null
$S --home $B join "$($S --home $A channel invite general)" >/dev/null
$S --home $B join "$($S --home $A channel invite random)" >/dev/null
$S --home $A channel rename general team >/dev/null
$S --home $A send team "Morning all. Standup in 10?" >/dev/null
$S --home $B send team "Sure — I'll bring the release notes." >/dev/null
$S --home $A react team "$(lastid $A team "Sure — I'll bring the release notes.")" 👍 >/dev/null
$S --home $A send team "Great, thanks" >/dev/null
$S --home $A edit team "$(lastid $A team "Great, thanks")" "Great, thanks Bob" >/dev/null
printf 'Agenda:\n1. release notes\n2. the TUI\n' | $S --home $B send team - >/dev/null
M=$(lastid $A team "Morning all. Standup in 10?")
# Bob's TUI shows the channel: read receipts for alice's posts; he replies.
$T new-session -d -s b -x 80 -y 24 "env SPACEPANDA_HOME=$B $S tui; sleep 60"
waitfor "$T capture-pane -p -t b | grep -q Channels"
$T send-keys -t b M-2
waitfor "$T capture-pane -p -t b | grep -q Agenda" || { $T capture-pane -p -t b; exit 1; }
$T send-keys -t b "/reply ${M:0:6} On my way" Enter
waitfor "$S --home $A messages team | grep -q 'On my way'"
$S --home $A send team "See you there" >/dev/null
waitfor "$S --home $A --json messages team | grep 'See you there' | grep -q '\"delivery\":\"seen\"'"
$T send-keys -t b C-c
sleep 1
$T new-session -d -s a -x 96 -y 26 "env SPACEPANDA_HOME=$A $S tui; sleep 60"
waitfor "$T capture-pane -p -t a | grep -q Channels"
$T send-keys -t a M-2
waitfor "$T capture-pane -p -t a | grep -q 'See you there'"
$S --home $B send random "lunch at 12?" >/dev/null
waitfor "$T capture-pane -p -t a | grep -q 'random (1)'"
$T send-keys -t a "I'll share the notes after standup" Enter
waitfor "$T capture-pane -p -t a | grep -q 'standup (sent)'"
kill -INT $PB; wait $PB || true
waitfor "$T capture-pane -p -t a | grep -q '1 online'"
$T send-keys -t a "Anyone else joining?" Enter
waitfor "$T capture-pane -p -t a | grep -q 'joining? (queued)'"
sleep 1
$T capture-pane -p -t a | sed -e 's/[[:space:]]*$//'
