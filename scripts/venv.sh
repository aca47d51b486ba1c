#!/usr/bin/env bash
# The real OpenStack clients from PyPI, pinned, in a cached venv. Prints its path.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/env.sh"
venv="$FERROSTACK_CACHE/venv-osc-$OPENSTACKCLIENT_VERSION"
if ! "$venv/bin/openstack" --version >/dev/null 2>&1 || ! "$venv/bin/pytest" --version >/dev/null 2>&1; then
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check \
    "python-openstackclient==$OPENSTACKCLIENT_VERSION" "pytest==8.4.2" "requests" >&2
fi
# The console tests speak WebSocket to the serial and VNC consoles.
if ! "$venv/bin/python" -c "import websocket" 2>/dev/null; then
  "$venv/bin/pip" install -q --disable-pip-version-check "websocket-client==1.8.0" >&2
fi
echo "$venv"
