#!/usr/bin/env bash
# Requests/s on GET /health: BenchHost against the Hummingbird peer of the
# shared bench harness, measured in the same run with wrk (Debian's wrk).
# Rounds alternate between the servers so drift on a shared machine hits
# both; the table gives each round and the medians' ratio.
#
#   Benchmarks/http-health.sh [--rounds 3] [--duration 10s] [--connections 50]
#
# BENCH_DIR points at a writable copy of the harness where the Hummingbird
# peer has been built (swift build -c release in peers/hummingbird/HummingbirdPeer).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ROUNDS=3
DURATION=10s
CONNECTIONS=50
while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) ROUNDS="$2"; shift 2 ;;
	--duration) DURATION="$2"; shift 2 ;;
	--connections) CONNECTIONS="$2"; shift 2 ;;
	*) echo "unknown option $1" >&2; exit 2 ;;
	esac
done
BENCH_DIR="${BENCH_DIR:?set BENCH_DIR to the bench harness (the folder with peers/hummingbird)}"
HB="$BENCH_DIR/peers/hummingbird/HummingbirdPeer/.build/release/HummingbirdPeer"
[ -x "$HB" ] || { echo "Hummingbird peer not built at $HB" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk not found (apt-get install wrk)" >&2; exit 1; }

swift build -c release --product BenchHost >&2
SB="$(swift build -c release --show-bin-path)/BenchHost"
LAST_CPU=$(($(nproc) - 1))

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# measure NAME BINARY: prints requests/s and the server's CPU seconds.
measure() {
	local port pid rps cpu0 cpu1
	port=$(free_port)
	PORT=$port "$2" >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
	# Warm-up, then the measured run with wrk pinned to the last core.
	taskset -c "$LAST_CPU" wrk -t1 -c"$CONNECTIONS" -d2s "http://127.0.0.1:$port/health" >/dev/null
	cpu0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
	rps=$(taskset -c "$LAST_CPU" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" "http://127.0.0.1:$port/health" | awk '/Requests\/sec/ {print $2}')
	cpu1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
	kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
	echo "$rps $(( (cpu1 - cpu0) ))"
}

echo "| round | switchboard req/s | hummingbird req/s | ratio | sb CPU ticks | hb CPU ticks |"
echo "| --- | --- | --- | --- | --- | --- |"
sb_all=(); hb_all=()
for round in $(seq "$ROUNDS"); do
	read -r sb sbcpu <<<"$(measure switchboard "$SB")"
	read -r hb hbcpu <<<"$(measure hummingbird "$HB")"
	sb_all+=("$sb"); hb_all+=("$hb")
	echo "| $round | $sb | $hb | $(awk -v a="$sb" -v b="$hb" 'BEGIN {printf "%.2f", a / b}') | $sbcpu | $hbcpu |"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
sbm=$(median "${sb_all[@]}"); hbm=$(median "${hb_all[@]}")
echo
echo "median: switchboard $sbm req/s, hummingbird $hbm req/s, ratio $(awk -v a="$sbm" -v b="$hbm" 'BEGIN {printf "%.2f", a / b}')x"
