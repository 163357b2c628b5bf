#!/usr/bin/env bash
# Checks that the man page (docs/ebaysync.1) and each command's --help cover
# every flag the command accepts, and document no flag that nothing accepts.
# A command's flags are the long options of the option tables in the file
# that defines its function (src/cli.c's table names it: {"sync", cmd_sync,
# ...} -> `int cmd_sync(int argc` in src/cmd_sync.c); in the man page they
# are the .TP items of its `.SS "ebaysync CMD"` section. Also checks that
# every environment variable src/ reads is in the man page and in
# dist/ebaysync.env.example, and, when groff is installed, that the page
# renders without a warning. Usage: man_covers_flags.sh EBAYSYNC_BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
man=$src/docs/ebaysync.1
example=$src/dist/ebaysync.env.example
fail=0
err() {
  echo "man_covers_flags: $*" >&2
  fail=1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The page with roff's escapes for dashes and fonts taken out (in a file:
# `printf | grep -q` can fail on SIGPIPE under pipefail).
page=$tmp/page
sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\(en/-/g' "$man" >"$page"

# The long options (but --help) of the option tables in the file defining fn.
src_flags() {
  local files
  files=$(grep -l "^int $1(int argc" "$src"/src/*.c || true)
  [ -n "$files" ] || return 0
  # shellcheck disable=SC2086
  sed -n 's/^[[:space:]]*{"\([a-z0-9-]*\)", *\(no\|required\|optional\)_argument.*/\1/p' $files |
    grep -vx help | sort -u
}

# The flags of the .TP items in the man page section of command $1.
man_flags() {
  awk -v want=".SS ebaysync $1" '
    /^\.S[SH]/ { sec = $0; gsub(/"/, "", sec); inside = (sec == want); item = 0; next }
    inside && /^\.TP/ { item = 1; next }
    inside && item {
      if (match($0, /--[a-z0-9][a-z0-9-]*/)) print substr($0, RSTART + 2, RLENGTH - 2)
      item = 0
    }' "$page" | sort -u
}

mapfile -t table < <(sed -n 's/^[[:space:]]*{"\([a-z0-9-]*\)", *\(cmd_[a-z0-9_]*\),.*/\1 \2/p' \
  "$src/src/cli.c")
[ ${#table[@]} -gt 0 ] || { err "no commands found in src/cli.c's table"; exit 1; }

all_flags="help version"
cmds=""
for row in "${table[@]}"; do
  cmd=${row% *}
  fn=${row#* }
  cmds="$cmds $cmd"
  flags=$(src_flags "$fn")
  [ -n "$flags" ] || err "ebaysync $cmd: no option table found in the file defining $fn()"
  all_flags="$all_flags $flags"
  if ! grep -Eq "^\.SS \"?ebaysync $cmd\"?\$" "$page"; then
    err "docs/ebaysync.1 has no section '.SS \"ebaysync $cmd\"'"
  fi
  documented=$(man_flags "$cmd")
  for f in $(comm -23 <(printf '%s\n' $flags) <(printf '%s\n' $documented)); do
    err "ebaysync $cmd --$f is not in docs/ebaysync.1 (a .TP item under .SS \"ebaysync $cmd\")"
  done
  for f in $(comm -13 <(printf '%s\n' $flags) <(printf '%s\n' $documented)); do
    err "docs/ebaysync.1 documents --$f under ebaysync $cmd, which does not accept it"
  done
  if ! "$bin" "$cmd" --help >"$tmp/help" 2>&1; then
    err "ebaysync $cmd --help does not exit 0"
  fi
  for f in $flags; do
    grep -Eq -- "--$f([^a-z0-9-]|\$)" "$tmp/help" ||
      err "ebaysync $cmd --help does not mention --$f"
  done
done

# Sections for commands that do not exist.
for s in $(sed -n 's/^\.SS "\{0,1\}ebaysync \([a-z0-9-]*\)"\{0,1\}$/\1/p' "$page"); do
  case " $cmds " in
  *" $s "*) ;;
  *) err "docs/ebaysync.1 has a section for 'ebaysync $s', which is not a command" ;;
  esac
done

# Any flag anywhere in the page must be one some command accepts (or one of
# the simulator's, which the examples use).
sim_flags=$(sed -n 's/^[[:space:]]*{"\([a-z0-9-]*\)", OPT_.*/\1/p' "$src/src/sim/sim_config.c")
# shellcheck disable=SC2086
known=" $(echo $all_flags $sim_flags) "
for f in $(grep -v '^\.\\"' "$page" | grep -oE -- '(^|[^a-z0-9-])--[a-z0-9][a-z0-9-]*' |
  sed 's/^[^-]*--//' | sort -u); do
  case "$known" in
  *" $f "*) ;;
  *) err "docs/ebaysync.1 mentions --$f, which no command accepts" ;;
  esac
done

# Environment variables the product reads (the simulator's are its own).
vars=$(grep -ohE '(getenv|cli_env|cli_env_long|cli_env_double|env_value)\("[A-Z][A-Z0-9_]*"' \
  "$src"/src/*.c "$src"/src/store/*.c | sed 's/.*("\(.*\)"/\1/' | sort -u)
[ -n "$vars" ] || err "no environment variables found in src/"
for v in $vars; do
  grep -qw -- "$v" "$page" || err "docs/ebaysync.1 does not describe $v"
  grep -qw -- "$v" "$example" || err "dist/ebaysync.env.example does not describe $v"
done

if command -v groff >/dev/null; then
  warnings=$(groff -man -Tutf8 -ww -z "$man" 2>&1 || echo "groff failed")
  [ -z "$warnings" ] || err "docs/ebaysync.1 does not render cleanly: $warnings"
else
  echo "man_covers_flags: groff is not installed: the page's rendering was not checked"
fi

[ $fail -eq 0 ] && echo "man_covers_flags: ${#table[@]} commands, every flag and variable covered"
exit $fail
