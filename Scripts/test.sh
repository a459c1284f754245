#!/usr/bin/env bash
# The whole test suite: installs what is missing, then runs every test.
# CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
Scripts/install-dependencies.sh
# The 1,000-client test needs more descriptors than some shells allow.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
Scripts/check-layers.sh
swift build --build-tests
swift test --skip-build
# The hub's registry under Thread Sanitizer: concurrent publishers and
# subscribers from many threads (a race fails the run).
swift build --build-tests --sanitize=thread --scratch-path .build-tsan
swift test --skip-build --sanitize=thread --scratch-path .build-tsan --filter SwitchboardHubTests
# A short libFuzzer run of every parser's fuzz target (Fuzz/README.md): new
# crashes or broken properties fail the run; nothing is written to Fuzz/Corpus.
Scripts/fuzz.sh 15
