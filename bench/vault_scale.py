"""Vault scale: getAssertion for one rpId with 1,000 and with 1,000,000 credentials in the
vault (by allowList and by discovery), the memory the process holds in each case, and the
vault-backed getAssertion against the in-memory store, in one run.

    python bench/vault_scale.py                      # 1,000 vs 1,000,000 (a few minutes)
    python bench/vault_scale.py --large 100000       # quicker
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from vauth import VirtualAuthenticator
from vauth.ctap import cbor
from vauth.ctap.credential import Credential
from vauth.vault import Vault, rows
from vauth.vault.kdf import KdfParams

PASSPHRASE = "bench"
TARGET_RP = "target.example"
TARGET_CREDENTIALS = 3
PER_RP = 10


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def filler_key() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def build(path: Path, total: int) -> list[bytes]:
    """A vault with ``total`` credentials; returns the IDs of the target RP's."""
    vault = Vault.open(path, PASSPHRASE, kdf=KdfParams(os.urandom(16), 1, 8 << 20))
    key = filler_key()
    target_ids = [os.urandom(32) for _ in range(TARGET_CREDENTIALS)]

    def fill(db: object) -> None:
        batch: list[tuple[object, ...]] = []
        for i in range(total - TARGET_CREDENTIALS):
            rp_id = f"rp{i // PER_RP}.example"
            batch.append(rows.to_row(credential(os.urandom(32), rp_id, i, key)))
            if len(batch) == 10_000:
                flush(db, batch)
        for n, credential_id in enumerate(target_ids):
            batch.append(rows.to_row(credential(credential_id, TARGET_RP, n, filler_key())))
        flush(db, batch)

    vault.with_database_sync(fill)
    vault.close()
    return target_ids


def flush(db: object, batch: list[tuple[object, ...]]) -> None:
    with db.transaction() as connection:  # type: ignore[attr-defined]
        connection.executemany(rows.UPSERT, batch)
    batch.clear()


def credential(credential_id: bytes, rp_id: str, n: int, key: bytes) -> Credential:
    return Credential(
        credential_id=credential_id,
        rp_id=rp_id,
        rp_id_hash=hashlib.sha256(rp_id.encode()).digest(),
        user_handle=n.to_bytes(8, "big"),
        private_key=key,
        algorithm=-7,
        user_name=f"user{n}@{rp_id}",
        user_display_name=f"User {n}",
        created=n,
    )


def time_calls(va: VirtualAuthenticator, request: bytes, n: int) -> tuple[float, float]:
    for _ in range(20):
        assert va.process(request)[0] == 0
    samples = []
    for _ in range(n):
        start = time.perf_counter_ns()
        va.process(request)
        samples.append(time.perf_counter_ns() - start)
    samples.sort()
    return statistics.median(samples) / 1000, samples[int(len(samples) * 0.99)] / 1000


def requests(target_ids: list[bytes]) -> dict[str, bytes]:
    cdh = hashlib.sha256(b"bench").digest()
    return {
        "allowList": b"\x02"
        + cbor.encode({1: TARGET_RP, 2: cdh, 3: [{"id": target_ids[0], "type": "public-key"}]}),
        "discovery": b"\x02" + cbor.encode({1: TARGET_RP, 2: cdh}),
    }


def measure(path: Path, target_ids: list[bytes], n: int) -> dict[str, object]:
    gc.collect()
    before = rss_mib()
    va = VirtualAuthenticator(vault=path, passphrase=PASSPHRASE, has_user_verification=False)
    results: dict[str, object] = {}
    for name, request in requests(target_ids).items():
        results[name] = time_calls(va, request, n)
    results["rss_growth_mib"] = rss_mib() - before
    results["size_mib"] = path.stat().st_size / 2**20
    va.close()
    return results


def in_memory(n: int) -> dict[str, object]:
    va = VirtualAuthenticator(has_user_verification=False)
    target_ids = []
    for i in range(TARGET_CREDENTIALS):
        key = filler_key()
        params = {
            "credentialId": cbor_b64(os.urandom(32)),
            "isResidentCredential": True,
            "rpId": TARGET_RP,
            "privateKey": cbor_b64(key),
            "userHandle": cbor_b64(i.to_bytes(8, "big")),
            "signCount": 0,
        }
        va.add_credential(params)
        target_ids.append(_unb64(str(params["credentialId"])))
    results = {name: time_calls(va, r, n) for name, r in requests(target_ids).items()}
    va.close()
    return results


def cbor_b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--iterations", type=int, default=2_000)
    parser.add_argument("--dir", type=Path, default=None, help="where to build the vaults")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        figures = {}
        for label, total in (("small", args.small), ("large", args.large)):
            path = Path(tmp) / f"{label}.db"
            start = time.perf_counter()
            target_ids = build(path, total)
            built = time.perf_counter() - start
            figures[label] = measure(path, target_ids, args.iterations)
            print(f"built {total:,} credentials in {built:.0f} s")
        memory = in_memory(args.iterations)
    print()
    print(f"{'getAssertion (microseconds)':40} {'median':>9} {'p99':>9}")
    for label, total in (("small", args.small), ("large", args.large)):
        for kind in ("allowList", "discovery"):
            median, p99 = figures[label][kind]  # type: ignore[misc]
            print(f"{f'vault, {total:,} credentials, {kind}':40} {median:9.1f} {p99:9.1f}")
    for kind in ("allowList", "discovery"):
        median, p99 = memory[kind]  # type: ignore[misc]
        print(f"{f'in-memory store, {kind}':40} {median:9.1f} {p99:9.1f}")
    print()
    for kind in ("allowList", "discovery"):
        ratio = figures["large"][kind][0] / figures["small"][kind][0]  # type: ignore[index]
        verdict = "PASS" if ratio <= 1.5 else "MISS"
        print(
            f"{kind}: {args.large:,} vs {args.small:,} credentials: {ratio:.2f}x "
            f"(target <= 1.5) {verdict}"
        )
        vs_memory = figures["small"][kind][0] / memory[kind][0]  # type: ignore[index]
        print(f"{kind}: vault-backed vs in-memory store: {vs_memory:.2f}x")
    for label, total in (("small", args.small), ("large", args.large)):
        print(
            f"process memory growth with {total:,} credentials: "
            f"{figures[label]['rss_growth_mib']:.1f} MiB (vault file "
            f"{figures[label]['size_mib']:.0f} MiB)"
        )


if __name__ == "__main__":
    main()
