"""Test doubles and adapters in one place: for vauth's own tests and for relying parties'.

``VauthCtapDevice`` lets python-fido2 (``Ctap2``, ``Fido2Client``) talk to a
``VirtualAuthenticator`` as if it were a USB security key.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator
from threading import Event
from typing import Any

from fido2.ctap import CtapDevice, CtapError
from fido2.hid import CAPABILITY, CTAPHID, CtapHidDevice
from fido2.hid.base import CtapHidConnection, HidDescriptor

from vauth.app.keys import RandomKeySource
from vauth.app.presence import AutoPresence, DenyPresence, ScriptedPresence
from vauth.app.store import InMemoryStore
from vauth.ctap.cose import Algorithm, CoseKey
from vauth.ctap.pin_state import InlinePinHasher
from vauth.testing.virtual import VirtualAuthenticator
from vauth.transport.ctaphid import HidChannelManager

__all__ = [
    "AutoPresence",
    "DenyPresence",
    "FakeClock",
    "HidLoopbackConnection",
    "InMemoryStore",
    "InlinePinHasher",
    "ScriptedKeySource",
    "ScriptedPresence",
    "VauthCtapDevice",
    "open_hid_device",
]

HID_TIMEOUT_S = 10.0
HID_DESCRIPTOR = HidDescriptor("vauth-loopback", 0x1209, 0x0001, 64, 64, "vauth", None)


class VauthCtapDevice(CtapDevice):
    """A ``fido2.ctap.CtapDevice`` backed by a VirtualAuthenticator (CBOR, MSG and PING)."""

    def __init__(self, authenticator: VirtualAuthenticator | None = None) -> None:
        self.authenticator = authenticator or VirtualAuthenticator()

    @property
    def capabilities(self) -> int:
        return int(CAPABILITY.CBOR)

    def call(
        self,
        cmd: int,
        data: bytes = b"",
        event: Event | None = None,
        on_keepalive: Any = None,
    ) -> bytes:
        if cmd == CTAPHID.CBOR:
            return self.authenticator.process(data)
        if cmd == CTAPHID.MSG:  # CTAP1/U2F
            return self.authenticator.process_apdu(data)
        if cmd == CTAPHID.PING:
            return data
        raise CtapError(CtapError.ERR.INVALID_COMMAND)

    def close(self) -> None:
        self.authenticator.close()

    @classmethod
    def list_devices(cls) -> Iterator[VauthCtapDevice]:
        return iter(())


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, now_ms: int = 1_700_000_000_000, monotonic: float = 1000.0) -> None:
        self._now_ms = now_ms
        self._monotonic = monotonic

    def now_ms(self) -> int:
        return self._now_ms

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        self._monotonic += seconds
        self._now_ms += int(seconds * 1000)


class ScriptedKeySource:
    """Hands out given keys and credential IDs first (spec vectors), then random ones."""

    def __init__(
        self,
        keys: Iterable[CoseKey] = (),
        credential_ids: Iterable[bytes] = (),
        random: Iterable[bytes] = (),
    ) -> None:
        self._keys = deque(keys)
        self._ids = deque(credential_ids)
        self._random = deque(random)
        self._fallback = RandomKeySource()

    def random_bytes(self, length: int) -> bytes:
        if self._random and len(self._random[0]) == length:
            return self._random.popleft()
        return self._fallback.random_bytes(length)

    def new_credential_id(self) -> bytes:
        return self._ids.popleft() if self._ids else self._fallback.new_credential_id()

    def generate_key(self, algorithm: Algorithm) -> CoseKey:
        if self._keys and self._keys[0].algorithm == algorithm:
            return self._keys.popleft()
        return self._fallback.generate_key(algorithm)

    def attestation_source(self) -> ScriptedKeySource:
        return self  # the script's order is the vectors' order


class HidLoopbackConnection(CtapHidConnection):
    """python-fido2's side of vauth's CTAPHID device, in memory: the device runs on an event
    loop in a thread; ``write_packet`` feeds it 64-byte reports, ``read_packet`` takes its."""

    def __init__(
        self,
        process: Callable[[bytes], Awaitable[bytes]],
        apdu: Callable[[bytes], Awaitable[bytes]] | None = None,
        **options: Any,
    ) -> None:
        self.replies: queue.Queue[bytes] = queue.Queue()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.device = HidChannelManager(process, self.replies.put, apdu, **options)

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(HID_TIMEOUT_S)

    def write_packet(self, data: bytes) -> None:
        self.run(self.device.handle_report(data))

    def read_packet(self) -> bytes:
        return self.replies.get(timeout=HID_TIMEOUT_S)

    def close(self) -> None:
        if self.loop.is_closed():
            return
        self.run(self.device.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(HID_TIMEOUT_S)
        self.loop.close()


def open_hid_device(
    authenticator: VirtualAuthenticator,
) -> tuple[CtapHidDevice, HidLoopbackConnection]:
    """A python-fido2 ``CtapHidDevice`` speaking CTAPHID (CBOR and U2F) to ``authenticator``."""
    connection = HidLoopbackConnection(authenticator.aprocess, authenticator.aprocess_apdu)
    return CtapHidDevice(HID_DESCRIPTOR, connection), connection
