"""No passphrase or vault key is left in the daemon's memory once it is not needed.

A real `vauth serve` gets a passphrase unique to the test through each way one enters it
(VAUTH_PASSPHRASE, --passphrase-file, the terminal), then is locked, unlocked and given a new
passphrase over its socket. Its whole memory is read through /proc/PID/maps and /proc/PID/mem
and searched for the passphrases (as UTF-8, and as CPython stores a str: Latin-1, UTF-16-LE or
UCS-4), the vault's data key (raw and as the hex text of SQLCipher's key pragma) and the
Argon2id key-encryption keys.

- After start-up: the start-up passphrase is gone (the key file is unwrapped; only the data
  key, which serves the open vault, remains).
- After `lock`: none of it.
- After `passphrase` and `lock`: neither the old passphrase nor the new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import secrets
import select
import termios
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.support import Daemon, environment
from vauth.transport.unix_socket import Client
from vauth.vault import Vault
from vauth.vault.kdf import KdfParams
from vauth.vault.keyfile import KeyFile, keyfile_path

pytestmark = pytest.mark.skipif(
    not os.access("/proc/self/mem", os.R_OK), reason="needs /proc/PID/mem (Linux)"
)


def new_passphrase(flavour: str) -> str:
    """A passphrase no other test or process uses: a hit in memory can only be this one's."""
    core = secrets.token_hex(16)
    return {
        "ascii": f"mem-{core}-ascii",
        "latin-1": f"m\xe9m-{core}-caf\xe9",  # stored by CPython as Latin-1
        "bmp": f"\u043f\u0430\u0440\u043e\u043b\u044c-{core}",  # ... as UTF-16
        "astral": f"\U0001f511-{core}-\U0001f510",  # ... as UCS-4
    }[flavour]


def forms(text: str) -> set[bytes]:
    """Every way ``text`` may sit in memory."""
    found = {text.encode("utf-8"), text.encode("utf-16-le"), text.encode("utf-32-le")}
    with contextlib.suppress(UnicodeEncodeError):
        found.add(text.encode("latin-1"))
    return found


def key_forms(key: bytes | bytearray) -> set[bytes]:
    return {bytes(key), key.hex().encode(), key.hex().upper().encode()}


def memory_hits(pid: int, needles: dict[str, set[bytes]]) -> list[str]:
    """Where any needle occurs in the memory of process ``pid``."""
    hits = []
    with open(f"/proc/{pid}/maps") as maps:
        regions = [line.split() for line in maps]
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for region in regions:
            start, end = (int(x, 16) for x in region[0].split("-"))
            name = region[5] if len(region) > 5 else "anonymous"
            if "r" not in region[1] or name in ("[vvar]", "[vsyscall]"):
                continue
            try:
                mem.seek(start)
                data = mem.read(end - start)
            except OSError:
                continue
            for label, variants in needles.items():
                for needle in variants:
                    at = data.find(needle)
                    if at >= 0:
                        hits.append(f"{label} at {start + at:#x} ({name})")
    return hits


async def _call(daemon: Daemon, action: str, **params: Any) -> dict[str, Any]:
    client = await Client.connect(daemon.socket)
    try:
        return await client.call(action, **params)
    finally:
        await client.close()


def call(daemon: Daemon, action: str, **params: Any) -> Any:
    reply = asyncio.run(_call(daemon, action, **params))
    assert reply["ok"], reply
    return reply["result"]


def start_on_terminal(base: Path, env: dict[str, str], passphrase: str) -> Daemon:
    """`vauth serve` with a pseudo-terminal as its controlling terminal, typing the passphrase
    at its prompt as a person would."""
    master, slave = pty.openpty()

    def controlling_terminal() -> None:  # in the child, after setsid
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    typed = bytearray()

    def type_when_asked() -> None:
        while b"passphrase: " not in typed:
            ready, _, _ = select.select([master], [], [], 30)
            assert ready, f"no prompt on the terminal: {typed!r}"
            typed.extend(os.read(master, 1024))
        os.write(master, passphrase.encode() + b"\n")

    typist = threading.Thread(target=type_when_asked, daemon=True)
    typist.start()
    try:
        return Daemon(
            base,
            "--presence",
            "auto",
            env=env,
            stdin=slave,
            start_new_session=True,
            preexec_fn=controlling_terminal,
        )
    finally:
        typist.join(30)
        os.close(slave)


def _run(tmp_path: Path, entry: str, flavour: str, keks: bool) -> None:
    """Start, lock, unlock, change the passphrase, lock, looking in the daemon's memory after
    each step; ``keks``: look for the Argon2id key-encryption keys too."""
    first, second = new_passphrase(flavour), new_passphrase(flavour)
    env = environment(tmp_path, first)
    vault = Path(env["XDG_DATA_HOME"]) / "vauth" / "vault.db"
    Vault.open(vault, first, kdf=KdfParams(os.urandom(16), opslimit=1, memlimit=8 << 20)).close()
    keyfile = KeyFile.read(keyfile_path(vault))
    data_key = keyfile.unwrap(first)
    kek = keyfile.kdf.derive(first) if keks else bytearray()

    extra: list[str] = []
    if entry != "environment":
        del env["VAUTH_PASSPHRASE"]
    if entry == "file":
        (tmp_path / "passphrase").write_bytes(first.encode() + b"\n")
        extra = ["--passphrase-file", str(tmp_path / "passphrase")]
    if entry == "terminal":
        daemon = start_on_terminal(tmp_path, env, first)
    else:
        daemon = Daemon(tmp_path, "--presence", "auto", *extra, env=env)
    pid = daemon.process.pid
    try:
        started = memory_hits(pid, {"start-up passphrase": forms(first)})
        assert started == [], started

        call(daemon, "lock")
        needles = {"passphrase": forms(first), "data key": key_forms(data_key)}
        if keks:
            needles["key-encryption key"] = key_forms(kek)
        locked = memory_hits(pid, needles)
        assert locked == [], locked

        call(daemon, "unlock", passphrase=first)
        call(daemon, "passphrase", old=first, new=second)
        call(daemon, "lock")
        needles = {
            "old passphrase": forms(first),
            "new passphrase": forms(second),
            "data key": key_forms(data_key),
        }
        if keks:
            needles["old key-encryption key"] = key_forms(kek)
            needles["new key-encryption key"] = key_forms(
                KeyFile.read(keyfile_path(vault)).kdf.derive(second)
            )
        changed = memory_hits(pid, needles)
        assert changed == [], changed

        call(daemon, "unlock", passphrase=second)  # the new passphrase is the one that works
        assert call(daemon, "status")["vault"]["locked"] is False
    finally:
        daemon.stop()


@pytest.mark.parametrize(
    ("entry", "flavour"),
    [
        ("environment", "ascii"),
        ("environment", "astral"),
        ("file", "latin-1"),
        ("file", "bmp"),
        ("terminal", "bmp"),
    ],
)
def test_no_passphrase_or_data_key_in_memory_after_lock(
    tmp_path: Path, entry: str, flavour: str
) -> None:
    _run(tmp_path, entry, flavour, keks=False)


def test_no_key_encryption_key_in_memory_after_lock(tmp_path: Path) -> None:
    """The Argon2id output is gone after `lock`. It used to stay on the stack of the thread
    that unwrapped the data key (8 KiB from its top, after every start): OpenSSL's AES-NI key
    setup leaves the key in vector registers, which the C library saves on the stack as they
    are; and libsodium's BLAKE2b leaves its output in a stack buffer it never clears
    (vauth/vault/kdf.py, forget_aes_key and scrub_stack)."""
    _run(tmp_path, "environment", "ascii", keks=True)
