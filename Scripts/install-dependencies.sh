#!/usr/bin/env bash
# Installs the system packages Switchboard builds and tests with, if any is
# missing (Debian/Ubuntu; uses sudo when not root), and the Python client
# library the integration tests drive the server with. Chromium runs the
# JavaScript client's tests headless; TypeScript checks its declarations. zlib backs permessage-deflate; hiredis
# and redis-server back the Redis backplane and its tests.
set -euo pipefail

packages=(libuv1-dev zlib1g-dev libhiredis-dev redis-server pkg-config curl python3-pip chromium nginx-light node-typescript)
# Node's built-in WebSocket (node >= 20) is one of the test clients.
command -v node >/dev/null || packages+=(nodejs)
missing=()
for package in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	echo "installing: ${missing[*]}" >&2
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The Python `websockets` client drives the WebSocket integration tests.
if ! python3 -c 'import websockets, sys; sys.exit(int(websockets.__version__.split(".")[0]) < 14)' 2>/dev/null; then
	echo "installing: python websockets" >&2
	python3 -m pip install -q --disable-pip-version-check 'websockets>=14' 2>/dev/null \
		|| python3 -m pip install -q --disable-pip-version-check --break-system-packages 'websockets>=14'
fi
command -v swift >/dev/null || { echo "swift is not in PATH: install Swift 6.1 or later first" >&2; exit 1; }
