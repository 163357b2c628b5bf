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
ctest --test-dir build-asan --output-on-failure -j2 || status=1
# Node-driven suites (contract checks of the simulator, the page in Chromium).
for suite in tests/contract tests/browser; do
  if [ -f "$suite/package.json" ]; then
    [ -d "$suite/node_modules" ] || (cd "$suite" && npm install --no-audit --no-fund --silent)
    ES_BIN_DIR="$PWD/build-asan" node --test --test-concurrency=1 "$suite"/*.test.mjs || status=1
  fi
done
exit $status
