#!/usr/bin/env bash
# Quick start: installs what is missing, then builds and starts an example
# (default: BenchHost on PORT, default 9000). Stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
Scripts/install-dependencies.sh
example="${1:-BenchHost}"
export PORT="${PORT:-9000}"
echo "starting $example on http://127.0.0.1:$PORT" >&2
exec swift run -c release "$example"
