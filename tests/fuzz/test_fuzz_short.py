"""The fuzz harnesses of bench/fuzz/ in the test suite: each target fuzzed briefly by atheris (in a
subprocess: libFuzzer owns its process), and every seed input replayed as a plain test.

A campaign is ``python bench/fuzz.py --minutes 30``; what it finds becomes a case in
test_fuzz_regressions.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fuzz_support import FUZZ, harness

# target -> executions for the brief run (each about 2-4 s here, startup included)
RUNS = {"ctap": 500, "ctaphid": 500, "api": 500, "cxf": 3000, "framing": 3000}
MAX_SECONDS = 8  # a cap per target, should the machine be slow


def seed_inputs() -> list[tuple[str, Path]]:
    return [(t, p) for t in RUNS for p in sorted((FUZZ / "corpus" / t).glob("seed-*"))]


def test_every_target_has_seeds() -> None:
    assert {target for target, _ in seed_inputs()} == set(RUNS)


@pytest.mark.parametrize(
    ("target", "seed"), seed_inputs(), ids=[f"{t}/{p.name}" for t, p in seed_inputs()]
)
def test_seed_replays(target: str, seed: Path) -> None:
    harness(target).test_one_input(seed.read_bytes())


@pytest.mark.parametrize("target", sorted(RUNS))
def test_fuzz_briefly(target: str, tmp_path: Path) -> None:
    pytest.importorskip("atheris")
    corpus = tmp_path / "corpus"  # the seeds alone: not what campaigns grew (known bugs too)
    corpus.mkdir()
    for seed in (FUZZ / "corpus" / target).glob("seed-*"):
        shutil.copy(seed, corpus)
    command = [
        sys.executable,
        str(FUZZ / f"{target}.py"),
        str(corpus),
        f"-runs={RUNS[target]}",
        f"-max_total_time={MAX_SECONDS}",
        "-seed=1",
        f"-artifact_prefix={tmp_path}/",
    ]
    env = {k: v for k, v in os.environ.items() if k != "VAUTH_FUZZ_KEEP_GOING"}
    result = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=120, check=False
    )
    output = "\n".join(line for line in result.stderr.splitlines() if "Instrumenting" not in line)
    assert result.returncode == 0, output[-6000:]
    assert "Done" in output or "DONE" in output, output[-2000:]
