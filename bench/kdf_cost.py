"""What offline guessing of a vault passphrase costs: the Argon2id parameters a new vault gets,
and guesses per second on this machine (one core, and all of them)."""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vauth.vault.kdf import KdfParams


def guesses(count: int) -> float:
    params = KdfParams(os.urandom(16))
    start = time.perf_counter()
    for i in range(count):
        params.derive(f"guess {i}")
    return time.perf_counter() - start


def main() -> None:
    params = KdfParams(os.urandom(16))
    print(f"Argon2id: {params.opslimit} passes, {params.memlimit // 2**20} MiB, 1 lane")
    one = guesses(4)
    print(f"one core: {4 / one:.2f} guesses/s ({one / 4 * 1000:.0f} ms a guess)")
    cores = os.cpu_count() or 1
    with ProcessPoolExecutor(cores) as pool:
        start = time.perf_counter()
        list(pool.map(guesses, [4] * cores))
        elapsed = time.perf_counter() - start
    rate = 4 * cores / elapsed
    print(f"{cores} cores: {rate:.2f} guesses/s")
    for bits in (40, 50, 60):
        years = 2**bits / rate / 3600 / 24 / 365
        print(f"a {bits}-bit passphrase: {years:,.0f} years on this machine (half that on average)")


if __name__ == "__main__":
    main()
