#!/usr/bin/env bash
# Runs the Autobahn|Testsuite fuzzingclient against a release BenchHost's
# /echo and prints the behaviour counts per section and every case that is
# not OK. The suite is not part of this repository: fetch a Python 3 port
# (e.g. ricardo-valero/autobahn-testsuite) into a scratch folder and pass
# its path. It needs Python >= 3.12; the venv is made in the scratch folder.
# Seen with that port (2026-11): its report writer crashed on a bytes value
# after case 7.13.2 and then hung; a local json.dumps(..., default=...) in
# its fuzzing.py createAgentCaseReportJSON fixed it (never commit the suite).
#
#   Benchmarks/autobahn.sh /tmp/autobahn/src ["1.*,2.*,...,10.*"]
set -euo pipefail
SUITE="${1:?path to the autobahn-testsuite checkout}"
CASES="${2:-1.*,2.*,3.*,4.*,5.*,6.*,7.*,9.*,10.*}"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
WORK="$(cd "$SUITE/.." && pwd)/run"
mkdir -p "$WORK"
PY=""
for candidate in python3 python3.13 python3.12 "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python; do
	if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then PY="$candidate"; break; fi
done
[ -n "$PY" ] || { echo "needs Python 3.12 or later" >&2; exit 1; }
[ -x "$WORK/venv/bin/python" ] || {
	"$PY" -m venv "$WORK/venv"
	"$WORK/venv/bin/pip" install -q "autobahn[twisted]" "twisted[tls]" pyopenssl service-identity jinja2
}
swift build -c release --product BenchHost >&2
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PORT=$PORT "$(swift build -c release --show-bin-path)/BenchHost" >/dev/null 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
sleep 1
python3 - "$WORK/fuzzingclient.json" "$PORT" "$CASES" <<'PY'
import json, sys
path, port, cases = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
json.dump({"options": {"failByDrop": False}, "outdir": "./reports",
           "servers": [{"agent": "Switchboard", "url": f"ws://127.0.0.1:{port}/echo"}],
           "cases": cases, "exclude-cases": [], "exclude-agent-cases": {}}, open(path, "w"))
PY
(cd "$WORK" && rm -rf reports && PYTHONPATH="$(cd "$SUITE" && pwd)/autobahntestsuite" \
	timeout "${AUTOBAHN_TIMEOUT:-3600}" venv/bin/python -m autobahntestsuite.wstest -m fuzzingclient -s fuzzingclient.json >wstest.log 2>&1) || true
python3 - "$WORK/reports/index.json" <<'PY'
import collections, json, sys
cases = json.load(open(sys.argv[1]))["Switchboard"]
sections = collections.defaultdict(collections.Counter)
for case, result in cases.items():
    sections[case.split(".")[0]][result["behavior"]] += 1
for section in sorted(sections, key=int):
    print(f"section {section}: {dict(sections[section])}")
print("total:", dict(sum(sections.values(), collections.Counter())))
for case in sorted(cases, key=lambda c: [int(x) for x in c.split(".")]):
    if cases[case]["behavior"] != "OK":
        print(" ", case, cases[case]["behavior"], cases[case]["behaviorClose"])
PY
