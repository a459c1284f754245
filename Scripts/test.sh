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
# Every change of the public API shows in Docs/API/; the DocC catalogs
# build without a warning (a broken symbol link is one).
Scripts/check-api.sh
for target in Switchboard SwitchboardRedis; do
	swift package generate-documentation --target "$target" --warnings-as-errors >/dev/null
done
swift test --skip-build

# The integrations, packages of their own (they bring SwiftNIO and
# Hummingbird, jwt-kit and swift-crypto, which users of the core library
# never build): their first builds take a few minutes.
integrations=(Integrations/SwitchboardHummingbird Integrations/SwitchboardJWT)
# Vapor's first build takes ~7 minutes on 2 cores (swift-crypto's BoringSSL
# among them), which would take the suite past its ~20 minutes: it runs when
# asked, `Scripts/test.sh --with-vapor`, as CI does (.ci/run).
if [ "${1:-}" = "--with-vapor" ]; then
	integrations+=(Integrations/SwitchboardVapor)
fi
for integration in "${integrations[@]}"; do
	swift build --build-tests --package-path "$integration"
	swift test --skip-build --package-path "$integration"
done

# The whole suite again under AddressSanitizer (LeakSanitizer included: a
# leak fails the run; Scripts/sanitizers lists the reports in code that is
# not ours), then under Thread Sanitizer (a race stops the run). Examples the
# tests start are built the same way. SWITCHBOARD_SANITIZER tells tests that
# memory figures and timings mean little here.
SWITCHBOARD_SANITIZER=address \
ASAN_OPTIONS="suppressions=$PWD/Scripts/sanitizers/asan-suppressions.txt" \
LSAN_OPTIONS="suppressions=$PWD/Scripts/sanitizers/lsan-suppressions.txt:print_suppressions=0" \
	Scripts/sanitized-tests.sh address
SWITCHBOARD_SANITIZER=thread TSAN_OPTIONS="halt_on_error=1" \
	Scripts/sanitized-tests.sh thread
# The Hummingbird hand-off crosses threads (SwiftNIO's loops, Switchboard's,
# Swift tasks): its tests again under Thread Sanitizer.
hummingbird=Integrations/SwitchboardHummingbird
swift build --build-tests --package-path "$hummingbird" --sanitize=thread --scratch-path "$hummingbird/.build-tsan"
SWITCHBOARD_SANITIZER=thread TSAN_OPTIONS="halt_on_error=1" \
	swift test --skip-build --package-path "$hummingbird" --sanitize=thread --scratch-path "$hummingbird/.build-tsan"

# A short libFuzzer run of every fuzz target (Fuzz/README.md): a crash or a
# broken property fails the run; nothing is written to Fuzz/Corpus.
Scripts/fuzz.sh 15
