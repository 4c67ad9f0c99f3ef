"""Issue 10 item 6: an export carries every private key, so it takes the vault passphrase, and a
plaintext one a second, explicit yes in the CLI. A real `vauth serve --presence prompt` (the
default, under which nothing used to be asked), its socket, and the CLI on a pseudo-terminal
and without one."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import pty
import select
import subprocess
import sys
import termios
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import PASSPHRASE, ROOT, Daemon
from vauth.base64url import encode as b64
from vauth.transport.unix_socket import Client


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    running = Daemon(tmp_path, "--presence", "prompt")
    yield running
    running.stop()


async def _call(daemon: Daemon, action: str, **params: Any) -> dict[str, Any]:
    client = await Client.connect(daemon.socket)
    try:
        return await client.call(action, **params)
    finally:
        await client.close()


def call(daemon: Daemon, action: str, **params: Any) -> dict[str, Any]:
    return asyncio.run(_call(daemon, action, **params))


def add_passkey(daemon: Daemon) -> str:
    """A passkey in the vault (added directly: no ceremony, so no prompt to answer)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    credential_id = b64(os.urandom(16))
    params = {
        "credentialId": credential_id,
        "isResidentCredential": True,
        "rpId": "example.com",
        "privateKey": b64(key),
        "userHandle": b64(b"alice"),
        "signCount": 0,
    }
    reply = call(daemon, "import", data=_webdriver([params]))
    assert reply["ok"], reply
    return credential_id


def _webdriver(credentials: list[dict[str, Any]]) -> str:
    import base64

    return base64.b64encode(json.dumps(credentials).encode()).decode()


# -- the socket action --------------------------------------------------------------------------


def test_export_action_needs_the_vault_passphrase(daemon: Daemon) -> None:
    add_passkey(daemon)
    for plaintext, passphrase in ((True, None), (False, "export secret")):
        missing = call(daemon, "export", format="webdriver", plaintext=plaintext,
                       passphrase=passphrase)  # fmt: skip
        assert missing["ok"] is False, missing
        assert missing["error"]["code"] == "invalid argument"
        assert "vaultPassphrase" in missing["error"]["message"]

        wrong = call(daemon, "export", format="webdriver", plaintext=plaintext,
                     passphrase=passphrase, vaultPassphrase="not " + PASSPHRASE)  # fmt: skip
        assert wrong["ok"] is False and wrong["error"]["code"] == "wrong_passphrase", wrong

        right = call(daemon, "export", format="webdriver", plaintext=plaintext,
                     passphrase=passphrase, vaultPassphrase=PASSPHRASE)  # fmt: skip
        assert right["ok"] is True, right
        assert right["result"]["encrypted"] is not plaintext
    # Bad input changed nothing and the daemon keeps answering.
    assert call(daemon, "status")["result"]["pendingPrompts"] == 0
    not_a_string = call(daemon, "export", vaultPassphrase=123)
    assert not_a_string["error"]["code"] == "invalid argument"


def test_a_locked_vault_still_checks_the_passphrase_first(daemon: Daemon) -> None:
    assert call(daemon, "lock")["ok"]
    wrong = call(daemon, "export", plaintext=True, vaultPassphrase="guess")
    assert wrong["error"]["code"] == "wrong_passphrase"
    right = call(daemon, "export", plaintext=True, vaultPassphrase=PASSPHRASE)
    assert right["error"]["code"] == "vault_locked"


# -- the CLI without a terminal -----------------------------------------------------------------


def cli(
    daemon: Daemon, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vauth.cli", *args],
        env=env or daemon.env,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_plaintext_export_without_a_terminal_needs_the_flag(
    daemon: Daemon, tmp_path: Path
) -> None:
    add_passkey(daemon)
    out = tmp_path / "plain.json"
    refused = cli(daemon, "export", "--plaintext", "--format", "webdriver", "-o", str(out))
    assert refused.returncode == 2, refused.stderr
    assert "every private key" in refused.stderr and "--i-understand-plaintext" in refused.stderr
    assert not out.exists()

    done = cli(daemon, "export", "--plaintext", "--i-understand-plaintext",
               "--format", "webdriver", "-o", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "privateKey" in json.loads(out.read_text())[0]


def test_cli_export_needs_the_right_vault_passphrase(daemon: Daemon, tmp_path: Path) -> None:
    add_passkey(daemon)
    env = {k: v for k, v in daemon.env.items() if k != "VAUTH_PASSPHRASE"}
    export_passphrase = tmp_path / "export-passphrase"
    export_passphrase.write_text("export secret\n")
    out = tmp_path / "e.cxf"
    none = cli(daemon, "export", "--file-passphrase-file", str(export_passphrase), "-o", str(out),
               env=env)  # fmt: skip
    assert none.returncode == 2 and "vault passphrase" in none.stderr, none.stderr

    wrong_file = tmp_path / "wrong"
    wrong_file.write_text("not " + PASSPHRASE + "\n")
    wrong = cli(daemon, "export", "--vault-passphrase-file", str(wrong_file),
                "--file-passphrase-file", str(export_passphrase), "-o", str(out),
                env=env)  # fmt: skip
    assert wrong.returncode == 5 and "wrong vault passphrase" in wrong.stderr, wrong.stderr
    assert not out.exists()

    right_file = tmp_path / "right"
    right_file.write_text(PASSPHRASE + "\n")
    right = cli(daemon, "export", "--vault-passphrase-file", str(right_file),
                "--file-passphrase-file", str(export_passphrase), "-o", str(out),
                env=env)  # fmt: skip
    assert right.returncode == 0, right.stderr
    assert json.loads(out.read_bytes())["format"] == "vauth-export"


# -- the CLI on a terminal ----------------------------------------------------------------------


def on_terminal(
    args: list[str], env: dict[str, str], answers: list[tuple[bytes, bytes]]
) -> tuple[int, str]:
    """Run `vauth ARGS` with a pseudo-terminal as its controlling terminal and standard
    streams; each (prompt, reply) types ``reply`` once ``prompt`` has appeared. Returns the
    exit code and what the terminal showed."""
    master, slave = pty.openpty()

    def controlling_terminal() -> None:
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    process = subprocess.Popen(
        [sys.executable, "-m", "vauth.cli", *args],
        env=env,
        cwd=ROOT,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
        preexec_fn=controlling_terminal,
    )
    os.close(slave)
    shown = bytearray()
    pending = list(answers)

    while True:
        ready, _, _ = select.select([master], [], [], 30)
        assert ready, f"the terminal stayed silent: {shown.decode(errors='replace')}"
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        shown.extend(chunk)
        if pending and pending[0][0] in shown:
            os.write(master, pending.pop(0)[1] + b"\n")
            shown.extend(b"\n")
    os.close(master)
    return process.wait(30), shown.decode(errors="replace")


def test_cli_plaintext_export_on_a_terminal_asks_to_type_plaintext(
    daemon: Daemon, tmp_path: Path
) -> None:
    add_passkey(daemon)
    env = {k: v for k, v in daemon.env.items() if k != "VAUTH_PASSPHRASE"}
    out = tmp_path / "plain.json"
    args = ["export", "--plaintext", "--format", "webdriver", "-o", str(out)]

    code, shown = on_terminal(args, env, [(b"to go on: ", b"yes")])
    assert code == 2 and "every private key" in shown and "nothing was exported" in shown, shown
    assert not out.exists()

    code, shown = on_terminal(
        args,
        env,
        [(b"to go on: ", b"plaintext"), (b"Vault passphrase: ", PASSPHRASE.encode())],
    )
    assert code == 0, shown
    assert PASSPHRASE not in shown  # typed without echo
    assert "privateKey" in json.loads(out.read_text())[0]


def test_cli_export_on_a_terminal_asks_for_the_vault_passphrase(
    daemon: Daemon, tmp_path: Path
) -> None:
    add_passkey(daemon)
    env = {k: v for k, v in daemon.env.items() if k != "VAUTH_PASSPHRASE"}
    out = tmp_path / "e.cxf"
    code, shown = on_terminal(
        ["export", "-o", str(out)],
        env,
        [
            (b"Vault passphrase: ", b"a wrong guess"),
            (b"Passphrase for the export: ", b"export secret"),
            (b"Again: ", b"export secret"),
        ],
    )
    assert code == 5 and "wrong vault passphrase" in shown, shown
    assert not out.exists()
