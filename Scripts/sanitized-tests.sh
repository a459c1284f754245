#!/usr/bin/env bash
# Builds and runs the whole test suite under one sanitizer (address or
# thread) in its own build folder: Scripts/sanitized-tests.sh address
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
sanitizer="$1"
shift
case "$sanitizer" in
	address) scratch=.build-asan ;;
	thread) scratch=.build-tsan ;;
	*) echo "usage: $0 address|thread [swift test options]" >&2; exit 2 ;;
esac
swift build --build-tests --sanitize="$sanitizer" --scratch-path "$scratch"
swift test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" "$@"
