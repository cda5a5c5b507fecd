#!/usr/bin/env bash
# The test command: installs what is missing, checks formatting, builds a normal and an
# ASan+UBSan build, starts a fresh private PostgreSQL and Redis, and runs the unit tests (ctest)
# and the integration tests (pytest, driving the real binaries) against both builds.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bro_install
cd "$BRO_ROOT"

bro_say "checking formatting"
unformatted=0
while IFS= read -r f; do
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "not formatted: $f"
    clang-format "$f" | diff -u "$f" - | head -40 || true
    unformatted=1
  fi
done < <(git ls-files '*.c' '*.h' 2>/dev/null || find common services tests -name '*.[ch]')
[ "$unformatted" -eq 0 ] || bro_die "run clang-format -i on the files above"

# BRO_BUILDS narrows a development run to one build; arguments go to pytest (e.g. -k name).
builds=${BRO_BUILDS:-build build-asan}
for build in $builds; do
  case $build in
    build) bro_build "$BRO_ROOT/build" ;;
    build-asan) bro_build "$BRO_ROOT/build-asan" -DBRO_SANITIZE=ON ;;
    *) bro_die "unknown build $build" ;;
  esac
done

bro_profile test "${BRO_PG_PORT:-54339}" "${BRO_REDIS_PORT:-63809}"
bro_test_stop() {
  bro_redis_stop
  bro_pg_stop
}
trap bro_test_stop EXIT
bro_test_stop
rm -rf "$BRO_DATA"
bro_pg_start fast
bro_redis_start everysec
export BRO_PROJECT_DIR=$BRO_ROOT
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
results=$BRO_DATA/results
mkdir -p "$results"

status=0
for build in $builds; do
  bro_say "unit tests ($build)"
  (cd "$build" && ctest --output-on-failure --output-junit "$results/unit-$build.xml") || status=1
  bro_say "integration tests ($build)"
  BRO_BUILD_DIR=$BRO_ROOT/$build /usr/bin/python3 -m pytest -q -p no:cacheprovider \
    --junitxml="$results/integration-$build.xml" tests/integration "$@" || status=1
done

# One closing line over every suite.
/usr/bin/python3 - "$results" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
passed = failed = skipped = 0
for path in glob.glob(sys.argv[1] + "/*.xml"):
    root = ET.parse(path).getroot()
    for suite in ([root] if root.tag == "testsuite" else root.iter("testsuite")):
        t = int(suite.get("tests", 0))
        f = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        s = int(suite.get("skipped", 0) or suite.get("disabled", 0) or 0)
        passed += t - f - s; failed += f; skipped += s
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
PY
exit $status
