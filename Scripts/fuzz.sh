#!/usr/bin/env bash
# Fuzzes the parsers with libFuzzer (Fuzz/README.md):
#
#   Scripts/fuzz.sh [seconds-per-target] [target...]
#
# Builds SwitchboardFuzz with -sanitize=fuzzer,address into .build-fuzz/,
# then runs each target (all by default) for the given time (default 60 s)
# on a scratch copy of Fuzz/Corpus/<target>/, so nothing new is written into
# the repository. Fails on any crash, broken property, leak, timeout or
# out-of-memory; the input that did it is kept in .build-fuzz/artifacts/.
# Prints executions, exec/s, coverage (cov, ft) and corpus size per target.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds="${1:-60}"
shift || true
if [ "$#" -gt 0 ]; then
	targets=("$@")
else
	targets=()
	for dir in Fuzz/Corpus/*/; do targets+=("$(basename "$dir")"); done
fi

scratch_path=.build-fuzz
# gold warns about every ASan helper symbol it cannot export: harmless, and hundreds of lines.
swift build --product SwitchboardFuzz -c debug --scratch-path "$scratch_path" \
	-Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING 2>&1 | grep -v 'Cannot export local symbol'
binary="$scratch_path/debug/SwitchboardFuzz"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$scratch_path/logs" "$scratch_path/artifacts"
# libFuzzer and ASan report crashes; Swift's own backtracer would only slow them down.
export SWIFT_BACKTRACE=enable=no

failed=()
summary=()
for target in "${targets[@]}"; do
	if [ ! -d "Fuzz/Corpus/$target" ]; then
		echo "fuzz: no corpus Fuzz/Corpus/$target" >&2
		failed+=("$target")
		continue
	fi
	corpus="$work/$target"
	artifacts="$scratch_path/artifacts/$target/"
	log="$scratch_path/logs/$target.log"
	mkdir -p "$corpus" "$artifacts"
	cp Fuzz/Corpus/"$target"/* "$corpus"/
	options=(
		-max_total_time="$seconds"
		-timeout=10            # seconds for one input: more is a hang
		-rss_limit_mb=2048     # an input that needs more is a memory bomb
		-print_final_stats=1
		-artifact_prefix="$artifacts"
	)
	dictionary="Fuzz/Dictionaries/$target.dict"
	[ -f "$dictionary" ] && options+=(-dict="$dictionary")
	echo "fuzz: $target for ${seconds}s"
	status=0
	FUZZ_TARGET="$target" "$binary" "${options[@]}" "$corpus" >"$log" 2>&1 || status=$?

	done_line="$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)"
	runs="$(sed -n 's/^stat::number_of_executed_units:[[:space:]]*//p' "$log" | tail -1)"
	rate="$(sed -n 's/^stat::average_exec_per_sec:[[:space:]]*//p' "$log" | tail -1)"
	cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")"
	ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")"
	corp="$(sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"$done_line")"
	line="$(printf '%-20s executions %-10s exec/s %-7s cov %-6s ft %-6s corpus %s' \
		"$target" "${runs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}")"
	if [ "$status" -ne 0 ] || [ -z "$done_line" ]; then
		echo "fuzz: $target FAILED (exit $status); log $log, input in $artifacts" >&2
		grep -E 'property violated|ERROR:|SUMMARY:|Test unit written' "$log" | head -20 >&2 || tail -40 "$log" >&2
		failed+=("$target")
		line="$line  FAILED"
	fi
	summary+=("$line")
done

echo
echo "fuzz: ${seconds}s per target"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
	echo "fuzz: failed: ${failed[*]}" >&2
	exit 1
fi
