#!/usr/bin/env bash
# Switchboard beside the bench harness's peers, in one compare.sh run:
# BenchHost with its default loop count (every core but one) and with a
# loop on every core.
#
#   Benchmarks/peers-compare.sh [compare.sh options...]
#   Benchmarks/peers-compare.sh --only gorilla-hub,switchboard,switchboard-every-core \
#       --workloads fanout-100@50k,fanout-1000@50k --runs 5
#
# Options go to compare.sh unchanged, so another peer joins with
# `--server NAME 'exec /path/to/its/host'` (the uWebSockets figures in the
# README came from a host built that way, outside this repository); name it
# in --only too when --only is given.
#
# BENCH_DIR: a writable copy of the bench harness, the folder with
# compare.sh, PROTOCOL.md, client/ and peers/ (default /tmp/bench; copied
# there from BENCH_SOURCE on first use). compare.sh writes results/ inside it
# and builds its client and gorilla-hub there. The BenchHost binary is
# copied first, so a rebuild while the run goes on does not change what is
# measured.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BENCH_DIR="${BENCH_DIR:-/tmp/bench}"
if [ ! -x "$BENCH_DIR/compare.sh" ]; then
	: "${BENCH_SOURCE:?set BENCH_DIR to a bench harness, or BENCH_SOURCE to one to copy}"
	cp -r "$BENCH_SOURCE" "$BENCH_DIR"
	chmod -R u+w "$BENCH_DIR"
fi

swift build -c release --product BenchHost >&2
host="$(mktemp -d)/BenchHost"
cp "$(swift build -c release --show-bin-path)/BenchHost" "$host"
trap 'rm -rf "$(dirname "$host")"' EXIT

cd "$BENCH_DIR"
./compare.sh \
	--server switchboard "exec $host" \
	--server switchboard-every-core "LOOPS=$(nproc) exec $host" \
	"$@"
