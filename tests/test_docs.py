"""The documents name tests as their proof (THREAT_MODEL.md's promises, the README's parity table
with Chromium's virtual authenticator): each named test must exist, or the promise has no proof."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# A test file path, then any number of ::name parts; or a bare ::name continuing the last file.
REFERENCE = re.compile(r"(tests/[\w/]+\.py)?((?:::\w+)+)")


def _functions(path: Path) -> set[str]:
    """Every function and class name defined in the file (tests, classes of tests, fixtures)."""
    tree = ast.parse(path.read_text())
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }


def references(text: str) -> list[tuple[str, str]]:
    """(file, name) for each test named in ``text``; a bare ``::name`` belongs to the file
    named last on the same line (the way the documents abbreviate)."""
    found: list[tuple[str, str]] = []
    for line in text.splitlines():
        current: str | None = None
        for match in REFERENCE.finditer(line):
            if match.group(1):
                current = match.group(1)
            if current is None:
                continue
            name = match.group(2).split("::")[1]
            found.append((current, name))
    return found


@pytest.mark.parametrize("document", ["THREAT_MODEL.md", "README.md"])
def test_every_test_a_document_names_exists(document: str) -> None:
    missing = []
    refs = references((ROOT / document).read_text())
    assert refs, f"{document} names no test"
    for file, name in refs:
        path = ROOT / file
        if not path.is_file():
            missing.append(f"{file} (no such file)")
        elif name not in _functions(path):
            missing.append(f"{file}::{name}")
    assert not missing, f"{document} names tests that do not exist: {sorted(set(missing))}"


def test_each_parity_row_names_a_test() -> None:
    """Issues 15 and 21: the README's parity tables (what vauth offers as Chromium does, and
    every remaining difference with its reason) name a test in each row."""
    text = (ROOT / "README.md").read_text()
    section = text.split("### Parity with Chromium's virtual authenticator", 1)[1]
    section = section.split("\n## ", 1)[0]
    tables: list[list[str]] = [[]]
    for line in section.splitlines():
        if line.startswith("|"):
            tables[-1].append(line)
        elif tables[-1]:
            tables.append([])
    tables = [table for table in tables if table]
    assert len(tables) == 2, "the parity table and the table of differences"
    for table in tables:
        rows = table[2:]  # past the header and its rule
        assert len(rows) >= 8
        for row in rows:
            assert references(row.split("|")[-2]), f"a parity row names no test: {row[:60]}"


def test_the_reference_reader_follows_abbreviations() -> None:
    line = "| x | y | `tests/a/b.py::test_one`, `::test_two` and tests/c.py::K::test_three |"
    assert references(line) == [
        ("tests/a/b.py", "test_one"),
        ("tests/a/b.py", "test_two"),
        ("tests/c.py", "K"),
    ]
