"""Sustained getAssertion against a running `vauth serve`, over the Unix socket and over HTTP,
with 1, 8 and 64 concurrent clients: operations per second, p50, p99 and the daemon's CPU time
per operation (user + system, all its threads, from /proc: steadier than latency on a shared
machine).

    python bench/daemon_load.py [--seconds 5] [--ephemeral]

The daemon runs as its own process (vault-backed by default, presence auto); the clients run
in this process on one event loop, each with its own connection.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import Daemon, environment  # noqa: E402
from vauth.ctap import cbor  # noqa: E402
from vauth.transport.unix_socket import Client  # noqa: E402
from vauth.vault import Vault  # noqa: E402
from vauth.vault.kdf import KdfParams  # noqa: E402

PORT = 18733
TARGETS = {"socket_ops": 3000.0, "p99_ms_at_64": 20.0}


def start_daemon(base: Path, ephemeral: bool) -> Daemon:
    env = environment(base, "bench")
    args = ["--presence", "auto", "--http", f"127.0.0.1:{PORT}", "--log-level", "warning"]
    if ephemeral:
        args.append("--ephemeral")
    else:  # made here with cheap KDF parameters: the benchmark is about ceremonies
        Vault.open(
            base / "data" / "vauth" / "vault.db", "bench", kdf=KdfParams(os.urandom(16), 1, 8 << 20)
        ).close()
    return Daemon(base, *args, env=env)


def token(env: dict[str, str]) -> str:
    return (Path(env["XDG_CONFIG_HOME"]) / "vauth" / "token").read_text().strip()


async def make_credential(socket: Path) -> bytes:
    client = await Client.connect(socket)
    request = b"\x01" + cbor.encode(
        {
            1: bytes(32),
            2: {"id": "bench.example"},
            3: {"id": b"user", "name": "user"},
            4: [{"alg": -7, "type": "public-key"}],
            7: {"rk": True, "uv": True},
        }
    )
    reply = await client.call("ctap", message=base64.b64encode(request).decode())
    await client.close()
    response = base64.b64decode(reply["result"]["response"])
    auth_data = cbor.decode(response[1:])[2]
    return auth_data[55 : 55 + int.from_bytes(auth_data[53:55], "big")]


def assertion(credential_id: bytes, i: int) -> bytes:
    return b"\x02" + cbor.encode(
        {
            1: "bench.example",
            2: hashlib.sha256(i.to_bytes(8, "big")).digest(),
            3: [{"id": credential_id, "type": "public-key"}],
        }
    )


async def socket_load(
    socket: Path, credential_id: bytes, clients: int, seconds: float
) -> list[float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker(n: int) -> None:
        client = await Client.connect(socket)
        i = n << 32
        while time.perf_counter() < deadline:
            i += 1
            message = base64.b64encode(assertion(credential_id, i)).decode()
            start = time.perf_counter()
            reply = await client.call("ctap", message=message)
            latencies.append(time.perf_counter() - start)
            assert reply["ok"] and base64.b64decode(reply["result"]["response"])[0] == 0
        await client.close()

    await asyncio.gather(*(worker(n) for n in range(clients)))
    return latencies


async def http_load(bearer: str, credential_id: bytes, clients: int, seconds: float) -> list[float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {bearer}", "Content-Type": "application/cbor"}
    url = f"http://127.0.0.1:{PORT}/webauthn/authenticator/vault/ctap"
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def worker(n: int) -> None:
            i = n << 32
            while time.perf_counter() < deadline:
                i += 1
                start = time.perf_counter()
                async with session.post(url, data=assertion(credential_id, i)) as response:
                    body = await response.read()
                latencies.append(time.perf_counter() - start)
                assert response.status == 200 and body[0] == 0

        await asyncio.gather(*(worker(n) for n in range(clients)))
    return latencies


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far, all threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report(label: str, latencies: list[float], seconds: float, cpu_s: float) -> tuple[float, float]:
    latencies.sort()
    ops = len(latencies) / seconds
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    cpu_us = cpu_s / len(latencies) * 1e6
    print(
        f"{label:28} {ops:9.0f} ops/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms"
        f"   daemon CPU {cpu_us:5.0f} us/op"
    )
    return ops, p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--ephemeral", action="store_true", help="no vault: the in-memory store")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        daemon = start_daemon(Path(tmp), args.ephemeral)
        socket = daemon.socket
        try:
            credential_id = asyncio.run(make_credential(socket))
            store = "in-memory store" if args.ephemeral else "vault"
            print(f"getAssertion against `vauth serve` ({store}), {args.seconds:.0f} s each\n")
            results = {}
            pid = daemon.process.pid
            for clients in (1, 8, 64):
                cpu = cpu_seconds(pid)
                lat = asyncio.run(socket_load(socket, credential_id, clients, args.seconds))
                results[("socket", clients)] = report(
                    f"socket, {clients} clients", lat, args.seconds, cpu_seconds(pid) - cpu
                )
            for clients in (1, 8, 64):
                cpu = cpu_seconds(pid)
                lat = asyncio.run(
                    http_load(token(daemon.env), credential_id, clients, args.seconds)
                )
                results[("http", clients)] = report(
                    f"http, {clients} clients", lat, args.seconds, cpu_seconds(pid) - cpu
                )
        finally:
            daemon.stop()
    best_socket = max(results[("socket", c)][0] for c in (1, 8, 64))
    p99_64 = max(results[(kind, 64)][1] for kind in ("socket", "http"))
    print()
    print(
        f"socket throughput {best_socket:.0f} ops/s (target >= {TARGETS['socket_ops']:.0f}): "
        f"{'PASS' if best_socket >= TARGETS['socket_ops'] else 'MISS'}"
    )
    print(
        f"p99 at 64 clients {p99_64:.1f} ms (target < {TARGETS['p99_ms_at_64']:.0f}): "
        f"{'PASS' if p99_64 < TARGETS['p99_ms_at_64'] else 'MISS'}"
    )


if __name__ == "__main__":
    main()
