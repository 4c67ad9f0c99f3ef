"""Fuzz CTAPHID reassembly and dispatch: ``vauth.transport.ctaphid.HidChannelManager``.

An input is cut into 64-byte reports (a shorter tail is a short report) and fed to
``handle_report`` on an event loop, in front of a fresh ``VirtualAuthenticator(seed=1)`` for
CTAPHID_CBOR and its CTAP1/U2F for CTAPHID_MSG. The clock is fake: 0.5 s pass between reports
(so timeouts and LOCK expiry happen), and channel IDs come from a seeded generator (so a
recorded session replays on the same channel). After each report the loop runs until the
request it completed, if any, is answered. Properties:

- ``handle_report`` never raises, and no handler failure is swallowed and logged;
- every report out is 64 bytes; they read back as whole CTAPHID messages, one at a time
  (an init packet, then its continuation packets in sequence), each on a channel the host used;
- an answer other than INIT and ERROR goes to an allocated channel; ERROR carries one known
  error code, KEEPALIVE one known status, CBOR a CtapStatus;
- the manager's state stays coherent (no broadcast or reserved channel allocated, a request
  being reassembled is on an allocated channel and not yet complete), and once the session
  is over and any lock has expired, a new channel can be opened and answers getInfo.
"""

from __future__ import annotations

import asyncio
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common

with _common.instrumented("vauth"):
    from vauth.ctap.status import CtapStatus
    from vauth.transport import ctaphid
    from vauth.transport.ctaphid import (
        BROADCAST_CID,
        REPORT_SIZE,
        RESERVED_CID,
        TYPE_INIT,
        Command,
        HidChannelManager,
        HidError,
        KeepaliveStatus,
    )

import ctap  # after the block: it instruments the same modules itself

TARGET = "ctaphid"
SECONDS_PER_REPORT = 0.5
CHANNEL_SEED = 1
FIRST_CID = int.from_bytes(random.Random(CHANNEL_SEED).randbytes(4), "big")
DRAIN_STEPS = 8
_errors = _common.LoggedErrors("vauth")
_loop = asyncio.new_event_loop()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Host:
    """The host's side: the reports it sent and the device's replies, read back as messages."""

    def __init__(self) -> None:
        self.used: set[int] = set()
        self.messages: list[tuple[int, int, bytes]] = []  # cid, command, payload
        self._partial: tuple[int, int, int, bytearray, int] | None = None  # cid cmd len data seq

    def receive(self, report: bytes) -> None:
        if not isinstance(report, bytes) or len(report) != REPORT_SIZE:
            raise _common.PropertyViolation(f"a report out of {len(report)} bytes")
        cid = int.from_bytes(report[:4], "big")
        if cid not in self.used:
            raise _common.PropertyViolation(
                f"a report on channel {cid:08x}, which the host never used"
            )
        partial = self._partial
        if partial is not None:
            p_cid, command, length, data, seq = partial
            if cid != p_cid or report[4] != seq:
                raise _common.PropertyViolation(
                    "a reply interrupted by another, or out of sequence"
                )
            data += report[5 : 5 + length - len(data)]
            self._partial = (cid, command, length, data, seq + 1)
            self._complete()
            return
        if not report[4] & TYPE_INIT:
            raise _common.PropertyViolation("a reply begins with a continuation packet")
        length = int.from_bytes(report[5:7], "big")
        self._partial = (cid, report[4] & ~TYPE_INIT, length, bytearray(report[7 : 7 + length]), 0)
        self._complete()

    def _complete(self) -> None:
        assert self._partial is not None
        cid, command, length, data, _ = self._partial
        if len(data) == length:
            self.messages.append((cid, command, bytes(data)))
            self._partial = None

    def check_done(self) -> None:
        if self._partial is not None:
            raise _common.PropertyViolation("a reply was left incomplete")


def check_reply(manager: HidChannelManager, cid: int, command: int, payload: bytes) -> None:
    try:
        kind = Command(command)
    except ValueError:
        raise _common.PropertyViolation(f"a reply with command 0x{command:02x}") from None
    if kind is Command.ERROR:
        if len(payload) != 1 or payload[0] not in set(HidError):
            raise _common.PropertyViolation(f"ERROR {payload.hex()}")
        return
    if kind is Command.INIT:
        new_cid = int.from_bytes(payload[8:12], "big")
        if len(payload) != 17 or new_cid in (BROADCAST_CID, RESERVED_CID):
            raise _common.PropertyViolation(f"INIT answered {payload.hex()}")
        return
    if cid not in manager._channels:
        raise _common.PropertyViolation(f"{kind.name} answered on unallocated channel {cid:08x}")
    if kind is Command.KEEPALIVE and (len(payload) != 1 or payload[0] not in set(KeepaliveStatus)):
        raise _common.PropertyViolation(f"KEEPALIVE {payload.hex()}")
    if kind is Command.CBOR:
        ctap.check_response(b"", payload)


def check_state(manager: HidChannelManager) -> None:
    channels = manager._channels
    if BROADCAST_CID in channels or RESERVED_CID in channels:
        raise _common.PropertyViolation("the broadcast or reserved channel was allocated")
    if len(channels) > ctaphid.MAX_CHANNELS:
        raise _common.PropertyViolation("more channels than MAX_CHANNELS")
    assembly = manager._assembly
    if assembly is not None and (
        assembly.cid not in channels or len(assembly.data) >= assembly.length
    ):
        raise _common.PropertyViolation("an impossible request in reassembly")


async def drain(manager: HidChannelManager) -> None:
    for _ in range(DRAIN_STEPS):
        if manager._pending is None:
            return
        await asyncio.sleep(0)


async def feed(manager: HidChannelManager, host: Host, report: bytes) -> None:
    if len(report) >= 5:
        host.used.add(int.from_bytes(report[:4], "big"))
    await manager.handle_report(report)
    await drain(manager)
    _errors.check()


async def session(data: bytes) -> None:
    va = ctap.authenticator()
    host = Host()
    clock = FakeClock()
    rng = random.Random(CHANNEL_SEED)
    manager = HidChannelManager(
        va.aprocess,
        host.receive,
        va.aprocess_apdu,
        clock=clock,
        random_bytes=rng.randbytes,
    )
    try:
        for start in range(0, len(data), REPORT_SIZE):
            clock.now += SECONDS_PER_REPORT
            await feed(manager, host, data[start : start + REPORT_SIZE])
            check_state(manager)
        host.check_done()
        for cid, command, payload in host.messages:
            check_reply(manager, cid, command, payload)
        await alive(manager, host, clock)
    finally:
        await manager.close()
        va.close()


async def alive(manager: HidChannelManager, host: Host, clock: FakeClock) -> None:
    """After any session, a new channel opens and answers getInfo."""
    clock.now += ctaphid.MAX_LOCK_SECONDS + ctaphid.TRANSACTION_TIMEOUT_S + 1
    manager.expire()
    host.messages.clear()
    nonce = b"liveness"
    for report in ctaphid.frame(BROADCAST_CID, Command.INIT, nonce):
        await feed(manager, host, report)
    replies = [m for m in host.messages if m[1] == Command.INIT and m[2][:8] == nonce]
    if not replies:
        raise _common.PropertyViolation(f"no INIT answer after the session: {host.messages}")
    cid = int.from_bytes(replies[-1][2][8:12], "big")
    host.messages.clear()
    for report in ctaphid.frame(cid, Command.CBOR, b"\x04"):
        await feed(manager, host, report)
    answers = [m for m in host.messages if m[0] == cid and m[1] == Command.CBOR]
    if not answers or answers[-1][2][:1] != bytes([CtapStatus.OK]):
        raise _common.PropertyViolation(f"getInfo after the session: {host.messages}")


def test_one_input(data: bytes) -> None:
    with _errors.trapping():
        _loop.run_until_complete(session(data))


if __name__ == "__main__":
    _common.main(TARGET, test_one_input, max_len=16384)
