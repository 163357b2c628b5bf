#!/usr/bin/env bash
# Installs what ebaysync needs to build, test and run, from Debian's packages
# (and npm for the browser tests). Safe to run again: it installs only what
# is missing. Usage: scripts/deps.sh [--browser]
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(build-essential cmake pkg-config libcurl4-openssl-dev libmicrohttpd-dev
      libjansson-dev libsqlite3-dev sqlite3 libpq-dev libjwt-dev libssl-dev
      libcmocka-dev libcrypt-dev libarchive-dev libxml2-dev libzip-dev
      postgresql curl jq
      systemd groff-base man-db) # systemd-analyze, groff and man check the units and the man page
if [ "${1:-}" = "--browser" ]; then
  pkgs+=(chromium)
  # Node.js may come from elsewhere than Debian (the machine image has its own).
  command -v node >/dev/null || pkgs+=(nodejs)
  command -v npm >/dev/null || pkgs+=(npm)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ "${1:-}" = "--browser" ]; then
  for suite in tests/contract tests/browser; do
    if [ -f "$suite/package.json" ] && [ ! -d "$suite/node_modules" ]; then
      (cd "$suite" && npm install --no-audit --no-fund --silent)
    fi
  done
fi
