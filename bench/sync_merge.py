"""Merging 10,000 entries from another device: time and peak memory (issue 13's targets: under
5 s and under 100 MiB on the 2-core machine); and merging with 5,000 junk entries in the folder
(issue 19: under 0.5 s per merge after the first).

Usage: python bench/sync_merge.py [--entries N] [--segments S] [--junk J]

Device A (a real SQLCipher vault) holds N synced passkeys, made in S batches, and publishes
them (at most vauth.sync.publisher.SEGMENT_ENTRIES per segment);
device B (another vault) has joined the group. The merge runs in a fresh process that opens B's
vault, so its peak resident memory (ru_maxrss) is the merge's own, interpreter included. Then J
junk entries (folders of devices nobody approved, each with a document and a segment, join
requests, key envelopes and stray files, as tests/sync/test_hostile_files.py makes them) are
put in the folder, and another fresh process times its first merge (which judges them all) and
the next three (which find each judged already).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vauth.ctap.credential import Credential
from vauth.sync import Sync
from vauth.vault import Vault
from vauth.vault.kdf import KdfParams

PASSPHRASE = "bench passphrase"
CHILD = """
import json, resource, sys, time
from vauth.sync import Sync
from vauth.vault import Vault
vault = Vault.open(sys.argv[1], sys.argv[2], create=False)
sync = Sync(vault)
start = time.perf_counter()
cpu0 = resource.getrusage(resource.RUSAGE_SELF)
report = sync.merge()
cpu1 = resource.getrusage(resource.RUSAGE_SELF)
elapsed = time.perf_counter() - start
rows = vault.with_database_sync(lambda db: db.query("SELECT count(*) FROM live_credentials"))
vault.close()
cpu = cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": elapsed, "cpu": cpu, "applied": report.applied,
                  "refused": len(report.refused), "credentials": rows[0][0],
                  "peak_rss_mib": peak}))
"""


JUNK_CHILD = """
import json, resource, sys, time
from vauth.sync import Sync
from vauth.vault import Vault
vault = Vault.open(sys.argv[1], sys.argv[2], create=False)
sync = Sync(vault)
times = []
for _ in range(4):
    start = time.perf_counter()
    report = sync.merge()
    sync.status()
    times.append(time.perf_counter() - start)
status = sync.status()
vault.close()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"times": times, "refused": status.refused_total, "kept": len(status.refused),
                  "peak_rss_mib": peak}))
"""


def in_a_fresh_process(script: str, vault: Path) -> dict[str, Any]:
    """What ``script`` prints (JSON), run on ``vault`` in a process of its own."""
    result = subprocess.run(
        [sys.executable, "-c", script, str(vault), PASSPHRASE],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def open_vault(path: Path) -> Vault:
    kdf = KdfParams(os.urandom(16), opslimit=1, memlimit=8 << 20)  # the KDF is not measured
    return Vault.open(path, PASSPHRASE, kdf=kdf)


def passkey(number: int) -> Credential:
    der = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    rp_id = f"site{number % 500}.example"
    credential = Credential(
        credential_id=os.urandom(32),
        rp_id=rp_id,
        rp_id_hash=hashlib.sha256(rp_id.encode()).digest(),
        user_handle=os.urandom(16),
        private_key=der,
        algorithm=-8,
        user_name=f"user{number}@example.com",
        user_display_name=f"User {number}",
        created=int(time.time() * 1000),
        cred_random_with_uv=os.urandom(32),
        cred_random_without_uv=os.urandom(32),
    )
    credential.make_synced(2)
    return credential


def one_passkey(root: Path) -> tuple[float, float]:
    """Median publish time on A and merge time on B for one new passkey, on a fresh pair."""
    import statistics

    folder = root / "Sync2"
    folder.mkdir()
    (root / "c").mkdir()
    (root / "d").mkdir()
    a, b = open_vault(root / "c" / "vault.db"), open_vault(root / "d" / "vault.db")
    try:
        sync_a, sync_b = Sync(a), Sync(b)
        sync_a.init(folder, "A")
        request = sync_b.request_join(folder, "B")
        sync_a.approve(request.device_id, request.fingerprint)
        sync_b.merge()
        publish, merge = [], []
        for number in range(20):
            asyncio.run(a.store.put(passkey(number)))
            start = time.perf_counter()
            sync_a.publish()
            publish.append(time.perf_counter() - start)
            start = time.perf_counter()
            assert sync_b.merge().applied == 1
            merge.append(time.perf_counter() - start)
        return statistics.median(publish), statistics.median(merge)
    finally:
        a.close()
        b.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--segments", type=int, default=1)
    parser.add_argument("--junk", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as base:
        root = Path(base)
        folder = root / "Sync"
        folder.mkdir()
        (root / "a").mkdir()
        (root / "b").mkdir()
        a, b = open_vault(root / "a" / "vault.db"), open_vault(root / "b" / "vault.db")
        sync_a, sync_b = Sync(a), Sync(b)
        sync_a.init(folder, "A")
        request = sync_b.request_join(folder, "B")
        sync_a.approve(request.device_id, request.fingerprint)
        sync_b.merge()
        b.close()
        per_segment = -(-args.entries // args.segments)
        start = time.perf_counter()
        for first in range(0, args.entries, per_segment):
            batch = [passkey(n) for n in range(first, min(first + per_segment, args.entries))]
            asyncio.run(a.store.put_many(batch))
            sync_a.publish()
        published = time.perf_counter() - start
        size = sum(p.stat().st_size for p in folder.rglob("*.vseg"))
        a.close()
        figures = in_a_fresh_process(CHILD, root / "b" / "vault.db")
        latency = one_passkey(root)
        count = len(list(folder.rglob("*.vseg")))
        print(f"entries: {args.entries} in {count} segments, {size / 2**20:.1f} MiB")
        print(f"create + publish on A: {published:.2f} s")
        print(
            f"merge on B: {figures['seconds']:.2f} s wall, {figures['cpu']:.2f} s CPU "
            f"(target < 5 s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores), "
            f"peak RSS {figures['peak_rss_mib']:.0f} MiB (target < 100 MiB), "
            f"applied {figures['applied']}, refused {figures['refused']}, "
            f"credentials on B {figures['credentials']}"
        )
        print(
            "one new passkey, vauth's part of create-on-A to usable-on-B (the carrier's scan "
            f"and transfer excluded): publish {latency[0] * 1000:.1f} ms + merge "
            f"{latency[1] * 1000:.1f} ms (median of 20)"
        )
        if args.junk:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
            from tests.sync.test_hostile_files import junk

            junk(folder, args.junk)
            junked = in_a_fresh_process(JUNK_CHILD, root / "b" / "vault.db")
            first, *later = junked["times"]
            print(
                f"with {args.junk} junk entries in the folder: first merge (and status) "
                f"{first:.2f} s, then {', '.join(f'{t:.3f}' for t in later)} s (target < 0.5 s); "
                f"{junked['refused']} refused, {junked['kept']} kept for status; peak RSS "
                f"{junked['peak_rss_mib']:.0f} MiB"
            )


if __name__ == "__main__":
    main()
