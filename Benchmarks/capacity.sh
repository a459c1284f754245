#!/usr/bin/env bash
# What a connection costs BenchHost (one event loop, LOOPS=1) at several
# scales, for a capacity model. A fresh server for every step.
#
# Idle: N WebSocket connections held open on /echo (wsbench -mode idle):
# server RSS before and with N open, bytes per connection, server CPU per
# handshake, and the kernel's side, read while the N are still open:
# /proc/net/sockstat TCP mem (pages, machine-wide, so both ends of each
# loopback pair), skmem summed over the server's own sockets (ss, local port
# = the server's), and the TCP and sock_inode_cache slabs (/proc/slabinfo,
# root only; both ends). Socket buffer memory is near zero for idle
# connections: the slabs show what a socket itself holds.
# Fan-out: S subscribers on one topic (wsbench -mode fanout), at a fixed
# publish rate of DELIVERIES/S messages/s (DELIVERIES/s in all) and
# saturating (-r 0, window mode): deliveries/s, p99 latency, delivered
# fraction, server CPU per delivery and server RSS (at start, and peak, VmHWM).
#
#   Benchmarks/capacity.sh
#   IDLE_COUNTS="1000 5000" FANOUT_COUNTS="1000" Benchmarks/capacity.sh
#
# IDLE_COUNTS (1000 5000 10000 19000), FANOUT_COUNTS (1000 5000 19000; "" skips
# that part), DELIVERIES (500000), OUT (results directory: tables.md,
# idle.jsonl, fanout.jsonl, logs), BENCH_HOST (a BenchHost binary to measure
# instead of building one), BENCH_DIR as for peers-compare.sh (only its
# client/bin/wsbench is used). A count needs as many descriptors in one
# process (ulimit -n). Every wsbench run is bounded (-max-time, timeout); the
# defaults take about 2-3 minutes plus the build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BENCH_DIR="${BENCH_DIR:-/tmp/bench}"
wsbench="$BENCH_DIR/client/bin/wsbench"
[ -x "$wsbench" ] || { echo "capacity.sh: no $wsbench (cd $BENCH_DIR/client && go build -o bin/wsbench .)" >&2; exit 1; }
IDLE_COUNTS="${IDLE_COUNTS-1000 5000 10000 19000}"
FANOUT_COUNTS="${FANOUT_COUNTS-1000 5000 19000}"
DELIVERIES="${DELIVERIES:-500000}"
OUT="${OUT:-/tmp/capacity-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
ulimit -n "$(ulimit -Hn)"
for n in $IDLE_COUNTS $FANOUT_COUNTS; do
	[ "$n" -lt "$(( $(ulimit -n) - 100 ))" ] || { echo "capacity.sh: $n connections exceed ulimit -n $(ulimit -n)" >&2; exit 1; }
done

tmp="$(mktemp -d)"
server="" client=""
stop_server() { # TERM, up to 10 s for a graceful stop, then KILL
	[ -n "$server" ] || return 0
	kill "$server" 2>/dev/null || true
	for _ in $(seq 50); do kill -0 "$server" 2>/dev/null || break; sleep 0.2; done
	kill -9 "$server" 2>/dev/null || true
	wait "$server" 2>/dev/null || true
	server=""
}
trap '[ -z "$client" ] || kill "$client" 2>/dev/null; stop_server; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# A copy of the binary, so a rebuild meanwhile does not change what is measured.
if [ -n "${BENCH_HOST:-}" ]; then cp "$BENCH_HOST" "$tmp/BenchHost"; else
	swift build -c release --product BenchHost >&2
	cp "$(swift build -c release --show-bin-path)/BenchHost" "$tmp/"
fi

start_server() { # $1: name for its log; sets port and server
	port="$("$wsbench" -mode freeport)"
	LOOPS=1 PORT="$port" "$tmp/BenchHost" >"$OUT/server-$1.log" 2>&1 &
	server=$!
	"$wsbench" -mode wait -addr "127.0.0.1:$port" -timeout 20s \
		|| { echo "capacity.sh: BenchHost ($1) did not answer /health, see $OUT/server-$1.log" >&2; exit 1; }
}
status_kb() { awk -v f="$2:" '$1 == f { print $2 * 1024 }' "/proc/$1/status"; } # bytes
sockstat() { awk -v f="$1" '$1 == "TCP:" { for (i = 2; i < NF; i++) if ($i == f) print $(i + 1) }' /proc/net/sockstat; }
slab_bytes() { [ -r /proc/slabinfo ] && awk '$1 == "TCP" || $1 == "sock_inode_cache" { s += $2 * $4 } END { print s + 0 }' /proc/slabinfo || echo null; }
server_skmem() { # "sockets bytes" over established sockets with local port $port; bytes = r + f + w + o + bl
	ss -tmnH state established "sport = :$port" | grep -o 'skmem:([^)]*)' | awk -F'[(),]' '
		{ n++; for (i = 2; i <= NF; i++) if ($i ~ /^(r|f|w|o|bl)[0-9]+$/) { sub(/^[a-z]+/, "", $i); b += $i } }
		END { print n + 0, b + 0 }'
}
run_client() { # $1: step name, $2: max seconds, rest: wsbench arguments; JSON to $tmp/$1.json, stderr to $OUT/$1.log
	local name="$1" max="$2"; shift 2
	timeout -k 5 "$((max + 10))" "$wsbench" -addr "127.0.0.1:$port" -pid "$server" -max-time "${max}s" \
		-label switchboard -workload "$name" "$@" >"$tmp/$name.json" 2>"$OUT/$name.log" &
	client=$!
}
finish_client() { # $1: step name; fails the script when wsbench failed or reported an error
	local rc=0; wait "$client" || rc=$?; client=""
	if [ "$rc" != 0 ] || ! jq -e 'has("error") | not' "$tmp/$1.json" >/dev/null 2>&1; then
		echo "capacity.sh: wsbench $1 failed (exit $rc), see $OUT/$1.log" >&2; tail -3 "$OUT/$1.log" >&2; exit 1
	fi
}

page=$(getconf PAGESIZE)
for n in $IDLE_COUNTS; do
	start_server "idle-$n"
	mem0=$(sockstat mem) inuse0=$(sockstat inuse) slab0=$(slab_bytes)
	run_client "idle-$n" $((n / 200 + 60)) -mode idle -n "$n" -c 50 -settle 2s
	# wsbench logs "N open after" and then holds them for -settle before it
	# reads RSS and closes them: the kernel's side is read in that pause.
	until grep -q ' open after ' "$OUT/idle-$n.log" || ! kill -0 "$client" 2>/dev/null; do sleep 0.1; done
	sleep 0.5
	mem1=$(sockstat mem) inuse1=$(sockstat inuse) slab1=$(slab_bytes)
	read -r skn skb < <(server_skmem)
	kill -0 "$client" 2>/dev/null || { echo "capacity.sh: idle-$n: wsbench ended before the kernel was read" >&2; exit 1; }
	finish_client "idle-$n"
	stop_server
	jq -c --argjson k "{\"sockstat_mem_pages_before\":$mem0,\"sockstat_mem_pages_with\":$mem1,\"page_bytes\":$page,
		\"sockstat_inuse_before\":$inuse0,\"sockstat_inuse_with\":$inuse1,\"slab_tcp_bytes_before\":$slab0,
		\"slab_tcp_bytes_with\":$slab1,\"server_sockets\":$skn,\"server_skmem_bytes\":$skb}" \
		'. + {kernel: $k}' "$tmp/idle-$n.json" | tee -a "$OUT/idle.jsonl"
done

for s in $FANOUT_COUNTS; do
	for rate in $(awk -v d="$DELIVERIES" -v s="$s" 'BEGIN { printf "%g", d / s }') 0; do
		name="fanout-$s-r$rate"
		start_server "$name"
		rss0=$(status_kb "$server" VmRSS)
		run_client "$name" $((s / 100 + 60)) -mode fanout -s "$s" -b 64 -r "$rate" -t 5s -warmup 2s
		finish_client "$name"
		peak=$(status_kb "$server" VmHWM)
		stop_server
		jq -c --argjson a "{\"server_rss_start\":$rss0,\"server_rss_peak\":$peak}" '. + $a' "$tmp/$name.json" \
			| tee -a "$OUT/fanout.jsonl"
	done
done

# Tables, from the JSON lines.
{
	if [ -s "$OUT/idle.jsonl" ]; then
		echo "## Idle connections (BenchHost LOOPS=1)"
		echo
		echo "| N | alive | RSS before MiB | RSS with N MiB | RSS bytes/conn | anon bytes/conn | opened in s | server CPU s | µs/handshake | server skmem bytes/conn | sockstat mem bytes/pair | TCP+sock_inode slab bytes/pair | TCP sockets Δ | other cores |"
		echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
		jq -r '.kernel as $k | def mib: . / 1048576 * 10 | round / 10; def per: . / ([.alive, 1] | max);
			"| \(.n) | \(.alive) | \(.rss_before | mib) | \(.rss_after | mib) | \(.bytes_per_conn | round) | \(.anon_bytes_per_conn | round) | \(.open_s) | \(.cpu_open.server_cpu_s) | " +
			"\(.cpu_open.server_cpu_s * 1e6 / ([.opened, 1] | max) | round) | \($k.server_skmem_bytes / ([$k.server_sockets, 1] | max) | round) | " +
			"\(($k.sockstat_mem_pages_with - $k.sockstat_mem_pages_before) * $k.page_bytes / ([.alive, 1] | max) | round) | " +
			"\(if $k.slab_tcp_bytes_with then ($k.slab_tcp_bytes_with - $k.slab_tcp_bytes_before) / ([.alive, 1] | max) | round else "n/a" end) | " +
			"\($k.sockstat_inuse_with - $k.sockstat_inuse_before) | \(.cpu_open.other_cores) |"' "$OUT/idle.jsonl"
		echo
		echo "Server skmem: receive queue + forward alloc + write queue + options over the server's own sockets. sockstat and the slabs are machine-wide: both ends of each loopback pair (the server's share is about half), and other processes' sockets. Server CPU comes in 10 ms ticks: coarse for small N."
		echo
	fi
	if [ -s "$OUT/fanout.jsonl" ]; then
		echo "## Fan-out to one topic, 64-byte messages (BenchHost LOOPS=1)"
		echo
		echo "| S | publishes/s asked | publishes/s | deliveries/s | p99 µs | delivered | dropped | server CPU ns/delivery | server cores | client cores | other cores | RSS start MiB | RSS peak MiB |"
		echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
		jq -r 'def mib: . / 1048576 * 10 | round / 10;
			"| \(.subs) | \(if .rate > 0 then .rate else "max (window \(.window))" end) | \(.publish_per_s | round) | \(.deliveries_per_s | round) | \(.latency.p99 | round) | " +
			"\(.delivered_fraction) | \(.subs_dropped) | \(if .delivered > 0 then .cpu.server_cpu_s * 1e9 / .delivered | round else "n/a" end) | " +
			"\(.cpu.server_cores) | \(.cpu.client_cores) | \(.cpu.other_cores) | \(.server_rss_start | mib) | \(.server_rss_peak | mib) |"' "$OUT/fanout.jsonl"
		echo
	fi
} | tee "$OUT/tables.md"
echo "capacity.sh: results in $OUT" >&2
