#!/usr/bin/env bash
# Runs `cmake --install` of a build into a scratch prefix and checks the tree:
# exactly the expected files; the installed programs run from elsewhere (the
# migrations and the web page are in the binary); the systemd units start
# the installed binary, read the environment file, carry the hardening
# options, pass `systemd-analyze verify` (their man: link resolving to the
# installed page) and score at most 2.0 in `systemd-analyze security`; the
# envfile component installs the environment file once and never over an
# edited one. Usage: install_tree.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
fail=0
err() {
  echo "install_tree: $*" >&2
  fail=1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/p

cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log" >&2; err "cmake --install failed"; exit 1; }

# Exactly these files, wherever the GNU directories put them.
got=$(sed "s|^$prefix/||" "$build/install_manifest.txt" | sort)
want=$(printf '%s\n' ebaysync ebaysync-sim ebaysync.1 ebaysync.env.example ebaysync.conf \
  ebaysync-serve.service ebaysync-worker@.service | sort)
[ "$(printf '%s\n' "$got" | xargs -n1 basename | sort)" = "$want" ] ||
  err "installed files differ from the expected ones: got $(echo $got), want $(echo $want)"
path_of() { sed -n "s|^\\(.*/$1\\)\$|\\1|p" "$build/install_manifest.txt" | head -n 1; }
bin=$(path_of ebaysync)
sim=$(path_of ebaysync-sim)
page=$(path_of ebaysync.1)
serve=$(path_of ebaysync-serve.service)
worker=$(path_of ebaysync-worker@.service)
for f in "$bin" "$sim" "$page" "$serve" "$worker" "$(path_of ebaysync.conf)" \
  "$(path_of ebaysync.env.example)"; do
  [ -n "$f" ] && [ -s "$f" ] || err "missing or empty: ${f:-(not installed)}"
done
case "$page" in */man1/ebaysync.1) ;; *) err "the man page is not in a man1 folder: $page" ;; esac
case "$serve" in */systemd/system/*) ;; *) err "the units are not in systemd/system: $serve" ;; esac

# The programs run from another folder, with a fresh database.
cd "$tmp"
"$bin" --version >version.txt 2>&1 && grep -q '^ebaysync [0-9]' version.txt ||
  err "ebaysync --version: $(cat version.txt)"
"$bin" --help >/dev/null || err "ebaysync --help does not exit 0"
"$sim" --help >sim-help.txt 2>&1 && grep -q -- '--listen' sim-help.txt ||
  err "ebaysync-sim --help does not list --listen"
"$bin" user list --db "$tmp/fresh.db" >list.txt 2>&1 && grep -q 'no users yet' list.txt ||
  err "the installed ebaysync cannot open a fresh database: $(cat list.txt)"

# The units: the installed binary, the environment file, the options.
env_file=$(sed -n 's/^ES_ENV_FILE:[A-Z]*=//p' "$build/CMakeCache.txt")
grep -qxF "ExecStart=$bin serve --db \${EBAYSYNC_DB} \$EBAYSYNC_SERVE_OPTS" "$serve" ||
  err "$serve does not start $bin serve: $(grep '^ExecStart=' "$serve")"
grep -qxF "ExecStart=$bin worker --db \${EBAYSYNC_DB} --slots \${EBAYSYNC_WORKER_SLOTS} \$EBAYSYNC_WORKER_OPTS" \
  "$worker" || err "$worker does not start $bin worker: $(grep '^ExecStart=' "$worker")"
grep -qxF "EnvironmentFile=-$(dirname "$env_file")/worker-%i.env" "$worker" ||
  err "$worker does not read the instance's own environment file"
for unit in "$serve" "$worker"; do
  grep -n '@[A-Z_]*@' "$unit" && err "$unit has unsubstituted @VARIABLES@"
  for want in "EnvironmentFile=-$env_file" Restart=on-failure RestartSec= KillSignal=SIGTERM \
    TimeoutStopSec= User=ebaysync StateDirectory=ebaysync NoNewPrivileges=yes \
    ProtectSystem=strict ProtectHome=yes PrivateTmp=yes PrivateDevices=yes \
    ProtectKernelTunables=yes ProtectKernelModules=yes ProtectKernelLogs=yes \
    ProtectControlGroups=yes "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" \
    RestrictNamespaces=yes LockPersonality=yes MemoryDenyWriteExecute=yes \
    RestrictRealtime=yes SystemCallFilter=@system-service SystemCallArchitectures=native \
    CapabilityBoundingSet= UMask=0077; do
    grep -q "^$want" "$unit" || err "$(basename "$unit") lacks $want"
  done
done

if command -v systemd-analyze >/dev/null; then
  # verify checks every key, that ExecStart= is executable and that
  # Documentation=man:ebaysync(1) is found (in the installed tree) when man
  # is there to look.
  man_opt=--man=yes
  if ! command -v man >/dev/null; then
    man_opt=--man=no
    echo "install_tree: man is not installed (Debian package man-db): Documentation= not checked"
  fi
  for unit in "$serve" "$worker"; do
    out=$(MANPATH="$(dirname "$(dirname "$page")")" systemd-analyze verify $man_opt "$unit" 2>&1) ||
      err "systemd-analyze verify $(basename "$unit") failed"
    [ -z "$out" ] || err "systemd-analyze verify $(basename "$unit"): $out"
    score=$(systemd-analyze security --offline=yes "$unit" 2>&1 |
      sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    if [ -z "$score" ]; then
      err "systemd-analyze security gave no score for $(basename "$unit")"
    elif awk -v s="$score" 'BEGIN { exit !(s > 2.0) }'; then
      err "$(basename "$unit"): systemd-analyze security exposure $score, over 2.0"
    else
      echo "install_tree: $(basename "$unit"): verified, exposure $score"
    fi
  done
else
  echo "install_tree: systemd-analyze is not installed (Debian package systemd): units not verified"
fi

# The envfile component: installed once, mode 0600, never over an edited one.
DESTDIR=$tmp/d cmake --install "$build" --component envfile >/dev/null
installed=$tmp/d$env_file
if [ ! -f "$installed" ]; then
  err "--component envfile did not install $env_file"
else
  [ "$(stat -c %a "$installed")" = 600 ] || err "$env_file has mode $(stat -c %a "$installed"), not 600"
  echo "EBAYSYNC_DB=edited" >>"$installed"
  DESTDIR=$tmp/d cmake --install "$build" --component envfile >/dev/null
  grep -q '^EBAYSYNC_DB=edited$' "$installed" || err "--component envfile overwrote an edited $env_file"
fi

[ $fail -eq 0 ] && echo "install_tree: $(echo "$got" | wc -l) files installed and checked"
exit $fail
