#!/usr/bin/env bash
# The test command: installs what is missing, checks formatting and the mutation list, builds a
# normal and an ASan+UBSan build (plus Debug and Release with gcc and a clang build, to compile
# only), starts a fresh private PostgreSQL and Redis, runs the unit tests (ctest) and the
# integration tests (pytest, driving the real binaries) against the first two, and each fuzz
# target of the clang build for a few seconds over its corpus.
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

# Cheap, and it keeps tests/mutation/breaks.txt honest as code moves: every break's old text
# must still be found exactly once, every test it names must exist. The breaks themselves run
# on demand (tests/mutation/run.py), not here.
bro_say "checking the mutation list"
/usr/bin/python3 tests/mutation/run.py --check || bro_die "fix tests/mutation/breaks.txt"

# BRO_BUILDS narrows a development run (e.g. BRO_BUILDS=build); arguments go to pytest (e.g.
# -k name). build and build-asan are tested; build-debug and build-release only compile (each
# build type must pass -Werror); build-fuzz is clang with libFuzzer, whose targets run below.
builds=${BRO_BUILDS:-build build-asan build-debug build-release build-fuzz}
tested=()
for build in $builds; do
  case $build in
    build) bro_build "$BRO_ROOT/build"; tested+=(build) ;;
    build-asan) bro_build "$BRO_ROOT/build-asan" -DBRO_SANITIZE=ON; tested+=(build-asan) ;;
    build-debug) bro_build "$BRO_ROOT/build-debug" -DCMAKE_BUILD_TYPE=Debug ;;
    build-release) bro_build "$BRO_ROOT/build-release" -DCMAKE_BUILD_TYPE=Release ;;
    build-fuzz) bro_build "$BRO_ROOT/build-fuzz" -DCMAKE_C_COMPILER=clang -DBRO_FUZZ=ON ;;
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
bro_say "generator tests"
/usr/bin/python3 -m pytest -q -p no:cacheprovider --junitxml="$results/unit-generator.xml" \
  tests/unit/schemas || status=1
for build in "${tested[@]}"; do
  bro_say "unit tests ($build)"
  (cd "$build" && ctest --output-on-failure --output-junit "$results/unit-$build.xml") || status=1
  bro_say "integration tests ($build)"
  BRO_BUILD_DIR=$BRO_ROOT/$build /usr/bin/python3 -m pytest -q -p no:cacheprovider \
    --junitxml="$results/integration-$build.xml" tests/integration "$@" || status=1
done

# Each fuzz target briefly over its seed corpus (BRO_FUZZ_SECONDS each, default 5; README says
# how to fuzz for longer). New inputs go to a scratch corpus listed first, so the repository's
# corpus is only read; a crash leaves its input in the scratch directory and fails the run.
if [[ " $builds " == *" build-fuzz "* ]] && [ "${BRO_FUZZ_SECONDS:-5}" -gt 0 ]; then
  fuzz_xml=$results/fuzz.xml
  cases=""
  nfuzz=0
  nfailed=0
  for src in tests/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c)
    what=${name#fuzz_}
    work=$BRO_DATA/fuzz/$what
    mkdir -p "$work/new"
    dict=()
    [ -f "tests/fuzz/$what.dict" ] && dict=(-dict="tests/fuzz/$what.dict")
    bro_say "fuzzing $what for ${BRO_FUZZ_SECONDS:-5} s"
    nfuzz=$((nfuzz + 1))
    if "$BRO_ROOT/build-fuzz/$name" -max_total_time="${BRO_FUZZ_SECONDS:-5}" "${dict[@]}" \
      -print_final_stats=1 -artifact_prefix="$work/" "$work/new" "tests/fuzz/corpus/$what" \
      >"$work/log" 2>&1; then
      grep -o 'stat::number_of_executed_units: [0-9]*' "$work/log" | sed "s/^stat::/$name: /" >&2 ||
        true
      cases+="<testcase classname=\"fuzz\" name=\"$name\"/>"
    else
      tail -40 "$work/log"
      echo "$name failed; its input is in ${work#"$BRO_ROOT"/}/ (see README, Fuzzing)"
      cases+="<testcase classname=\"fuzz\" name=\"$name\"><failure/></testcase>"
      nfailed=$((nfailed + 1))
      status=1
    fi
  done
  printf '<testsuite name="fuzz" tests="%d" failures="%d">%s</testsuite>\n' \
    "$nfuzz" "$nfailed" "$cases" >"$fuzz_xml"
fi

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
