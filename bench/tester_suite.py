"""A tester's suite, timed from outside as a tester sees it (issue 21): N register-and-sign-in
tests (tests/e2e/installed/tester_project: a relying party of its own, verified by py_webauthn)
run by pytest with vauth_page in Chromium, and the same tests on Playwright with Chromium's own
CDP virtual authenticator (one browser for the run, a fresh context and authenticator per
test), alternately in one run; then with vauth_page in Firefox, per test after the first.

    python bench/tester_suite.py [--tests 20] [--rounds 3] [--tree DIR]

Targets: vauth / CDP wall time <= 1.5; Firefox <= 2 s per test after the first. ``--tree DIR``
measures the vauth of another source tree (e.g. ``git archive`` of an earlier commit, with its
Firefox driver's ``npm ci`` done), put first on PYTHONPATH, beside this tree's, alternately.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1] / "tests" / "e2e" / "installed" / "tester_project"
SELECT = "test_register_and_sign_in"


def suite(project: Path, tests: int, mode: str, browser: str, tree: Path | None) -> list[float]:
    """One pytest run of the suite: its wall time, then each test's (setup, call, teardown)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env |= {"TESTER_MODE": mode, "TESTER_BROWSER": browser, "TESTER_TESTS": str(tests)}
    if tree is not None:
        env |= {"PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
    report = project / f"report-{mode}-{browser}.xml"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", SELECT]
    command += [f"--junitxml={report}", "-o", "junit_duration_report=total"]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0 or f"{tests} passed" not in done.stdout:
        sys.exit(f"the {mode} suite in {browser} failed:\n{done.stdout}\n{done.stderr}")
    cases = ElementTree.parse(report).getroot().iter("testcase")
    return [wall, *(float(case.get("time", "0")) for case in cases)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tests", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tree", type=Path, help="also measure this source tree's vauth")
    args = parser.parse_args()
    trees: dict[str, Path | None] = {"vauth_page": None}
    if args.tree is not None:
        trees = {f"vauth_page of {args.tree}": args.tree.resolve(), "vauth_page": None}
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        shutil.copytree(PROJECT, project)
        walls: dict[str, list[float]] = {"cdp": [], **{name: [] for name in trees}}
        for _ in range(args.rounds):
            walls["cdp"].append(suite(project, args.tests, "cdp", "chromium", None)[0])
            for name, tree in trees.items():
                walls[name].append(suite(project, args.tests, "vauth", "chromium", tree)[0])
        firefox = {
            name: suite(project, args.tests, "vauth", "firefox", tree)
            for name, tree in trees.items()
        }

    n = args.tests
    print(f"{n} register-and-sign-in tests, pytest wall time, {args.rounds} rounds alternately:")
    cdp = statistics.median(walls["cdp"])
    for name, times in walls.items():
        median = statistics.median(times)
        each = ", ".join(f"{t:.1f}" for t in times)
        ratio = "" if name == "cdp" else f"   {median / cdp:.2f}x CDP (target <= 1.5)"
        label = "Playwright + Chromium's CDP authenticator" if name == "cdp" else name
        print(f"  {label:48} median {median:6.1f} s ({each}){ratio}")
    # The first test starts the session (browser, driver, native host); the last one's
    # teardown ends it (pytest finishes session fixtures there): neither is "a test after the
    # first", so both are shown apart.
    print("Firefox (vauth_page), per test after the first (setup + call + teardown):")
    for name, (wall, first, *rest) in firefox.items():
        middle, last = rest[:-1], rest[-1]
        print(
            f"  {name:48} median {statistics.median(middle):.2f} s, "
            f"max {max(middle):.2f} s (target <= 2 s; first {first:.1f} s, last with the "
            f"session's end {last:.1f} s, suite {wall:.1f} s)"
        )


if __name__ == "__main__":
    main()
