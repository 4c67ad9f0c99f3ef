"""Run every fuzz target of bench/fuzz/ for a total time, and summarise.

    python bench/fuzz.py --minutes 30                   # all targets, one after another
    python bench/fuzz.py --minutes 60 --jobs 2          # two at a time (60 fuzzing minutes)
    python bench/fuzz.py --minutes 5 --targets ctap,cxf

``--minutes`` is fuzzing time summed over targets, split by weight (the CTAP dispatcher gets
the most). Each target runs under ``nice`` (19 by default) with its corpus in
bench/fuzz/corpus/<target>/ (which keeps growing; only the ``seed-*`` files are committed) and
``VAUTH_FUZZ_KEEP_GOING=1``: each distinct failure is written once to
bench/fuzz/crashes/<target>/ (the input and a ``.txt`` with its traceback) and fuzzing goes on.
libFuzzer's own findings (timeouts, out-of-memory) land there too; the target is restarted for
the time left. Logs go to bench/fuzz/logs/<target>.log. Exit status 1 if anything was found.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent / "fuzz"
# target -> share of the time
WEIGHTS = {"ctap": 3, "ctaphid": 2, "api": 2, "cxf": 2, "framing": 1}
PROGRESS = re.compile(r"^#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)/\S+.*?exec/s: (\d+)")
EXECUTED = re.compile(r"^stat::number_of_executed_units: (\d+)")
MIN_RESTART_S = 5


@dataclass
class Result:
    target: str
    seconds: float = 0.0
    executions: int = 0
    cov: int = 0
    ft: int = 0
    corpus: int = 0
    runs: int = 0
    failures: list[str] = field(default_factory=list)


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="total fuzzing time")
    parser.add_argument("--targets", default=",".join(WEIGHTS), help="comma-separated")
    parser.add_argument("--jobs", type=int, default=1, help="targets run at once")
    parser.add_argument("--nice", type=int, default=19, help="niceness of the fuzzers")
    parser.add_argument("--timeout", type=int, default=30, help="libFuzzer -timeout per input")
    parser.add_argument("--rss-limit-mb", type=int, default=2048)
    return parser.parse_args(argv)


def budget(targets: list[str], minutes: float) -> dict[str, float]:
    total = sum(WEIGHTS[t] for t in targets)
    return {t: minutes * 60 * WEIGHTS[t] / total for t in targets}


def run_target(target: str, seconds: float, options: argparse.Namespace) -> Result:
    result = Result(target)
    corpus = HERE / "corpus" / target
    crashes = HERE / "crashes" / target
    logs = HERE / "logs"
    for folder in (corpus, crashes, logs):
        folder.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, VAUTH_FUZZ_KEEP_GOING="1", PYTHONUNBUFFERED="1")
    deadline = time.monotonic() + seconds
    with (logs / f"{target}.log").open("w") as log:
        while (left := deadline - time.monotonic()) > MIN_RESTART_S:
            command = [
                "nice",  # not preexec_fn, which is unsafe in threads (this runs in a pool)
                "-n",
                str(options.nice),
                sys.executable,
                str(HERE / f"{target}.py"),
                str(corpus),
                f"-max_total_time={int(left)}",
                f"-timeout={options.timeout}",
                f"-rss_limit_mb={options.rss_limit_mb}",
                f"-artifact_prefix={crashes}/",
                "-print_final_stats=1",
            ]
            log.write(f"$ {' '.join(command)}\n")
            log.flush()
            started = time.monotonic()
            process = subprocess.run(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=HERE.parent.parent,
                check=False,
            )
            result.seconds += time.monotonic() - started
            result.runs += 1
            if process.returncode != 0:
                log.write(f"# exited with {process.returncode}; restarting for the time left\n")
    _read_log(logs / f"{target}.log", result)
    result.failures = sorted(p.name for p in crashes.iterdir() if not p.name.endswith(".txt"))
    return result


def _read_log(path: Path, result: Result) -> None:
    """Executions summed over the target's runs; coverage as of its last report."""
    executions_in_run = 0
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("$ "):
            result.executions += executions_in_run
            executions_in_run = 0
        elif match := PROGRESS.match(line):
            executions_in_run = int(match[1])
            result.cov, result.ft, result.corpus = int(match[2]), int(match[3]), int(match[4])
        elif match := EXECUTED.match(line):
            executions_in_run = int(match[1])
    result.executions += executions_in_run


def report(results: list[Result], wall: float) -> str:
    lines = [
        f"{'target':<10} {'minutes':>8} {'execs':>10} {'exec/s':>7} {'cov':>6} {'ft':>6} "
        f"{'corpus':>7} {'runs':>4}  findings",
    ]
    for r in results:
        rate = r.executions / r.seconds if r.seconds else 0.0
        found = ", ".join(r.failures) or "-"
        lines.append(
            f"{r.target:<10} {r.seconds / 60:>8.1f} {r.executions:>10} {rate:>7.0f} {r.cov:>6} "
            f"{r.ft:>6} {r.corpus:>7} {r.runs:>4}  {found}"
        )
    fuzzing = sum(r.seconds for r in results) / 60
    lines.append(f"fuzzing time {fuzzing:.1f} min over {wall / 60:.1f} min of wall-clock time")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    options = arguments(argv)
    targets = [t.strip() for t in options.targets.split(",") if t.strip()]
    unknown = set(targets) - set(WEIGHTS)
    if unknown:
        raise SystemExit(f"unknown targets: {', '.join(sorted(unknown))}")
    shares = budget(targets, options.minutes)
    started = time.monotonic()
    with ThreadPoolExecutor(max(1, options.jobs)) as pool:
        futures = [pool.submit(run_target, t, shares[t], options) for t in targets]
        results = [f.result() for f in futures]
    print(report(results, time.monotonic() - started))
    return 1 if any(r.failures for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
