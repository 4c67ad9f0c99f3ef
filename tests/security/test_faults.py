"""Faults: 64 concurrent clients while the vault is locked, unlocked, rekeyed and backed up;
kill -9 and restart under load; a full disk; a read-only vault. Each leaves the vault
consistent, and every failure is a clear error, never a dead daemon."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import Daemon, b64, creation
from tests.test_daemon import ceremony
from vauth.transport.unix_socket import Client
from vauth.vault import Vault

PASSPHRASE = "daemon test passphrase"
can_mount = os.geteuid() == 0


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_64_clients_while_locking_rekeying_and_backing_up(tmp_path: Path) -> None:
    daemon = Daemon(tmp_path, "--presence", "auto")
    made = asyncio.run(ceremony(daemon.socket, "create", creation("alice")))
    assert made["ok"]

    async def storm() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
        stop = asyncio.Event()

        async def client(n: int) -> list[dict[str, object]]:
            connection = await Client.connect(daemon.socket)
            replies = []
            while not stop.is_set():
                replies.append(
                    await connection.call(
                        "get",
                        origin="https://example.com",
                        options={
                            "challenge": b64(os.urandom(32)),
                            "userVerification": "discouraged",
                        },
                    )
                )
            await connection.close()
            return replies

        async def admin() -> list[dict[str, object]]:
            connection = await Client.connect(daemon.socket)
            done = []
            passphrase = PASSPHRASE
            for round_ in range(3):
                done.append(await connection.call("lock"))
                await asyncio.sleep(0.05)
                done.append(await connection.call("unlock", passphrase=passphrase))
                new = f"{PASSPHRASE} {round_}"
                done.append(await connection.call("passphrase", old=passphrase, new=new))
                passphrase = new
                done.append(
                    await connection.call(
                        "backup", destination=str(tmp_path / f"backup-{round_}.db")
                    )
                )
                await asyncio.sleep(0.05)
            stop.set()
            await connection.close()
            return done

        results = await asyncio.gather(admin(), *(client(n) for n in range(64)))
        return results[0], [r for replies in results[1:] for r in replies]

    admin_replies, replies = asyncio.run(storm())
    assert all(r["ok"] for r in admin_replies), admin_replies
    ok = [r for r in replies if r["ok"]]
    refused = [r for r in replies if not r["ok"]]
    assert ok, "no sign-in succeeded"
    assert {r["error"]["code"] for r in refused} <= {"vault_locked"}  # type: ignore[index]
    counts = [
        base64.urlsafe_b64decode(r["result"]["response"]["authenticatorData"] + "==")  # type: ignore[index]
        for r in ok
    ]
    values = [int.from_bytes(a[33:37], "big") for a in counts]
    assert len(set(values)) == len(values), "a signature counter value was used twice"
    assert daemon.stop() == 0
    for round_ in range(3):  # every backup opens, whole, with the passphrase of its moment
        backup = Vault.open(tmp_path / f"backup-{round_}.db", f"{PASSPHRASE} {round_}")
        assert backup.integrity_check() == "ok"
        backup.close()
    vault = Vault.open(tmp_path / "data" / "vauth" / "vault.db", f"{PASSPHRASE} 2")
    assert vault.integrity_check() == "ok"
    vault.close()


def test_kill_9_under_load_then_restart(tmp_path: Path) -> None:
    daemon = Daemon(tmp_path, "--presence", "auto")

    async def load() -> list[object]:
        tasks = [
            asyncio.create_task(ceremony(daemon.socket, "create", creation(f"u{i}")))
            for i in range(40)
        ]
        await asyncio.sleep(0.3)
        daemon.process.send_signal(signal.SIGKILL)
        return await asyncio.gather(*tasks, return_exceptions=True)

    replies = asyncio.run(load())
    daemon.process.wait(timeout=10)
    acknowledged = {
        r["result"]["id"]
        for r in replies  # type: ignore[index]
        if isinstance(r, dict) and r.get("ok")
    }
    again = Daemon(tmp_path, "--presence", "auto")
    stored = {c["credentialId"] for c in json.loads(again.cli("list", "--json").stdout)}
    assert acknowledged <= stored
    assert asyncio.run(ceremony(again.socket, "create", creation("after")))["ok"]
    assert again.stop() == 0
    vault = Vault.open(tmp_path / "data" / "vauth" / "vault.db", PASSPHRASE)
    assert vault.integrity_check() == "ok"
    vault.close()


@pytest.mark.skipif(not can_mount, reason="mounting a small tmpfs needs root")
def test_full_disk_gives_a_clear_error_and_loses_nothing(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "data", "1500k"):
        daemon = Daemon(tmp_path, "--presence", "auto")
        assert asyncio.run(ceremony(daemon.socket, "create", creation("before")))["ok"]
        filler = tmp_path / "data" / "filler"
        with contextlib.suppress(OSError), filler.open("wb") as out:
            while True:
                out.write(b"\0" * 65536)
        failures = []
        for i in range(30):
            name = f"full{i:02d}" + "x" * 56
            reply = asyncio.run(ceremony(daemon.socket, "create", creation(name)))
            if not reply["ok"]:
                failures.append(reply["error"])
        assert failures, "the disk never filled"
        assert all("no room" in f["message"] for f in failures), failures  # type: ignore[index]
        assert daemon.cli("status").returncode == 0  # still serving
        filler.unlink()
        assert asyncio.run(ceremony(daemon.socket, "create", creation("after")))["ok"]
        names = {c["userName"] for c in json.loads(daemon.cli("list", "--json").stdout)}
        assert {"before", "after"} <= names
        assert daemon.stop() == 0


@pytest.mark.skipif(not can_mount, reason="remounting read-only needs root")
def test_read_only_vault_gives_a_clear_error(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "data", "8m") as data:
        daemon = Daemon(tmp_path, "--presence", "auto")
        assert asyncio.run(ceremony(daemon.socket, "create", creation("kept")))["ok"]
        assert daemon.stop() == 0
        subprocess.run(["mount", "-o", "remount,ro", str(data)], check=True)
        env = {**daemon.env}
        started = subprocess.run(
            [sys.executable, "-m", "vauth.cli", "serve", "--no-http"],
            env=env,
            cwd=Path(__file__).resolve().parents[2],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert started.returncode != 0
        assert "read-only" in started.stderr, started.stderr
        subprocess.run(["mount", "-o", "remount,rw", str(data)], check=True)
        again = Daemon(tmp_path, "--presence", "auto")
        assert [c["userName"] for c in json.loads(again.cli("list", "--json").stdout)] == ["kept"]
        assert again.stop() == 0
