#!/bin/sh
# Checks systemd/ssm-tunnel.service: `systemd-analyze verify` must print nothing (unknown keys and
# bad values are only warnings there), and the offline security review must stay at exposure ≤ 2.0.
# Needs systemd-analyze (Debian/Ubuntu: apt-get install systemd); no running systemd is required.
set -eu
cd "$(dirname "$0")/.."
unit=systemd/ssm-tunnel.service

if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "verify-systemd: systemd-analyze not found (apt-get install systemd)" >&2
  exit 1
fi

if ! output=$(systemd-analyze verify --man=no --recursive-errors=no "$unit" 2>&1) || [ -n "$output" ]; then
  printf '%s\n' "$output" >&2
  echo "verify-systemd: $unit does not verify cleanly" >&2
  exit 1
fi

# --threshold is the exposure level times ten.
if ! output=$(systemd-analyze security --offline=yes --threshold=20 --no-pager "$unit" 2>&1); then
  printf '%s\n' "$output" >&2
  echo "verify-systemd: $unit exposure rose above 2.0; see the review above" >&2
  exit 1
fi

echo "verify-systemd: $unit OK ($(printf '%s\n' "$output" | tail -n 1 | sed 's/^→ //'))"
