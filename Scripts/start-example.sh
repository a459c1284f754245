#!/usr/bin/env bash
# Quick start: installs what is missing, then builds and starts an example
# (default: ChatRoom; also Ticker, BenchHost) on PORT, default 8080.
# Stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
Scripts/install-dependencies.sh
example="${1:-ChatRoom}"
export PORT="${PORT:-8080}"
echo "starting $example on http://127.0.0.1:$PORT" >&2
exec swift run -c release "$example"
