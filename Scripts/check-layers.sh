#!/usr/bin/env bash
# Keeps the layers of Docs/Architecture.md honest: libuv is imported only by the I/O
# core (and later the Redis backplane); the sans-I/O wire layer and the hub
# import no I/O at all.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
status=0
fail() { echo "layering: $*" >&2; status=1; }

for file in $(grep -rl 'import CLibUV' Sources || true); do
	case "$file" in Sources/SwitchboardIO/* | Sources/SwitchboardRedis/*) ;; *) fail "$file imports CLibUV" ;; esac
done
for file in $(grep -rl 'import CZlib' Sources || true); do
	case "$file" in Sources/SwitchboardDeflate/*) ;; *) fail "$file imports CZlib (only SwitchboardDeflate compresses)" ;; esac
done
if grep -rqE 'import (SwitchboardIO|CLibUV|Foundation|Glibc|Dispatch)' Sources/SwitchboardWire; then
	fail "SwitchboardWire must stay sans-I/O: $(grep -rlE 'import (SwitchboardIO|CLibUV|Foundation|Glibc|Dispatch)' Sources/SwitchboardWire | tr '\n' ' ')"
fi
if grep -rqE 'import (SwitchboardIO|CLibUV)' Sources/SwitchboardHub; then
	fail "SwitchboardHub must not reach the I/O core"
fi
# Users of the core library never build SwiftNIO or Hummingbird: those live
# in Integrations/, packages of their own.
if grep -rqE '^(public |internal |@_exported )?import (NIO|Hummingbird|Vapor)' Sources; then
	fail "the core package must not import SwiftNIO, Hummingbird or Vapor: $(grep -rlE '^(public |internal )?import (NIO|Hummingbird|Vapor)' Sources | tr '\n' ' ')"
fi
[ "$status" -eq 0 ] && echo "layering: ok"
exit "$status"
