#!/usr/bin/env bash
# Instructions a server spends per echoed message and per handshake, under
# valgrind's callgrind: repeatable to the instruction, where wall-clock
# figures on a shared 2-core machine are not. Each figure is the difference
# between a run with COUNT units of work and one with none, divided by COUNT
# (start-up and shutdown cancel out). User space only: the kernel's share
# (the same system calls for any server here) is not counted.
#
#   Benchmarks/instructions.sh [SERVER_BINARY] [STOP_SIGNAL]
#
# Default: a release BenchHost built here (one loop; stopped with INT). Any
# server speaking the bench harness's protocol can be measured the same way
# (the uWebSockets figures in Docs/Performance.md came from a host built
# outside this repository; stop it with TERM). ECHO_COUNT (40000) and
# CONNECT_COUNT (1000) set the work.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
if [ -n "${1:-}" ]; then
	cp "$1" "$scratch/server"
else
	swift build -c release --product BenchHost >&2
	cp "$(swift build -c release --show-bin-path)/BenchHost" "$scratch/server"
fi
# valgrind 3.19 cannot read Swift 6.3's DWARF 5 debug info.
objcopy --strip-debug "$scratch/server" 2>/dev/null || true
signal="${2:-INT}"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# Total instructions of one run serving `instructions-load.py MODE COUNT`.
count_run() {
	local mode=$1 count=$2
	LOOPS=1 PORT=$port valgrind --tool=callgrind --callgrind-out-file="$scratch/out.%p" "$scratch/server" \
		>"$scratch/server.log" 2>&1 &
	local pid=$!
	for _ in $(seq 600); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.1).close()" 2>/dev/null && break
		sleep 0.1
	done
	timeout 600 python3 Benchmarks/instructions-load.py "$mode" "$port" "$count"
	sleep 0.5
	kill "-$signal" "$pid"
	wait "$pid" || true
	local out
	out=$(ls -t "$scratch"/out.* | head -1)
	grep -m1 '^summary:\|^totals:' "$out" | awk '{print $2}'
	rm -f "$scratch"/out.*
}

echo_count=${ECHO_COUNT:-40000}
connect_count=${CONNECT_COUNT:-1000}
echo_zero=$(count_run echo 0)
echo_full=$(count_run echo "$echo_count")
connect_zero=$(count_run connect 0)
connect_full=$(count_run connect "$connect_count")
echo "instructions per echoed 64-byte message: $(( (echo_full - echo_zero) / echo_count ))"
echo "instructions per handshake (upgrade, then close frames both ways): $(( (connect_full - connect_zero) / connect_count ))"
