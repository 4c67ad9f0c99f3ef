"""CTAPHID, the USB HID framing of CTAP (FIDO CTAP 2.1 section 11.2): 64-byte reports in and out.

``HidChannelManager`` is the device side without the device: whatever reads reports (the uhid
backend, a test's loopback) feeds them to :meth:`HidChannelManager.handle_report`, and the
replies go to a ``send`` callback. CTAP2 messages (CTAPHID_CBOR) go to an async ``process``
callable, CTAP1/U2F APDUs (CTAPHID_MSG) to an async ``apdu`` one. Those two run as tasks, so
that CANCEL, INIT and the keepalives interleave with a request that waits for the user.

One transaction at a time (section 11.2.4): while a channel reassembles a request or waits for
its answer, other channels are told ERR_CHANNEL_BUSY; INIT is always answered.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import IntEnum, IntFlag

from vauth.ctap.config import CTAPHID_MAX_MESSAGE
from vauth.ctap.ports import PresenceRequest, PresenceResponse, UserPresence
from vauth.ctap.status import CtapStatus

logger = logging.getLogger(__name__)

REPORT_SIZE = 64
INIT_DATA_SIZE = REPORT_SIZE - 7  # CID(4) | CMD(1) | BCNT(2) | data
CONT_DATA_SIZE = REPORT_SIZE - 5  # CID(4) | SEQ(1) | data
BROADCAST_CID = 0xFFFFFFFF
RESERVED_CID = 0
TYPE_INIT = 0x80
PROTOCOL_VERSION = 2
DEVICE_VERSION = (0, 1, 0)  # major, minor, build: vendor-defined
INIT_NONCE_LENGTH = 8
MAX_LOCK_SECONDS = 10
MAX_CHANNELS = 1024  # most recently used channels kept; a forgotten one gets INVALID_CHANNEL
TRANSACTION_TIMEOUT_S = 3.0  # between the packets of one request
KEEPALIVE_INTERVAL_S = 0.1  # section 11.2.9.1.7: at least every 100 ms


class Command(IntEnum):
    """CTAPHID commands (section 11.2.9), without the init-packet bit."""

    PING = 0x01
    MSG = 0x03
    LOCK = 0x04
    INIT = 0x06
    WINK = 0x08
    CBOR = 0x10
    CANCEL = 0x11
    KEEPALIVE = 0x3B
    ERROR = 0x3F


class HidError(IntEnum):
    """CTAPHID_ERROR codes (section 11.2.9.1.6)."""

    INVALID_CMD = 0x01
    INVALID_PAR = 0x02
    INVALID_LEN = 0x03
    INVALID_SEQ = 0x04
    MSG_TIMEOUT = 0x05
    CHANNEL_BUSY = 0x06
    LOCK_REQUIRED = 0x0A
    INVALID_CHANNEL = 0x0B
    OTHER = 0x7F


class KeepaliveStatus(IntEnum):
    PROCESSING = 0x01
    UPNEEDED = 0x02


class Capability(IntFlag):
    WINK = 0x01
    CBOR = 0x04
    NMSG = 0x08  # no CTAPHID_MSG: no CTAP1/U2F


Handler = Callable[[bytes], Awaitable[bytes]]
Send = Callable[[bytes], None]


def frame(cid: int, command: int, payload: bytes) -> list[bytes]:
    """One message as reports: an init packet, then continuation packets with SEQ 0, 1, ..."""
    if len(payload) > CTAPHID_MAX_MESSAGE:
        raise ValueError(f"a CTAPHID message holds at most {CTAPHID_MAX_MESSAGE} bytes")
    header = cid.to_bytes(4, "big") + bytes([TYPE_INIT | command]) + len(payload).to_bytes(2, "big")
    reports = [(header + payload[:INIT_DATA_SIZE]).ljust(REPORT_SIZE, b"\0")]
    rest = payload[INIT_DATA_SIZE:]
    for seq, start in enumerate(range(0, len(rest), CONT_DATA_SIZE)):
        chunk = rest[start : start + CONT_DATA_SIZE]
        reports.append((cid.to_bytes(4, "big") + bytes([seq]) + chunk).ljust(REPORT_SIZE, b"\0"))
    return reports


class TrackingPresence:
    """A UserPresence that remembers whether it is waiting for the user, so that keepalives can
    say UPNEEDED rather than PROCESSING: ``up_needed=tracking.waiting``."""

    def __init__(self, inner: UserPresence) -> None:
        self.inner = inner
        self._waiting = 0

    def waiting(self) -> bool:
        return self._waiting > 0

    async def confirm(self, request: PresenceRequest) -> PresenceResponse:
        self._waiting += 1
        try:
            return await self.inner.confirm(request)
        finally:
            self._waiting -= 1


@dataclass(slots=True)
class _Assembly:
    """A request being reassembled from its packets."""

    cid: int
    command: Command
    length: int
    data: bytearray
    seq: int  # the next continuation packet's
    deadline: float


@dataclass(slots=True)
class _Pending:
    """A CBOR or MSG request being answered."""

    cid: int
    command: Command
    work: asyncio.Future[bytes]
    runner: asyncio.Task[None] | None = None


class HidChannelManager:
    """A CTAPHID device: channels, reassembly, dispatch, keepalives, CANCEL, LOCK."""

    def __init__(
        self,
        process: Handler,
        send: Send,
        apdu: Handler | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        random_bytes: Callable[[int], bytes] = os.urandom,
        up_needed: Callable[[], bool] | None = None,
        wink: Callable[[], None] | None = None,
        device_version: tuple[int, int, int] = DEVICE_VERSION,
        transaction_timeout: float = TRANSACTION_TIMEOUT_S,
        keepalive_interval: float = KEEPALIVE_INTERVAL_S,
    ) -> None:
        self._process = process
        self._send_report = send
        self._apdu = apdu
        self._clock = clock
        self._random_bytes = random_bytes
        self._up_needed = up_needed
        self._wink = wink
        self._device_version = device_version
        self._transaction_timeout = transaction_timeout
        self._keepalive_interval = keepalive_interval
        self._channels: OrderedDict[int, None] = OrderedDict()
        self._assembly: _Assembly | None = None
        self._pending: _Pending | None = None
        self._lock: tuple[int, float] | None = None  # channel, until
        self._timer: asyncio.TimerHandle | None = None

    @property
    def capabilities(self) -> Capability:
        capabilities = Capability.WINK | Capability.CBOR
        return capabilities if self._apdu is not None else capabilities | Capability.NMSG

    @property
    def busy(self) -> bool:
        return self._assembly is not None or self._pending is not None

    # -- input ----------------------------------------------------------------------------------

    async def handle_report(self, report: bytes) -> None:
        """One report from the host (64 bytes; a shorter one is read as zero-padded)."""
        if len(report) < 5:
            logger.debug("ignoring a %d-byte report", len(report))
            return
        report = bytes(report[:REPORT_SIZE]).ljust(REPORT_SIZE, b"\0")
        self.expire()
        cid = int.from_bytes(report[:4], "big")
        locked = self._locked_channel()
        if locked is not None and cid != locked:
            if report[4] & TYPE_INIT:
                self._error(cid, HidError.CHANNEL_BUSY)
            return
        if report[4] & TYPE_INIT:
            length = int.from_bytes(report[5:7], "big")
            self._init_packet(cid, report[4] & ~TYPE_INIT, length, report[7:])
        else:
            self._continuation_packet(cid, report[4], report[5:])

    def expire(self) -> None:
        """Drop a request whose next packet is overdue, with ERR_MSG_TIMEOUT. A timer calls this;
        every report does too, so that a test's clock needs no loop time."""
        assembly = self._assembly
        if assembly is not None and self._clock() >= assembly.deadline:
            self._drop_assembly()
            self._error(assembly.cid, HidError.MSG_TIMEOUT)

    async def close(self) -> None:
        """Abandon whatever is in progress, without answering it."""
        self._drop_assembly()
        pending, self._pending = self._pending, None
        if pending is not None:
            await _cancel(pending)

    def _init_packet(self, cid: int, command_byte: int, length: int, data: bytes) -> None:
        try:
            command = Command(command_byte)
        except ValueError:
            command = None
        if command is Command.INIT:
            self._init(cid, length, data[:length])
            return
        if command is Command.CANCEL:
            self._cancel(cid)
            return
        if cid in (BROADCAST_CID, RESERVED_CID) or cid not in self._channels:
            self._error(cid, HidError.INVALID_CHANNEL)
            return
        self._channels.move_to_end(cid)
        busy_cid = self._busy_channel()
        if busy_cid is not None:
            if self._assembly is not None and busy_cid == cid:
                # A new request before the last packet of the previous one (section 11.2.4).
                self._drop_assembly()
                self._error(cid, HidError.INVALID_SEQ)
            else:
                self._error(cid, HidError.CHANNEL_BUSY)
            return
        if command is None or command in (Command.KEEPALIVE, Command.ERROR):
            self._error(cid, HidError.INVALID_CMD)
            return
        if command is Command.MSG and self._apdu is None:
            self._error(cid, HidError.INVALID_CMD)
            return
        if length > CTAPHID_MAX_MESSAGE:
            self._error(cid, HidError.INVALID_LEN)
            return
        if length <= INIT_DATA_SIZE:
            self._dispatch(cid, command, data[:length])
            return
        deadline = self._clock() + self._transaction_timeout
        self._assembly = _Assembly(cid, command, length, bytearray(data), 0, deadline)
        self._arm_timer()

    def _continuation_packet(self, cid: int, seq: int, data: bytes) -> None:
        assembly = self._assembly
        if assembly is None or assembly.cid != cid:
            return  # spurious: no request of this channel is being reassembled
        if seq != assembly.seq:
            self._drop_assembly()
            self._error(cid, HidError.INVALID_SEQ)
            return
        assembly.seq += 1
        assembly.deadline = self._clock() + self._transaction_timeout
        assembly.data += data[: assembly.length - len(assembly.data)]
        if len(assembly.data) == assembly.length:
            self._drop_assembly()
            self._dispatch(cid, assembly.command, bytes(assembly.data))

    def _busy_channel(self) -> int | None:
        if self._assembly is not None:
            return self._assembly.cid
        if self._pending is not None:
            return self._pending.cid
        return None

    def _locked_channel(self) -> int | None:
        if self._lock is not None and self._clock() >= self._lock[1]:
            self._lock = None
        return None if self._lock is None else self._lock[0]

    # -- commands -------------------------------------------------------------------------------

    def _init(self, cid: int, length: int, nonce: bytes) -> None:
        """CTAPHID_INIT (section 11.2.9.1.3): on the broadcast channel, allocate a channel; on an
        allocated one, abandon its transaction and answer with the same channel."""
        if length != INIT_NONCE_LENGTH:
            self._error(cid, HidError.INVALID_LEN)
            return
        if cid == BROADCAST_CID:
            new_cid = self._allocate()
        elif cid != RESERVED_CID and cid in self._channels:
            self._channels.move_to_end(cid)
            new_cid = cid
            self._resync(cid)
        else:
            self._error(cid, HidError.INVALID_CHANNEL)
            return
        major, minor, build = self._device_version
        payload = (
            nonce
            + new_cid.to_bytes(4, "big")
            + bytes([PROTOCOL_VERSION, major, minor, build, self.capabilities])
        )
        self._send(cid, Command.INIT, payload)

    def _allocate(self) -> int:
        while True:
            cid = int.from_bytes(self._random_bytes(4), "big")
            if cid not in (BROADCAST_CID, RESERVED_CID) and cid not in self._channels:
                break
        self._channels[cid] = None
        if len(self._channels) > MAX_CHANNELS:
            self._channels.popitem(last=False)
        return cid

    def _resync(self, cid: int) -> None:
        if self._assembly is not None and self._assembly.cid == cid:
            self._drop_assembly()
        pending = self._pending
        if pending is not None and pending.cid == cid:
            self._pending = None
            _stop(pending)

    def _cancel(self, cid: int) -> None:
        """CTAPHID_CANCEL (section 11.2.9.1.5): never answered itself; the pending CBOR request
        answers CTAP2_ERR_KEEPALIVE_CANCEL. Ignored on any other channel or with none pending."""
        pending = self._pending
        if pending is not None and pending.cid == cid and pending.command is Command.CBOR:
            pending.work.cancel()

    def _dispatch(self, cid: int, command: Command, payload: bytes) -> None:
        if command is Command.PING:
            self._send(cid, Command.PING, payload)
        elif command is Command.WINK:
            if payload:
                self._error(cid, HidError.INVALID_LEN)
                return
            if self._wink is not None:
                self._wink()
            self._send(cid, Command.WINK, b"")
        elif command is Command.LOCK:
            self._lock_channel(cid, payload)
        elif command is Command.CBOR:
            if not payload:
                self._error(cid, HidError.INVALID_LEN)
                return
            self._start(cid, command, self._process, payload)
        elif command is Command.MSG and self._apdu is not None:
            self._start(cid, command, self._apdu, payload)
        else:
            self._error(cid, HidError.INVALID_CMD)

    def _lock_channel(self, cid: int, payload: bytes) -> None:
        """CTAPHID_LOCK (section 11.2.9.2.2): only this channel for N seconds; 0 unlocks."""
        if len(payload) != 1:
            self._error(cid, HidError.INVALID_LEN)
            return
        seconds = payload[0]
        if seconds > MAX_LOCK_SECONDS:
            self._error(cid, HidError.INVALID_PAR)
            return
        self._lock = None if seconds == 0 else (cid, self._clock() + seconds)
        self._send(cid, Command.LOCK, b"")

    def _start(self, cid: int, command: Command, handler: Handler, payload: bytes) -> None:
        pending = _Pending(cid, command, asyncio.ensure_future(handler(payload)))
        self._pending = pending
        pending.runner = asyncio.ensure_future(self._answer(pending))

    async def _answer(self, pending: _Pending) -> None:
        """Keepalives while the request works, then its answer (unless INIT abandoned it)."""
        work = pending.work
        try:
            while not work.done():
                await asyncio.wait({work}, timeout=self._keepalive_interval)
                if not work.done():
                    self._send(pending.cid, Command.KEEPALIVE, bytes([self._keepalive_status()]))
        finally:
            work.cancel()  # no-op once done; stops the work if this answer was abandoned
            if self._pending is pending:
                self._pending = None
        if work.cancelled():
            self._fail(pending, CtapStatus.KEEPALIVE_CANCEL)
            return
        exc = work.exception()
        if exc is not None:
            logger.error("CTAPHID %s handler failed", pending.command.name, exc_info=exc)
            self._error(pending.cid, HidError.OTHER)
            return
        response = work.result()
        if len(response) > CTAPHID_MAX_MESSAGE:
            logger.error("a %d-byte %s response does not fit", len(response), pending.command.name)
            self._fail(pending, CtapStatus.OTHER)
            return
        self._send(pending.cid, pending.command, response)

    def _fail(self, pending: _Pending, status: CtapStatus) -> None:
        """A CBOR request gets ``status`` as its answer; an MSG one gets ERR_OTHER."""
        if pending.command is Command.CBOR:
            self._send(pending.cid, Command.CBOR, bytes([status]))
        else:
            self._error(pending.cid, HidError.OTHER)

    def _keepalive_status(self) -> KeepaliveStatus:
        if self._up_needed is not None and self._up_needed():
            return KeepaliveStatus.UPNEEDED
        return KeepaliveStatus.PROCESSING

    # -- output and timers ----------------------------------------------------------------------

    def _send(self, cid: int, command: Command, payload: bytes) -> None:
        for report in frame(cid, command, payload):
            self._send_report(report)

    def _error(self, cid: int, error: HidError) -> None:
        logger.debug("CTAPHID channel %08x: %s", cid, error.name)
        self._send(cid, Command.ERROR, bytes([error]))

    def _drop_assembly(self) -> None:
        self._assembly = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm_timer(self) -> None:
        assembly = self._assembly
        if assembly is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # driven without a loop: expire() is called by hand
        if self._timer is not None:
            self._timer.cancel()
        delay = max(assembly.deadline - self._clock(), 0.0)
        self._timer = loop.call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self.expire()
        self._arm_timer()  # the deadline moved with a later packet, or the clock is a test's


def _stop(pending: _Pending) -> None:
    pending.work.cancel()
    if pending.runner is not None:
        pending.runner.cancel()


async def _cancel(pending: _Pending) -> None:
    """Stop a request and wait until its tasks are done."""
    _stop(pending)
    tasks = [pending.work] if pending.runner is None else [pending.work, pending.runner]
    await asyncio.gather(*tasks, return_exceptions=True)
