"""Benchmark vauth against two peer software authenticators and the crypto floors, in one run.

Usage: python bench/run.py [--iterations N] [--rounds R] [--warmup W] [--strict]

vauth and the floors are timed in this process; each peer is timed by a worker script running in
its own venv (created by bench/setup.sh) that prints its samples as JSON. A missing or broken
piece is reported as "unavailable" and everything else is still printed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cbor2
from peers.benchlib import (
    DEFAULT_ITERATIONS,
    ORIGIN,
    RP_ID,
    RP_NAME,
    USER_DISPLAY_NAME,
    USER_ID,
    USER_NAME,
    b64url_decode,
    creation_options_json,
    crypto_info,
    default_warmup,
    measure,
    measure_floors,
    request_options_json,
)

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
PEERS_DIR = BENCH_DIR / "peers"
WORKER_TIMEOUT_S = 600
DEFAULT_ROUNDS = 5

CTAP_MAKE_CREDENTIAL = b"\x01"
CTAP_GET_ASSERTION = b"\x02"
CTAP2_OK = 0x00


@dataclass(frozen=True)
class Peer:
    name: str
    venv: str  # directory name under BENCH_VENVS
    worker: str  # script under bench/peers/


PEERS = (
    Peer("soft-webauthn", "softwebauthn", "softwebauthn_worker.py"),
    Peer("soft-fido2", "softfido2", "softfido2_worker.py"),
)


@dataclass(frozen=True)
class Stats:
    median_us: float
    p99_us: float
    spread_pct: float  # (max - min) of the per-round medians, relative to the overall median
    n: int


class Collector:
    """Samples pooled over rounds, per figure key; or the reason a figure is unavailable.

    A key ``"<peer>.*"`` marks every figure of that peer as unavailable.
    """

    def __init__(self) -> None:
        self.samples: dict[str, list[int]] = {}
        self.round_medians: dict[str, list[float]] = {}
        self.failures: dict[str, str] = {}

    def add(self, key: str, samples_ns: list[int]) -> None:
        self.samples.setdefault(key, []).extend(samples_ns)
        self.round_medians.setdefault(key, []).append(statistics.median(samples_ns))

    def fail(self, key: str, reason: str) -> None:
        self.failures.setdefault(key, reason)

    def attempt(self, key: str, series: Callable[[], list[int]]) -> None:
        """Run one timed series; a broken figure must not hide the others."""
        try:
            self.add(key, series())
        except Exception as exc:
            self.fail(key, f"{type(exc).__name__}: {exc}")

    def stats(self, key: str) -> Stats | str:
        reason = self.failures.get(key) or self.failures.get(key.split(".", 1)[0] + ".*")
        if reason is not None:
            return reason
        if key not in self.samples:
            return "not measured"
        ordered = sorted(self.samples[key])
        rank = max(1, math.ceil(0.99 * len(ordered)))  # nearest-rank p99
        median = statistics.median(ordered)
        rounds = self.round_medians[key]
        return Stats(
            median_us=median / 1000,
            p99_us=ordered[rank - 1] / 1000,
            spread_pct=100 * (max(rounds) - min(rounds)) / median,
            n=len(ordered),
        )


# --------------------------------------------------------------------------------------------
# vauth (in-process)
# --------------------------------------------------------------------------------------------


def make_credential_request(client_data_hash: bytes, resident: bool = True) -> bytes:
    """authenticatorMakeCredential, ES256, resident unless ``resident`` is false, in CTAP2
    canonical CBOR (keys pre-sorted)."""
    params: dict[int, Any] = {
        1: client_data_hash,
        2: {"id": RP_ID, "name": RP_NAME},
        3: {"id": USER_ID, "name": USER_NAME, "displayName": USER_DISPLAY_NAME},
        4: [{"alg": -7, "type": "public-key"}],
    }
    if resident:
        params[7] = {"rk": True, "uv": True}  # CTAP 2.1: discoverable needs UV
    return CTAP_MAKE_CREDENTIAL + cbor2.dumps(params)


def get_assertion_request(client_data_hash: bytes, credential_id: bytes) -> bytes:
    """authenticatorGetAssertion with an allowList, in CTAP2 canonical CBOR (keys pre-sorted)."""
    params = {
        1: RP_ID,
        2: client_data_hash,
        3: [{"id": credential_id, "type": "public-key"}],
    }
    return CTAP_GET_ASSERTION + cbor2.dumps(params)


def ctap_ok(response: bytes) -> dict[Any, Any]:
    if not response or response[0] != CTAP2_OK:
        status = f"0x{response[0]:02x}" if response else "empty response"
        raise RuntimeError(f"CTAP error {status}")
    body = cbor2.loads(response[1:])
    if not isinstance(body, dict):
        raise RuntimeError(f"CTAP response is not a map: {body!r}")
    return body


def check_attestation(fmt: object, statement: object, expected_fmt: str) -> None:
    """Fail unless the attestation is ``expected_fmt`` and, for packed, self (no x5c)."""
    if fmt != expected_fmt or not isinstance(statement, dict) or "x5c" in statement:
        raise RuntimeError(f"expected {expected_fmt} self/none attestation, got fmt={fmt!r}")


def credential_id_from_auth_data(auth_data: bytes) -> bytes:
    """rpIdHash(32) flags(1) signCount(4) aaguid(16) credIdLen(2) credId ..."""
    offset = 32 + 1 + 4 + 16
    length = int.from_bytes(auth_data[offset : offset + 2], "big")
    return auth_data[offset + 2 : offset + 2 + length]


def measure_vauth(results: Collector, iterations: int, warmup: int) -> None:
    keys = (
        "vauth.get",
        "vauth.get_nd",
        "vauth.ctap_ga",
        "vauth.ctap_ga_nd",
        "vauth.ctap_mc",
        "vauth.create_none",
        "vauth.create_self",
    )
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))  # bench the working tree even if not pip-installed
    try:
        from vauth import VirtualAuthenticator
    except Exception as exc:
        for key in keys:
            results.fail(key, f"vauth not importable ({type(exc).__name__}: {exc})")
        return

    challenge = os.urandom(32)
    client_data_hash = os.urandom(32)
    create_none = creation_options_json(challenge, "none")
    create_direct = creation_options_json(challenge, "direct")

    def webauthn_get(resident: bool) -> Callable[[], list[int]]:
        def series() -> list[int]:
            with VirtualAuthenticator(attestation="none") as va:
                options = creation_options_json(challenge, "none", resident)
                registration = va.create(options, ORIGIN)
                request = request_options_json(challenge, registration["rawId"])
                if not va.get(request, ORIGIN)["response"]["signature"]:
                    raise RuntimeError("get() returned no signature")
                return measure(lambda: va.get(request, ORIGIN), iterations, warmup)

        return series

    def ctap_get_assertion(resident: bool) -> Callable[[], list[int]]:
        def series() -> list[int]:
            with VirtualAuthenticator(attestation="none") as va:
                made = ctap_ok(va.process(make_credential_request(client_data_hash, resident)))
                credential_id = credential_id_from_auth_data(made[2])
                request = get_assertion_request(client_data_hash, credential_id)
                if 3 not in ctap_ok(va.process(request)):
                    raise RuntimeError("getAssertion response has no signature (key 3)")
                return measure(lambda: va.process(request), iterations, warmup)

        return series

    def ctap_make_credential() -> list[int]:
        with VirtualAuthenticator(attestation="packed-self") as va:
            request = make_credential_request(client_data_hash)
            made = ctap_ok(va.process(request))
            check_attestation(made.get(1), made.get(3), "packed")
            return measure(lambda: va.process(request), iterations, warmup)

    def webauthn_create(mode: str, options: dict[str, Any], fmt: str) -> Callable[[], list[int]]:
        def series() -> list[int]:
            with VirtualAuthenticator(attestation=mode) as va:
                registration = va.create(options, ORIGIN)
                encoded = registration["response"]["attestationObject"]
                attestation = cbor2.loads(b64url_decode(encoded))
                check_attestation(attestation.get("fmt"), attestation.get("attStmt"), fmt)
                return measure(lambda: va.create(options, ORIGIN), iterations, warmup)

        return series

    results.attempt("vauth.get", webauthn_get(resident=True))
    results.attempt("vauth.get_nd", webauthn_get(resident=False))
    results.attempt("vauth.ctap_ga", ctap_get_assertion(resident=True))
    results.attempt("vauth.ctap_ga_nd", ctap_get_assertion(resident=False))
    results.attempt("vauth.ctap_mc", ctap_make_credential)
    results.attempt("vauth.create_none", webauthn_create("none", create_none, "none"))
    results.attempt("vauth.create_self", webauthn_create("packed-self", create_direct, "packed"))


# --------------------------------------------------------------------------------------------
# Peers (one subprocess each, in their own venv)
# --------------------------------------------------------------------------------------------


def venvs_dir() -> Path:
    return Path(os.environ.get("BENCH_VENVS", BENCH_DIR / ".bench-venvs")).resolve()


def run_worker(peer: Peer, iterations: int, warmup: int) -> dict[str, Any]:
    python = venvs_dir() / peer.venv / "bin" / "python"
    if not python.exists():
        raise RuntimeError(f"no venv at {python.parent.parent} (run bench/setup.sh)")
    # -E: ignore PYTHONPATH & co. so the caller's venv cannot leak into the peer's.
    # -s: no user site-packages. The worker's own directory stays on sys.path (for benchlib).
    command = [str(python), "-E", "-s", str(PEERS_DIR / peer.worker)]
    command += ["--iterations", str(iterations), "--warmup", str(warmup)]
    proc = subprocess.run(
        command, capture_output=True, text=True, timeout=WORKER_TIMEOUT_S, check=False
    )
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"]
        raise RuntimeError(f"worker failed: {lines[-1]}")
    report: dict[str, Any] = json.loads(proc.stdout)
    return report


def measure_peer(
    peer: Peer, results: Collector, envs: dict[str, dict[str, Any]], iterations: int, warmup: int
) -> None:
    prefix = f"{peer.name}."
    try:
        report = run_worker(peer, iterations, warmup)
    except Exception as exc:
        results.fail(prefix + "*", f"{type(exc).__name__}: {exc}")
        return
    envs[f"{peer.name} {report['version']}"] = report["env"]
    for name, samples in report["timings_ns"].items():
        results.add(prefix + name, samples)


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------

# (key, label) in print order.
FIGURES = (
    ("floor.es256_sign", "floor: ES256 sign, 32-byte msg"),
    ("floor.p256_keygen", "floor: P-256 keygen"),
    ("vauth.get", "vauth get() discoverable (JSON, allowCredentials)"),
    ("vauth.get_nd", "vauth get() non-discoverable (JSON, allowCredentials)"),
    ("vauth.ctap_ga", "vauth CTAP getAssertion discoverable (allowList)"),
    ("vauth.ctap_ga_nd", "vauth CTAP getAssertion non-discoverable (allowList)"),
    ("vauth.ctap_mc", "vauth CTAP makeCredential rk ES256 packed-self"),
    ("vauth.create_none", "vauth create() rk ES256 none"),
    ("vauth.create_self", "vauth create() rk ES256 packed-self"),
    ("soft-webauthn.get", "soft-webauthn get()"),
    ("soft-webauthn.create", "soft-webauthn create() none, new key"),
    ("soft-webauthn.es256_sign", "soft-webauthn venv floor: ES256 sign"),
    ("soft-webauthn.p256_keygen", "soft-webauthn venv floor: P-256 keygen"),
    ("soft-fido2.get", "soft-fido2 credential_request()"),
    ("soft-fido2.create", "soft-fido2 credential_create() packed-self, new key"),
    ("soft-fido2.create_reused_key", "soft-fido2 credential_create() packed-self, same key"),
    ("soft-fido2.es256_sign", "soft-fido2 venv floor: ES256 sign"),
    ("soft-fido2.p256_keygen", "soft-fido2 venv floor: P-256 keygen"),
)


@dataclass(frozen=True)
class Ratio:
    label: str
    numerator: tuple[str, ...]  # figure keys; several keys are summed
    denominator: tuple[str, ...]
    target: float | None = None  # ratio must be <= target


RATIOS = (
    Ratio("vauth get disc. / soft-webauthn get", ("vauth.get",), ("soft-webauthn.get",), 1.5),
    Ratio(
        "vauth get non-disc. / soft-webauthn get", ("vauth.get_nd",), ("soft-webauthn.get",), 1.5
    ),
    Ratio(
        "vauth CTAP getAssertion disc. / ES256 sign",
        ("vauth.ctap_ga",),
        ("floor.es256_sign",),
        2.5,
    ),
    Ratio(
        "vauth CTAP getAssertion non-disc. / ES256 sign",
        ("vauth.ctap_ga_nd",),
        ("floor.es256_sign",),
        2.5,
    ),
    Ratio(
        "vauth CTAP makeCredential / soft-fido2 create",
        ("vauth.ctap_mc",),
        ("soft-fido2.create",),
        0.7,
    ),
    Ratio("vauth get / ES256 sign", ("vauth.get",), ("floor.es256_sign",)),
    Ratio("vauth CTAP makeCredential / P-256 keygen", ("vauth.ctap_mc",), ("floor.p256_keygen",)),
    Ratio(
        "vauth CTAP makeCredential / (keygen + sign)",
        ("vauth.ctap_mc",),
        ("floor.p256_keygen", "floor.es256_sign"),
    ),
    Ratio("vauth create() none / P-256 keygen", ("vauth.create_none",), ("floor.p256_keygen",)),
    Ratio(
        "vauth create() none / soft-webauthn create",
        ("vauth.create_none",),
        ("soft-webauthn.create",),
    ),
    Ratio(
        "vauth create() packed-self / soft-fido2 create",
        ("vauth.create_self",),
        ("soft-fido2.create",),
    ),
    Ratio(
        "soft-webauthn get / its venv's ES256 sign",
        ("soft-webauthn.get",),
        ("soft-webauthn.es256_sign",),
    ),
    Ratio(
        "soft-fido2 create / its venv's keygen + sign",
        ("soft-fido2.create",),
        ("soft-fido2.p256_keygen", "soft-fido2.es256_sign"),
    ),
)


def median_sum(results: Collector, keys: tuple[str, ...]) -> float | str:
    total = 0.0
    for key in keys:
        found = results.stats(key)
        if isinstance(found, str):
            return f"{key} unavailable"
        total += found.median_us
    return total


def ratio_of(results: Collector, ratio: Ratio) -> float | str:
    numerator = median_sum(results, ratio.numerator)
    denominator = median_sum(results, ratio.denominator)
    if isinstance(numerator, str):
        return numerator
    if isinstance(denominator, str):
        return denominator
    return numerator / denominator


def print_report(results: Collector, envs: dict[str, dict[str, Any]], plan: str) -> int:
    """Print the tables; return the number of targets missed or not measurable."""
    print(f"vauth bench: {plan}")
    print()
    print(f"{'process':<28} {'python':<8} {'cryptography':<13} openssl")
    for name, env in envs.items():
        print(f"{name:<28} {env['python']:<8} {env['cryptography']:<13} {env['openssl']}")
    print()
    print(f"{'figure (microseconds)':<54} {'median':>8} {'p99':>8} {'spread':>7}")
    for key, label in FIGURES:
        found = results.stats(key)
        if isinstance(found, Stats):
            print(
                f"{label:<54} {found.median_us:>8.1f} {found.p99_us:>8.1f}"
                f" {found.spread_pct:>6.0f}%"
            )
        else:
            print(f"{label:<54} unavailable: {found}")
    print()
    print(f"{'ratio of medians':<54} {'ratio':>8} {'target':>8}  verdict")
    misses = 0
    for ratio in RATIOS:
        label, target = ratio.label, ratio.target
        value = ratio_of(results, ratio)
        if isinstance(value, str):
            print(f"{label:<54} unavailable: {value}")
            misses += target is not None
        elif target is None:
            print(f"{label:<54} {value:>8.2f}")
        else:
            met = value <= target
            misses += not met
            verdict = "PASS" if met else "MISS"
            print(f"{label:<54} {value:>8.2f} {'<= ' + str(target):>8}  {verdict}")
    return misses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--iterations",
        type=int,
        default=DEFAULT_ITERATIONS,
        help=f"timed calls per figure, split over the rounds (default {DEFAULT_ITERATIONS})",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=DEFAULT_ROUNDS,
        help=f"passes over all figures, samples pooled (default {DEFAULT_ROUNDS})",
    )
    parser.add_argument(
        "--warmup", type=int, default=None, help="untimed calls before each series (default: 10%%)"
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 if a target is missed or unavailable"
    )
    args = parser.parse_args()
    if args.rounds < 1 or args.iterations < args.rounds:
        parser.error("need --rounds >= 1 and --iterations >= --rounds")
    per_round = args.iterations // args.rounds
    warmup = default_warmup(per_round) if args.warmup is None else args.warmup

    results = Collector()
    envs = {"run.py (vauth, floors)": crypto_info()}
    for _ in range(args.rounds):
        for name, samples in measure_floors(per_round, warmup).items():
            results.add(f"floor.{name}", samples)
        measure_vauth(results, per_round, warmup)
        for peer in PEERS:
            measure_peer(peer, results, envs, per_round, warmup)

    plan = (
        f"{args.rounds} rounds x {per_round} timed calls per figure"
        f" (each series after {warmup} warm-up calls)"
    )
    misses = print_report(results, envs, plan)
    return 1 if args.strict and misses else 0


if __name__ == "__main__":
    sys.exit(main())
