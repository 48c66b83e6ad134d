#!/usr/bin/env bash
# fl-sigkill.sh: a federated training job on a 4-process testnet survives a
# learner killed with SIGKILL mid-run (by hand; the same steps as
# TestFederatedJobSurvivesSIGKILLedLearner in learning_test.go).
#
#   live/testnet/fl-sigkill.sh [DIR]      # run from the repository root; needs go and jq
#
# It builds dais, starts `dais testnet up -n 4 --learning` in DIR (default: a
# temporary directory), waits for round 2, SIGKILLs learner node 3, waits two
# rounds, restarts it with `dais testnet up` (which starts the nodes that are
# down: node 3 replays its store and catches up), waits for the job to end and
# its payouts to commit, and checks: test accuracy ≥ 90%, every learner earned
# on chain, node 3 kept every block it had stored and holds the same chain as
# node 0. It stops the testnet at the end (or on failure) and leaves DIR.
set -euo pipefail

dir=${1:-$(mktemp -d -t dais-fl-XXXXXX)/tn}
bin=$(mktemp -d -t dais-bin-XXXXXX)/dais
victim=3
rounds=10

go build -o "$bin" ./cmd/dais
dais() { "$bin" "$@"; }
cleanup() { dais testnet down -d "$dir" --timeout 5s >/dev/null 2>&1 || true; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; dais testnet logs -d "$dir" | tail -40 >&2; exit 1; }

status() { dais testnet status -d "$dir" --json; }
# learn ID FIELD: one field of node ID's learning status ("null" when down).
learn() { status | jq -r ".[$1].status.learning.$2 // \"null\""; }
height() { status | jq -r ".[$1].status.height // 0"; }
# wait_for SECONDS WHAT CONDITION...: poll CONDITION every half second.
wait_for() {
	local secs=$1 what=$2
	shift 2
	for ((i = 0; i < secs * 2; i++)); do
		if "$@"; then return 0; fi
		sleep 0.5
	done
	fail "timed out after ${secs}s waiting for $what"
}
round_at_least() { local r; r=$(learn 0 round); [[ $r != null && $r -ge $1 ]]; }

echo "== starting 4 nodes with a federated job ($rounds rounds) in $dir"
dais testnet up -d "$dir" -n 4 --seed 5 --tx-rate 0 --learning --learning-rounds $rounds >/dev/null
wait_for 60 "round 2" round_at_least 2

killed_at=$(learn 0 round)
stored_before=$(status | jq -r ".[$victim].status.store_height")
pid=$(cat "$dir/node-$victim/pid")
echo "== round $killed_at committed; SIGKILL learner node $victim (pid $pid, $stored_before heights stored)"
kill -9 "$pid"
sleep 1
dais testnet status -d "$dir"

wait_for 60 "two rounds without node $victim" round_at_least $((killed_at + 2))
echo "== restarting node $victim"
dais testnet up -d "$dir" >/dev/null
replayed=$(status | jq -r ".[$victim].status.replayed")
echo "node $victim replayed $replayed stored heights"
[[ $replayed -ge $stored_before ]] || fail "node $victim replayed $replayed heights, but had stored $stored_before before the kill"

done_() { [[ $(learn 0 done) == true ]]; }
wait_for 120 "the job to finish" done_
paid_out() {
	local s; s=$(status)
	local payouts submitted paid earned
	payouts=$(jq -r '.[0].status.learning.payouts' <<<"$s")
	submitted=$(jq -r '.[0].status.learning.submitted' <<<"$s")
	paid=$(jq -r '.[0].status.learning.paid' <<<"$s")
	earned=$(jq -r '[.[1:][].status.learning.earned] | add' <<<"$s")
	[[ $payouts == "$submitted" && $paid -gt 0 && $paid == "$earned" ]]
}
wait_for 60 "every payout to commit" paid_out
caught_up() { [[ $(height $victim) -ge $1 ]]; }
goal=$(height 0)
wait_for 60 "node $victim to catch up to height $goal" caught_up "$goal"
dais testnet status -d "$dir"

acc=$(learn 0 test_accuracy)
awk -v a="$acc" 'BEGIN { exit !(a >= 0.9) }' || fail "test accuracy $acc < 0.9"
for id in 1 2 3; do
	e=$(learn $id earned)
	[[ $e -gt 0 ]] || fail "learner $id earned nothing"
done
[[ $(learn $victim trained) -gt 0 ]] || fail "node $victim trained no round after its restart"

dais testnet down -d "$dir" >/dev/null
trap - EXIT
# One chain: dais testnet report compares every node's committed blocks,
# height by height, and exits 1 if two differ.
dais testnet report -d "$dir" -o "$dir/report" >/dev/null || fail "the nodes' chains differ (dais testnet report -d $dir)"
echo "== OK: test accuracy $acc after $rounds rounds; learner $victim killed after round $killed_at, replayed $replayed heights and caught up to height $goal"
echo "   (report: $dir/report; logs: dais testnet logs -d $dir)"
