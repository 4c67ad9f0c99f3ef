"""The suite's markers mean what they say: every test that drives a real browser (all of
tests/e2e/) is marked e2e, so ``-m "not e2e"`` runs none of them, and no marker is declared that
no test uses."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def collect(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", *args, "tests/e2e"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_every_browser_test_is_marked_e2e() -> None:
    everything = collect()
    assert everything.returncode == 0, everything.stdout + everything.stderr
    total = len([line for line in everything.stdout.splitlines() if "::" in line])
    assert total > 0
    unmarked = collect("-m", "not e2e")
    assert [line for line in unmarked.stdout.splitlines() if "::" in line] == []
    assert f"{total} deselected" in unmarked.stdout


def test_every_declared_marker_is_used() -> None:
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    declared = [line.split(":")[0] for line in options["ini_options"]["markers"]]
    sources = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("*.py"))
    unused = [name for name in declared if not re.search(rf"\bmark\.{name}\b", sources)]
    assert not unused, f"markers declared but never used: {unused}"
