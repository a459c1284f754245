#!/usr/bin/env bash
# The Hummingbird hand-off beside BenchHost and the harness's Hummingbird
# WebSocket peer, in one compare.sh run: HummingbirdBenchHost is a
# Hummingbird app whose /echo and /topic/NAME are handed to Switchboard on
# the app's port (Integrations/SwitchboardHummingbird).
#
#   Benchmarks/handoff-compare.sh [compare.sh options...]
#   Benchmarks/handoff-compare.sh --workloads fanout-100,fanout-1000,connect --runs 3
#
# BENCH_DIR as for peers-compare.sh (a writable copy of the bench harness).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BENCH_DIR="${BENCH_DIR:-/tmp/bench}"
if [ ! -x "$BENCH_DIR/compare.sh" ]; then
	: "${BENCH_SOURCE:?set BENCH_DIR to a bench harness, or BENCH_SOURCE to one to copy}"
	cp -r "$BENCH_SOURCE" "$BENCH_DIR"
	chmod -R u+w "$BENCH_DIR"
fi

# Copies of both binaries, so a rebuild meanwhile does not change what is measured.
hosts="$(mktemp -d)"
trap 'rm -rf "$hosts"' EXIT
swift build -c release --product BenchHost >&2
cp "$(swift build -c release --show-bin-path)/BenchHost" "$hosts/"
package=Integrations/SwitchboardHummingbird
swift build -c release --package-path "$package" --product HummingbirdBenchHost >&2
cp "$(swift build -c release --package-path "$package" --show-bin-path)/HummingbirdBenchHost" "$hosts/"

cd "$BENCH_DIR"
./compare.sh \
	--server switchboard "exec $hosts/BenchHost" \
	--server switchboard-via-hummingbird "exec $hosts/HummingbirdBenchHost" \
	--only switchboard,switchboard-via-hummingbird,hummingbird \
	"$@"
