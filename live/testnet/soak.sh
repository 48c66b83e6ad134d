#!/bin/sh
# The soak in BENCHMARKS.md (not in make test): four validator processes
# with the default BFT timeouts at 50 transfers/s, two minutes untouched,
# then DURATION (default 10m) while one validator after another is
# SIGKILLed every 30 s and restarted 10 s later. It fails on a fork, a lost
# committed block or a node that does not come back, and prints finality
# p50/p99 before and during the kills; the figures are also written as
# JSON to $DAIS_SOAK_OUT (default soak.json). DAIS_SOAK_DIR=DIR keeps the
# testnet (its logs) there.
#
#   live/testnet/soak.sh            # 12 minutes
#   live/testnet/soak.sh 2m         # a shorter one
#   DAIS_SOAK_BEFORE=30s live/testnet/soak.sh 1m
set -eu
cd "$(dirname "$0")/../.."
export CGO_CFLAGS="${CGO_CFLAGS:--O2 -g -Wno-deprecated-declarations}"
DAIS_SOAK="${1:-10m}" DAIS_SOAK_OUT="${DAIS_SOAK_OUT:-$PWD/soak.json}" \
	exec go test -count=1 -run '^TestSoak$' -timeout 90m -v ./live/testnet/
