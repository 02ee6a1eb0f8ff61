#!/usr/bin/env bash
# Test fixtures the BLE tests need: a D-Bus daemon and python3-dbusmock (a mock BlueZ on a
# private bus, see docs/BLE.md). Installed with apt when running as root and missing; never
# fatal: without them the BLE mock tests say they are skipped and why.
set -uo pipefail

missing=()
command -v dbus-daemon >/dev/null 2>&1 || missing+=(dbus-daemon)
if ! /usr/bin/python3 -c 'import dbusmock' >/dev/null 2>&1; then
  missing+=(python3-dbusmock)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "test-deps: ${missing[*]} missing and cannot be installed here (needs root and apt); BLE mock tests will be skipped" >&2
  exit 0
fi

echo "test-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
  echo "test-deps: apt-get install ${missing[*]} failed; BLE mock tests will be skipped" >&2
fi
exit 0
