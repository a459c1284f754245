#!/usr/bin/env bash
# Fan-out across nodes through Redis, against fan-out on one node, in the
# same run, with the shared harness's load client (wsbench, fanout mode:
# S subscribers and one publisher on one topic, 64-byte binary messages,
# publisher at most 32 messages ahead of the slowest subscriber).
#
#   Benchmarks/redis-fanout.sh [--subs 100] [--duration 5s]
#
# Cases, each with freshly started processes:
#   single-direct  one BenchHost, the client connects to it directly
#   single-nginx   the same behind nginx
#   cross-nginx    two BenchHosts sharing a redis-server (REDIS_URL), behind
#                  nginx: every subscriber on node B, the publisher on node A,
#                  so every delivery crosses Redis
# wsbench dials one address for all its connections, subscribers first and
# the publisher last; nginx places them: node B takes at most S
# connections (max_conns) and node A is the backup that gets the rest, the
# publisher. The script checks the placement in nginx's access log. The
# relay through nginx costs the same in both nginx cases, so cross-nginx /
# single-nginx is the price of the Redis hop; single-direct shows what
# nginx itself costs.
#
# BENCH_DIR: a copy of the bench harness with client/bin/wsbench built
# (default /tmp/bench). The client is pinned to the last core; on a small
# machine everything else (nodes, redis, nginx) shares the other cores, so
# read the CPU columns: cores used per process over each client run (from
# /proc, including the client's connect and probe phases).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SUBS=100
DURATION=5s
while [ $# -gt 0 ]; do
	case "$1" in
	--subs) SUBS="$2"; shift 2 ;;
	--duration) DURATION="$2"; shift 2 ;;
	*) echo "unknown option $1" >&2; exit 2 ;;
	esac
done
BENCH_DIR="${BENCH_DIR:-/tmp/bench}"
WSBENCH="$BENCH_DIR/client/bin/wsbench"
[ -x "$WSBENCH" ] || { echo "wsbench not built at $WSBENCH" >&2; exit 1; }
for tool in redis-server nginx python3; do
	command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { echo "$tool not found" >&2; exit 1; }
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

swift build -c release --product BenchHost >&2
SB="$(swift build -c release --show-bin-path)/BenchHost"
LAST_CPU=$(($(nproc) - 1))
TICKS=$(getconf CLK_TCK)
WORK=$(mktemp -d)
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_node NAME [REDIS_URL]: sets NODE_PORT and NODE_PID.
start_node() {
	NODE_PORT=$(free_port)
	PORT=$NODE_PORT REDIS_URL="${2:-}" "$SB" 2>"$WORK/$1.log" >/dev/null &
	NODE_PID=$!
	PIDS+=("$NODE_PID")
	"$WSBENCH" -mode wait -addr "127.0.0.1:$NODE_PORT" -timeout 10s 2>/dev/null
}

# start_redis: sets REDIS_PORT and REDIS_PID.
start_redis() {
	REDIS_PORT=$(free_port)
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --loglevel warning >/dev/null 2>&1 &
	REDIS_PID=$!
	PIDS+=("$REDIS_PID")
	for _ in $(seq 100); do
		[ "$(python3 - "$REDIS_PORT" <<'PY' 2>/dev/null
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)
s.sendall(b"PING\r\n"); print(s.recv(16).decode().strip())
PY
)" = "+PONG" ] && return
		sleep 0.05
	done
	echo "redis-server did not start" >&2; exit 1
}

# start_nginx UPSTREAM_LINES: sets NGINX_PORT and NGINX_PID; logs each
# proxied connection's node to $WORK/nginx/upstreams.log.
start_nginx() {
	local dir="$WORK/nginx"
	rm -rf "$dir"; mkdir -p "$dir"
	NGINX_PORT=$(free_port)
	cat >"$dir/nginx.conf" <<CONF
$( [ "$(id -u)" -eq 0 ] && echo "user root;" )
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    log_format upstream '\$upstream_addr';
    access_log $dir/upstreams.log upstream;
    client_body_temp_path $dir/body; proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi; uwsgi_temp_path $dir/uwsgi; scgi_temp_path $dir/scgi;
    upstream nodes {
$1
    }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location / {
            proxy_pass http://nodes;
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_read_timeout 1h;
            proxy_buffering off;
        }
    }
}
CONF
	"$NGINX" -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" -g "daemon off;" &
	NGINX_PID=$!
	PIDS+=("$NGINX_PID")
	for _ in $(seq 100); do
		curl -sf -o /dev/null "http://127.0.0.1:$NGINX_PORT/health" && { : >"$dir/upstreams.log"; return; }
		sleep 0.05
	done
	echo "nginx did not start" >&2; exit 1
}

ticks() { local total=0; for pid in "$@"; do total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat"))); done; echo "$total"; }
# All processes of a process and its children (nginx's worker).
family() { echo "$1 $(cat /proc/"$1"/task/*/children 2>/dev/null)"; }

# measure CASE ADDR "NAME:PIDS;NAME:PIDS...": one wsbench run; prints a table row.
measure() {
	local case=$1 addr=$2 groups=$3 start end before=() after=() i
	IFS=';' read -r -a group_list <<<"$groups"
	for group in "${group_list[@]}"; do before+=("$(ticks ${group#*:})"); done
	start=$(date +%s.%N)
	taskset -c "$LAST_CPU" "$WSBENCH" -mode fanout -addr "$addr" -s "$SUBS" -b 64 -window 32 -t "$DURATION" \
		-label "$case" -workload "fanout-$SUBS" >"$WORK/$case.json" 2>"$WORK/$case.client.log"
	end=$(date +%s.%N)
	for group in "${group_list[@]}"; do after+=("$(ticks ${group#*:})"); done
	local cpu=""
	for i in "${!group_list[@]}"; do
		cpu+="${group_list[$i]%%:*} $(awk -v t=$((after[i] - before[i])) -v hz="$TICKS" -v s="$(echo "$end - $start" | bc)" 'BEGIN {printf "%.2f", t / hz / s}') "
	done
	python3 - "$WORK/$case.json" "$case" "$cpu" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"| {sys.argv[2]} | {r['deliveries_per_s']:.0f} | {r['delivered_fraction']} | {r['subs_registered']} | "
      f"{r['subs_dropped']} | {r['out_of_order']} | {r['latency']['p99']:.0f} | {r['cpu']['client_cores']:.2f} | {sys.argv[3].strip()} |")
PY
}

stop_all() {
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	PIDS=()
}

echo "fan-out: $SUBS subscribers, 64-byte binary messages, window 32, $DURATION measured; $(nproc) cores, client on CPU $LAST_CPU"
echo
echo "| case | deliveries/s | delivered fraction | subscribers | dropped | out of order | p99 µs | client cores | cores per process (whole client run) |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"

start_node single
measure single-direct "127.0.0.1:$NODE_PORT" "node:$NODE_PID" | tee "$WORK/row1"
stop_all

start_node single
start_nginx "        server 127.0.0.1:$NODE_PORT;"
measure single-nginx "127.0.0.1:$NGINX_PORT" "node:$NODE_PID;nginx:$(family "$NGINX_PID")" | tee "$WORK/row2"
stop_all

start_redis
start_node a "redis://127.0.0.1:$REDIS_PORT"; A_PORT=$NODE_PORT; A_PID=$NODE_PID
start_node b "redis://127.0.0.1:$REDIS_PORT"; B_PORT=$NODE_PORT; B_PID=$NODE_PID
start_nginx "        server 127.0.0.1:$B_PORT max_conns=$SUBS;
        server 127.0.0.1:$A_PORT backup;"
measure cross-nginx "127.0.0.1:$NGINX_PORT" "publisher-node:$A_PID;subscriber-node:$B_PID;redis:$REDIS_PID;nginx:$(family "$NGINX_PID")" | tee "$WORK/row3"
sleep 0.5  # nginx logs each WebSocket when it closes
on_b=$(grep -c "127.0.0.1:$B_PORT" "$WORK/nginx/upstreams.log" || true)
on_a=$(grep -c "127.0.0.1:$A_PORT" "$WORK/nginx/upstreams.log" || true)
stop_all

rate() { awk -F'|' '{gsub(/ /, "", $3); print $3}' "$1"; }
echo
echo "placement in cross-nginx: $on_b connections on the subscriber node, $on_a on the publisher node (expected $SUBS and 1)"
echo "cross-node / single-node, both through nginx: $(awk -v a="$(rate "$WORK/row3")" -v b="$(rate "$WORK/row2")" 'BEGIN {printf "%.2f", a / b}')"
echo "cross-node through nginx / single-node direct: $(awk -v a="$(rate "$WORK/row3")" -v b="$(rate "$WORK/row1")" 'BEGIN {printf "%.2f", a / b}')"
