#!/usr/bin/env bash
# The whole test suite, as README gives it: installs what is missing, builds
# with AddressSanitizer+UBSan, starts a throwaway PostgreSQL, and runs the
# unit, integration, fuzz-replay and browser tests. Exit code 0 only if all pass.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --browser
scripts/build.sh build-asan -DES_SANITIZE=ON

eval "$(scripts/pg-temp.sh start)"
export ES_TEST_PG_URL ES_TEST_PG_DIR ES_TEST_REQUIRE_PG=1
trap 'scripts/pg-temp.sh stop "$ES_TEST_PG_DIR"' EXIT

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
passed=0
failed=0
log=$(mktemp)
ctest --test-dir build-asan --output-on-failure -j2 2>&1 | tee "$log" || status=1
total=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\)/\1 \2/p' "$log" | tail -n 1)
if [ -n "$total" ]; then
  set -- $total
  failed=$((failed + $1)); passed=$((passed + $2 - $1))
else
  status=1
fi
# Node-driven suites (contract checks of the simulator, the page in Chromium).
for suite in tests/contract tests/browser; do
  if [ -f "$suite/package.json" ]; then
    [ -d "$suite/node_modules" ] || (cd "$suite" && npm install --no-audit --no-fund --silent)
    ES_BIN_DIR="$PWD/build-asan" node --test --test-concurrency=1 "$suite"/*.test.mjs 2>&1 |
      tee "$log" || status=1
    p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$log" | tail -n 1)
    f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$log" | tail -n 1)
    c=$(sed -n 's/^# cancelled \([0-9]*\)$/\1/p' "$log" | tail -n 1)
    [ -n "$p" ] && [ -n "$f" ] || { echo "$suite: no test counts (the runner did not finish)"; status=1; }
    passed=$((passed + ${p:-0}))
    # A test cancelled (its suite's before hook failed) did not pass.
    failed=$((failed + ${f:-0} + ${c:-0}))
  fi
done
rm -f "$log"
[ "$failed" -eq 0 ] || status=1
echo
echo "all suites: $passed passed, $failed failed"
exit $status
