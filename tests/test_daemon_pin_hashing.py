"""A PIN check's Argon2id runs off the daemon's event loop (issue 10, item 11).

CTAP 2.1 section 6.5.5.5 (getPinToken) and 6.5.5.7 (getPinUvAuthTokenUsingPinWithPermissions):
"Authenticator verifies pinHashEnc" against the stored PIN hash; vauth keeps that hash as
Argon2id(LEFT(SHA-256(PIN), 16), salt), 15-50 ms of work that must not stall the loop serving
every other client. python-fido2's ClientPin drives the daemon's real socket (its ``ctap``
action) from a thread, while the daemon runs on this test's event loop.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import socket
import threading
from pathlib import Path
from typing import Any

import nacl.pwhash
import pytest
from fido2.ctap import CtapDevice, CtapError
from fido2.ctap2 import Ctap2
from fido2.ctap2.pin import ClientPin
from fido2.hid import CAPABILITY, CTAPHID

from vauth.daemon import root as daemon
from vauth.transport import framing

PIN = "4321"


class SocketCtapDevice(CtapDevice):
    """python-fido2's device, speaking CTAP2 through the daemon socket's ``ctap`` action."""

    def __init__(self, path: Path) -> None:
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._socket.connect(str(path))
        self._ids = itertools.count(1)

    @property
    def capabilities(self) -> int:
        return int(CAPABILITY.CBOR)

    def call(
        self, cmd: int, data: bytes = b"", event: Any = None, on_keepalive: Any = None
    ) -> bytes:
        assert cmd == CTAPHID.CBOR
        message = base64.b64encode(data).decode()
        request = {"id": next(self._ids), "action": "ctap", "params": {"message": message}}
        self._socket.sendall(framing.encode(request))
        reply = framing.decode(self._read(framing.frame_length(self._read(4))))
        assert reply["ok"], reply
        return base64.b64decode(reply["result"]["response"])

    def _read(self, length: int) -> bytes:
        data = b""
        while len(data) < length:
            chunk = self._socket.recv(length - len(data))
            assert chunk, "the daemon closed the connection"
            data += chunk
        return data

    def close(self) -> None:
        self._socket.close()

    @classmethod
    def list_devices(cls) -> Any:
        return iter(())


def pin_ceremonies(path: Path) -> None:
    """Set a PIN, use it three times, get it wrong once (each a full Argon2id)."""
    device = SocketCtapDevice(path)
    try:
        client_pin = ClientPin(Ctap2(device))
        client_pin.set_pin(PIN)
        for _ in range(3):
            client_pin.get_pin_token(PIN, ClientPin.PERMISSION.GET_ASSERTION, "example.com")
        with pytest.raises(CtapError) as wrong:
            client_pin.get_pin_token("9999", ClientPin.PERMISSION.GET_ASSERTION, "example.com")
        assert wrong.value.code == CtapError.ERR.PIN_INVALID
    finally:
        device.close()


def test_pin_hashing_leaves_the_event_loop_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed_on: list[int] = []  # the thread of every Argon2id
    loop_answered: list[bool] = []  # did the loop run a callback while a hash was under way
    loop_thread = threading.get_ident()
    real_kdf = nacl.pwhash.argon2id.kdf

    def recording_kdf(*args: Any, **kwargs: Any) -> bytes:
        hashed_on.append(threading.get_ident())
        if threading.get_ident() != loop_thread:
            answered = threading.Event()
            loop.call_soon_threadsafe(answered.set)
            loop_answered.append(answered.wait(30))
        result: bytes = real_kdf(*args, **kwargs)
        return result

    monkeypatch.setattr(nacl.pwhash.argon2id, "kdf", recording_kdf)
    settings = daemon.Settings(
        vault=None,  # --ephemeral: the PIN lives in memory; the vault's PIN is hashed alike
        passphrase=None,
        socket=tmp_path / "run" / "vauth.sock",
        http=None,
        token_file=tmp_path / "token",
        presence="auto",
    )

    async def run() -> None:
        ready = asyncio.Event()
        serving = asyncio.create_task(daemon.serve(settings, ready))
        await ready.wait()
        try:
            await asyncio.to_thread(pin_ceremonies, settings.socket)
        finally:
            serving.cancel()
            with pytest.raises(asyncio.CancelledError):
                await serving

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(run())
    finally:
        loop.close()
    assert len(hashed_on) == 5, "set, three good PINs and one wrong one: five hashes"
    assert loop_thread not in hashed_on, "a PIN was hashed on the daemon's event loop"
    assert loop_answered == [True] * 5
