#!/usr/bin/env bash
# The public API of each product, as Docs/API/<module>.txt lists it: fails
# (showing the difference) when the code exports something else, so every
# change of what users can call shows in review. `--update` rewrites the
# lists after an intended change. SwitchboardIO's list is the part of it
# that `import Switchboard` re-exports; the rest of it is `package`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
modules=(Switchboard SwitchboardIO SwitchboardRedis SwitchboardWire SwitchboardDeflate)
log="$(mktemp)"
swift package dump-symbol-graph --minimum-access-level public >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
rm "$log"
graphs="$(find .build -maxdepth 2 -type d -name symbolgraph | head -1)"
mkdir -p Docs/API
status=0
for module in "${modules[@]}"; do
	current="$(mktemp)"
	Scripts/api-list.py "$graphs" "$module" >"$current"
	if [ "${1:-}" = "--update" ]; then
		mv "$current" "Docs/API/$module.txt"
	elif ! diff -u "Docs/API/$module.txt" "$current"; then
		echo "api: $module's public API differs from Docs/API/$module.txt (Scripts/check-api.sh --update after an intended change)" >&2
		status=1
		rm "$current"
	else
		rm "$current"
	fi
done
[ "$status" -eq 0 ] && echo "api: unchanged"
exit "$status"
