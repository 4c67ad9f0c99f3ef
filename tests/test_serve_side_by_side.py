"""`vauth serve --ephemeral --presence auto --http 127.0.0.1:0` on a busy machine: several
daemons side by side, each on its own socket and a port the system chose, each printing one
machine-readable line on stdout, so that parallel test workers never collide."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aiohttp
import webauthn

from tests import support

ORIGIN = "https://example.com"


def start(env: dict[str, str], socket: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vauth.cli",
            "serve",
            "--ephemeral",
            "--presence",
            "auto",
            "--http",
            "127.0.0.1:0",
            "--socket",
            str(socket),
            *extra,
        ],
        env=env,
        cwd=support.ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def ready_line(process: subprocess.Popen[str]) -> dict[str, Any]:
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line, "the daemon ended before it was ready"
    return json.loads(line)  # type: ignore[no-any-return]


async def register(url: str, token: str) -> bytes:
    options = support.creation("alice")
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session,
        session.post(
            f"{url}/webauthn/authenticator/vault/create",
            json={"origin": ORIGIN, "options": options},
        ) as response,
    ):
        assert response.status == 200, await response.text()
        body = await response.json()
    verified = webauthn.verify_registration_response(
        credential=body,
        expected_challenge=support.unb64(options["challenge"]),
        expected_origin=ORIGIN,
        expected_rp_id="example.com",
    )
    assert verified.credential_device_type == "multi_device"  # --authenticator applied (BE)
    return verified.credential_id


async def credentials(url: str, token: str) -> list[Any]:
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session,
        session.get(f"{url}/webauthn/authenticator/vault/credentials") as response,
    ):
        return await response.json()  # type: ignore[no-any-return]


async def test_three_daemons_side_by_side(tmp_path: Path) -> None:
    env = support.environment(tmp_path)  # one user: one token file, shared by all three
    sockets = [tmp_path / "run" / f"worker{i}" / "vauth.sock" for i in range(3)]
    processes = [
        start(env, s, "--authenticator", '{"defaultBackupEligibility": true}') for s in sockets
    ]
    try:
        with ThreadPoolExecutor(3) as pool:  # started together, read together
            lines = list(pool.map(ready_line, processes))
        ports = [line["port"] for line in lines]
        assert len(set(ports)) == 3 and all(isinstance(p, int) and p > 0 for p in ports)
        assert [line["socket"] for line in lines] == [str(s) for s in sockets]
        assert all(line["http"] == f"http://127.0.0.1:{line['port']}" for line in lines)
        token = Path(lines[0]["tokenFile"]).read_text().strip()
        made = [await register(line["http"], token) for line in lines]
        assert len(set(made)) == 3
        for line, credential_id in zip(lines, made, strict=True):
            # each daemon's authenticator is its own: one credential each, its own
            (only,) = await credentials(line["http"], token)
            assert support.unb64(only["credentialId"]) == credential_id
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        codes = [process.wait(timeout=30) for process in processes]
    assert codes == [0, 0, 0]


def test_bad_authenticator_options_are_a_sentence_and_exit_2(tmp_path: Path) -> None:
    env = support.environment(tmp_path)
    bad = support.cli(
        env,
        "serve",
        "--ephemeral",
        "--no-http",
        "--authenticator",
        '{"hasPrf": "yes"}',
        check=False,
    )
    assert bad.returncode == 2 and "hasPrf must be a boolean" in bad.stderr
    assert "Traceback" not in bad.stderr
    unknown = support.cli(
        env, "serve", "--ephemeral", "--no-http", "--authenticator", '{"warp": 9}', check=False
    )
    assert unknown.returncode == 2 and "warp" in unknown.stderr
    vault = support.cli(env, "serve", "--no-http", "--authenticator", "{}", check=False)
    assert vault.returncode == 2 and "--ephemeral" in vault.stderr
