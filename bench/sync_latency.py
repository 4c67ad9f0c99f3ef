"""Create on A to usable on B, through two real Syncthing instances on loopback (issue 13), and
how much of that is vauth's.

    python bench/sync_latency.py [--runs 10]

Two `vauth serve` daemons with their own vaults (presence auto), each paired with a Syncthing
instance whose folder is its sync folder (tests/sync/syncthing.py: loopback only, file watcher
on with a 1 s delay, as Syncthing ships it is 10 s). Each run registers a passkey on A and times:

  publish   create answered on A  -> A's new segment in A's folder   (vauth: debounce + write)
  carry     segment in A's folder -> the same file in B's folder     (Syncthing: watch, scan, send)
  merge     segment in B's folder -> the passkey listed by B's daemon (vauth: watch + merge)
  total     create answered on A  -> the passkey listed by B's daemon

Times are observed by polling every 5 ms, so each is up to ~5 ms late. Needs `syncthing` on PATH.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.sync.computers import Computer, eventually, passkey, register  # noqa: E402
from tests.sync.syncthing import SYNCTHING, Cluster  # noqa: E402

POLL_S = 0.005


def until(condition: object, timeout: float = 60.0) -> float:
    start = time.monotonic()
    while not condition():  # type: ignore[operator]
        if time.monotonic() - start > timeout:
            raise TimeoutError
        time.sleep(POLL_S)
    return time.monotonic()


def segments(folder: Path, device_id: str) -> set[str]:
    directory = folder / "vauth" / "devices" / device_id
    return {p.name for p in directory.glob("seg-*.vseg")} if directory.is_dir() else set()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    if SYNCTHING is None:
        print("unavailable: syncthing is not installed (apt install syncthing)")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cluster = Cluster(root, ["a", "b"])
        cluster.start()
        a = Computer(root, "pc-a").start()
        b = Computer(root, "pc-b").start()
        try:
            folder_a, folder_b = cluster[0].folder, cluster[1].folder
            a.call("sync.init", folder=str(folder_a), deviceName="a")
            eventually(lambda: (folder_b / "vauth" / "group.json").exists(), 60, "the group")
            request = b.call("sync.join", folder=str(folder_b), deviceName="b")
            eventually(lambda: a.call("sync.pending"), 60, "the join request")
            a.call("sync.approve", deviceId=request["deviceId"], fingerprint=request["fingerprint"])
            eventually(lambda: b.call("sync.status")["joined"], 60, "the join")
            a_id = a.call("sync.status")["deviceId"]
            figures: dict[str, list[float]] = {"publish": [], "carry": [], "merge": [], "total": []}
            for run in range(args.runs):
                before = segments(folder_a, a_id)
                registered = register(a, f"user{run}")
                created = time.monotonic()
                published = until(lambda b=before: segments(folder_a, a_id) - b)
                (new,) = sorted(segments(folder_a, a_id) - before)[:1]
                carried = until(lambda n=new: n in segments(folder_b, a_id))
                usable = until(lambda r=registered: passkey(b, r) is not None)
                figures["publish"].append(published - created)
                figures["carry"].append(carried - published)
                figures["merge"].append(usable - carried)
                figures["total"].append(usable - created)
                time.sleep(0.5)
        finally:
            a.stop()
            b.stop()
            cluster.stop()
    print(f"create on A -> usable on B through Syncthing on loopback, {args.runs} runs (s)")
    print(f"{'part':<10}{'median':>10}{'max':>10}")
    for name, values in figures.items():
        print(f"{name:<10}{statistics.median(values):>10.3f}{max(values):>10.3f}")
    vauth = statistics.median(figures["publish"]) + statistics.median(figures["merge"])
    print(f"vauth's part (publish + merge medians): {vauth:.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
