#!/usr/bin/env python3
"""Mutation runner: do the tests notice when a promise is broken?

tests/mutation/breaks.txt lists deliberate breaks: each replaces one piece of text in one file
(a line of C or SQL, say) and names the tests that must fail because of it. This script copies
the working tree (tracked and untracked files, not ignored ones) to a scratch directory, builds
it once, and then for each break: applies it, rebuilds incrementally, starts a fresh PostgreSQL
and Redis of its own (deploy/local/lib.sh), runs only the named tests, puts the file back and
reports whether the break was caught (at least one named test failed) or survived. Before the
breaks it runs every named test on the unbroken copy, which must pass, or a "caught" would mean
nothing.

    tests/mutation/run.py                 every break (a few minutes; on demand, not in CI)
    tests/mutation/run.py --only NAME     one break (repeatable)
    tests/mutation/run.py --check         only check the list: well formed, every old text found
                                          exactly once in its file, every named test present
    tests/mutation/run.py --list          print the breaks' names and promises

Ports: --pg-port / --redis-port, or BRO_MUTATION_PG_PORT / BRO_MUTATION_REDIS_PORT (defaults
54349 and 63819). --keep leaves the scratch directory (printed) for a look afterwards.

Exit status: 0 when every break was caught; 1 when a break survived or did not build; 2 when
the list is malformed or the unbroken copy fails its tests. Runs as root (like the test command)
because PostgreSQL is started as the postgres user."""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "../.."))
LIST = os.path.join(HERE, "breaks.txt")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
TEST_TIMEOUT_S = 900  # per break; a hang counts as caught, and is reported as a timeout
KEYS = {"promise", "file", "old", "new", "test"}


class ListError(Exception):
    pass


# ---- the list ----------------------------------------------------------------------------------


def parse(path):
    """Reads the list: blocks that start with [name], then `key = value` lines. old and new may
    repeat (the lines are joined with newlines), test repeats. Returns a list of dicts."""
    breaks, cur = [], None
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            m = re.fullmatch(r"\[([a-z0-9][a-z0-9-]*)\]", line)
            if m:
                cur = {"name": m.group(1), "line": n, "old": [], "new": [], "test": []}
                breaks.append(cur)
                continue
            m = re.fullmatch(r"([a-z]+) =(?: (.*))?", line)
            if not m or cur is None or m.group(1) not in KEYS:
                raise ListError(f"{path}:{n}: expected [name] or one of {sorted(KEYS)} = value")
            key, value = m.group(1), m.group(2) or ""
            if key in ("old", "new", "test"):
                cur[key].append(value)
            elif key in cur:
                raise ListError(f"{path}:{n}: {key} given twice in [{cur['name']}]")
            else:
                cur[key] = value
    for b in breaks:
        b["old"], b["new"] = "\n".join(b["old"]), "\n".join(b["new"])
    return breaks


def unit_tests(root):
    """The ctest names CMakeLists.txt makes of tests/unit/**/test_*.c."""
    names = set()
    base = os.path.join(root, "tests/unit")
    for d, _, files in os.walk(base):
        for f in files:
            if f.startswith("test_") and f.endswith(".c"):
                rel = os.path.relpath(os.path.join(d, f), base)[:-2]
                names.add("unit_" + rel.replace("/", "_"))
    return names


def test_exists(root, test, units):
    if test.startswith("unit_"):
        return test in units
    path, _, rest = test.partition("::")
    func = rest.split("[")[0]
    full = os.path.join(root, path)
    if not (path.startswith("tests/") and path.endswith(".py") and os.path.isfile(full) and func):
        return False
    with open(full, encoding="utf-8") as f:
        return re.search(rf"^def {re.escape(func)}\(", f.read(), re.M) is not None


def check(root, breaks):
    """Every problem with the list, as messages (empty when it is sound)."""
    problems, seen, units = [], set(), unit_tests(root)
    for b in breaks:
        where = f"[{b['name']}] (line {b['line']})"
        if b["name"] in seen:
            problems.append(f"{where}: the name is used twice")
        seen.add(b["name"])
        missing = [k for k in ("promise", "file") if not b.get(k)]
        missing += [k for k in ("old", "test") if not b[k]]
        if missing:
            problems.append(f"{where}: missing {', '.join(missing)}")
            continue
        if b["old"] == b["new"]:
            problems.append(f"{where}: new is the same as old")
        path = os.path.join(root, b["file"])
        if not os.path.isfile(path):
            problems.append(f"{where}: no file {b['file']}")
            continue
        with open(path, encoding="utf-8") as f:
            found = f.read().count(b["old"])
        if found != 1:
            problems.append(f"{where}: old text found {found} times in {b['file']}, must be 1"
                            " (did the code move? update the break)")
        for t in b["test"]:
            if not test_exists(root, t, units):
                problems.append(f"{where}: no test {t}")
    return problems


# ---- the scratch copy --------------------------------------------------------------------------


def copy_tree(dst):
    """Copies tracked and untracked-but-not-ignored files: what the next commit would hold."""
    try:
        out = subprocess.run(["git", "-C", ROOT, "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], check=True, capture_output=True).stdout
        files = [f for f in out.decode().split("\0") if f]
    except (OSError, subprocess.CalledProcessError):
        files = None
    if files is None:
        shutil.copytree(ROOT, dst, ignore=shutil.ignore_patterns("build*", ".local", ".git"))
        return
    for rel in files:
        src = os.path.join(ROOT, rel)
        if not os.path.isfile(src):  # deleted in the working tree
            continue
        os.makedirs(os.path.dirname(os.path.join(dst, rel)), exist_ok=True)
        shutil.copy2(src, os.path.join(dst, rel))
    # The build runs the web page's build, whose npm packages are ignored files (npm ci puts
    # them there): the copy borrows the working tree's, unchanged by any break.
    modules = os.path.join(ROOT, "web", "node_modules")
    if os.path.isdir(modules) and not os.path.exists(os.path.join(dst, "web", "node_modules")):
        os.symlink(modules, os.path.join(dst, "web", "node_modules"))


def build(scratch, log):
    """Configures once, then builds incrementally; returns True when the build succeeded."""
    bdir = os.path.join(scratch, "build")
    steps = [["cmake", "-S", scratch, "-B", bdir, "-DCMAKE_BUILD_TYPE=RelWithDebInfo"]]
    if os.path.exists(os.path.join(bdir, "CMakeCache.txt")):
        steps = []
    steps.append(["cmake", "--build", bdir, "-j", str(os.cpu_count() or 2)])
    with open(log, "a") as out:
        for step in steps:
            if subprocess.run(step, stdout=out, stderr=subprocess.STDOUT).returncode != 0:
                return False
    return True


def servers(scratch, action, pg_port, redis_port):
    """Starts fresh (or stops) the scratch copy's own PostgreSQL and Redis, with lib.sh."""
    script = (f'. "{scratch}/deploy/local/lib.sh"; bro_profile mutation {pg_port} {redis_port};'
              " bro_redis_stop; bro_pg_stop;")
    if action == "start":
        script += ' rm -rf "$BRO_DATA"; bro_pg_start fast && bro_redis_start everysec'
    p = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"servers {action} failed:\n{p.stderr[-2000:]}")


def test_env(scratch, pg_port, redis_port):
    env = dict(os.environ)
    env.update({
        "BROBYGGER_PG": f"postgresql://brobygger_worker@127.0.0.1:{pg_port}/brobygger",
        "BROBYGGER_PG_ADMIN": f"postgresql://postgres@127.0.0.1:{pg_port}/brobygger",
        "BROBYGGER_REDIS": f"redis://127.0.0.1:{redis_port}/0",
        "BRO_BUILD_DIR": os.path.join(scratch, "build"),
        "BRO_PROJECT_DIR": scratch,
    })
    return env


def failed_cases(junit):
    """Names of the failed or erroring test cases in a JUnit XML file."""
    if not os.path.exists(junit):
        return set()
    root = ET.parse(junit).getroot()
    out = set()
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            module = case.get("classname", "").rsplit(".", 1)[-1]
            out.add(f"{module}::{case.get('name', '')}" if module else case.get("name", ""))
    return out


def run_tests(scratch, tests, args, tag):
    """Runs the named tests in the scratch copy. Returns (outcome, failed names) where outcome
    is "pass", "fail", "timeout" or "error" (the run itself broke: bad ids, no servers)."""
    env = test_env(scratch, args.pg_port, args.redis_port)
    log = os.path.join(scratch, f"{tag}.log")
    pytests = [t for t in tests if not t.startswith("unit_")]
    units = [t for t in tests if t.startswith("unit_")]
    outcome, failed = "pass", set()
    deadline = time.monotonic() + TEST_TIMEOUT_S
    with open(log, "w") as out:
        runs = []
        if units:
            junit = os.path.join(scratch, f"{tag}-unit.xml")
            pattern = "^(" + "|".join(re.escape(u) for u in units) + ")$"
            runs.append((["ctest", "-R", pattern, "--output-on-failure", "--output-junit",
                          junit], os.path.join(scratch, "build"), junit, {0: "pass", 8: "fail"}))
        if pytests:
            junit = os.path.join(scratch, f"{tag}-integration.xml")
            runs.append(([PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          f"--junitxml={junit}", *pytests], scratch, junit,
                         {0: "pass", 1: "fail"}))
        for cmd, cwd, junit, codes in runs:
            try:
                p = subprocess.run(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   timeout=max(1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                return "timeout", failed
            got = codes.get(p.returncode, "error")
            if got == "fail" and cmd[0] == "ctest" and not failed_cases(junit):
                got = "error"  # ctest says 8 also when no test matched
            failed |= failed_cases(junit)
            if got == "error":
                return "error", failed
            if got == "fail":
                outcome = "fail"
    return outcome, failed


# ---- one break ---------------------------------------------------------------------------------


def apply_break(scratch, b):
    """Replaces the old text in the scratch copy; returns the original contents."""
    path = os.path.join(scratch, b["file"])
    with open(path, encoding="utf-8") as f:
        original = f.read()
    if original.count(b["old"]) != 1:
        raise ListError(f"[{b['name']}]: old text not found exactly once in {b['file']}")
    with open(path, "w", encoding="utf-8") as f:
        f.write(original.replace(b["old"], b["new"]))
    return original


def restore(scratch, b, original):
    with open(os.path.join(scratch, b["file"]), "w", encoding="utf-8") as f:
        f.write(original)


def run_break(scratch, b, args):
    """Returns (result, detail): result is caught, survived, timeout or not-built."""
    original = apply_break(scratch, b)
    try:
        if not build(scratch, os.path.join(scratch, f"build-{b['name']}.log")):
            return "not-built", f"see build-{b['name']}.log in the scratch directory"
        servers(scratch, "start", args.pg_port, args.redis_port)
        outcome, failed = run_tests(scratch, b["test"], args, b["name"])
    finally:
        servers(scratch, "stop", args.pg_port, args.redis_port)
        restore(scratch, b, original)
    if outcome == "timeout":
        return "caught", "the named tests hung until the time limit"
    if outcome == "error":
        return "caught", f"the test run broke (see {b['name']}.log in the scratch directory)"
    if outcome == "fail":
        first = sorted(failed)[0] if failed else "see the log"
        more = f" and {len(failed) - 1} more" if len(failed) > 1 else ""
        return "caught", f"failed: {first}{more}"
    return "survived", "every named test passed"


# ---- main --------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="only check the list")
    ap.add_argument("--list", action="store_true", help="print the breaks")
    ap.add_argument("--only", action="append", metavar="NAME", help="run this break (repeat)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    ap.add_argument("--no-baseline", action="store_true",
                    help="skip running the named tests on the unbroken copy first")
    ap.add_argument("--pg-port", type=int,
                    default=int(os.environ.get("BRO_MUTATION_PG_PORT", "54349")))
    ap.add_argument("--redis-port", type=int,
                    default=int(os.environ.get("BRO_MUTATION_REDIS_PORT", "63819")))
    args = ap.parse_args()
    try:
        breaks = parse(LIST)
    except ListError as e:
        print(e, file=sys.stderr)
        return 2
    problems = check(ROOT, breaks)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 2
    if args.check:
        print(f"mutation list: {len(breaks)} breaks, well formed, every old text found once")
        return 0
    if args.list:
        for b in breaks:
            print(f"{b['name']:32} {b['promise']}")
        return 0
    if args.only:
        unknown = set(args.only) - {b["name"] for b in breaks}
        if unknown:
            print(f"no such break: {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        breaks = [b for b in breaks if b["name"] in args.only]
    scratch = tempfile.mkdtemp(prefix="brobygger-mutation-")
    print(f"scratch copy: {scratch}", flush=True)
    results = []
    try:
        copy_tree(scratch)
        if not build(scratch, os.path.join(scratch, "build.log")):
            print(f"the unbroken copy does not build (see {scratch}/build.log)", file=sys.stderr)
            return 2
        if not args.no_baseline:
            tests = sorted({t for b in breaks for t in b["test"]})
            servers(scratch, "start", args.pg_port, args.redis_port)
            try:
                outcome, failed = run_tests(scratch, tests, args, "baseline")
            finally:
                servers(scratch, "stop", args.pg_port, args.redis_port)
            if outcome != "pass":
                print(f"the unbroken copy fails its named tests ({outcome}): "
                      f"{', '.join(sorted(failed)) or 'see baseline.log'}", file=sys.stderr)
                args.keep = True
                return 2
            print(f"baseline: {len(tests)} named tests pass on the unbroken copy", flush=True)
        for b in breaks:
            t0 = time.monotonic()
            result, detail = run_break(scratch, b, args)
            results.append((b, result))
            print(f"{result:9} {b['name']:32} {time.monotonic() - t0:5.0f}s  {detail}",
                  flush=True)
    finally:
        if args.keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    caught = sum(1 for _, r in results if r == "caught")
    print(f"mutation score: {caught} of {len(results)} breaks caught")
    for b, r in results:
        if r != "caught":
            print(f"  {r}: [{b['name']}] {b['promise']}")
    return 0 if caught == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
