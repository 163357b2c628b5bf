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
if [ -f tests/browser/package.json ]; then
  ES_BIN_DIR="$PWD/build-asan" node --test tests/browser/ || status=1
fi
exit $status
