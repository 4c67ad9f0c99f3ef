"""CTAPHID: python-fido2's own HID client against HidChannelManager, and raw reports for the
corners a well-behaved client never reaches; the uhid backend's pure parts."""

from __future__ import annotations

import asyncio
import hashlib
import os
import struct
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from fido2.client import DefaultClientDataCollector, Fido2Client
from fido2.ctap import STATUS, CtapError
from fido2.ctap2 import Ctap2
from fido2.hid import CAPABILITY, CTAPHID, CtapHidDevice
from fido2.hid.base import HidDescriptor, parse_report_descriptor
from fido2.server import Fido2Server
from fido2.webauthn import (
    AuthenticatorData,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialUserEntity,
)

from vauth import VirtualAuthenticator
from vauth.ctap import cbor
from vauth.ctap.ctap1 import process_apdu
from vauth.ctap.ports import PresenceRequest, PresenceResponse
from vauth.testing.doubles import FakeClock, HidLoopbackConnection
from vauth.transport import uhid
from vauth.transport.ctaphid import (
    BROADCAST_CID,
    DEVICE_VERSION,
    TRANSACTION_TIMEOUT_S,
    Command,
    HidChannelManager,
    HidError,
    KeepaliveStatus,
    TrackingPresence,
    frame,
)

TIMEOUT = 10.0
DESCRIPTOR = HidDescriptor("vauth-loopback", 0x1209, 0x0001, 64, 64, "vauth", None)
RP = {"id": "example.com", "name": "Example"}
USER = {"id": b"user-1", "name": "alice", "displayName": "Alice"}
ES256: list[Mapping[str, Any]] = [{"type": "public-key", "alg": -7}]


# -- fakes ----------------------------------------------------------------------------------------


class GatedPresence:
    """Presence that waits until the test answers (from any thread); records cancellation."""

    def __init__(self) -> None:
        self.asked = threading.Event()
        self.cancelled = threading.Event()
        self.requests: list[PresenceRequest] = []
        self._future: asyncio.Future[PresenceResponse] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def confirm(self, request: PresenceRequest) -> PresenceResponse:
        self._loop = asyncio.get_running_loop()
        self._future = self._loop.create_future()
        self.requests.append(request)
        self.asked.set()
        try:
            return await self._future
        except asyncio.CancelledError:
            self.cancelled.set()
            raise

    def answer(self, present: bool) -> None:
        assert self._loop is not None and self._future is not None
        response = PresenceResponse(present, present)
        self._loop.call_soon_threadsafe(self._future.set_result, response)


class LoopbackConnection(HidLoopbackConnection):
    """vauth.testing's loopback, plus raw access to the reports."""

    def raw(self, cid: int, command: int, payload: bytes) -> list[Message]:
        """Send a request as raw reports; return the messages answered at once."""
        for report in frame(cid, command, payload):
            self.write_packet(report)
        reports = []
        while not self.replies.empty():
            reports.append(self.replies.get_nowait())
        return messages(reports)


@dataclass(frozen=True)
class Message:
    cid: int
    command: int
    payload: bytes


def messages(reports: list[bytes]) -> list[Message]:
    """Reassemble the device's reports (checking their framing) into messages."""
    out: list[Message] = []
    current: tuple[int, int, int, bytearray, int] | None = None
    for report in reports:
        assert len(report) == 64
        cid = int.from_bytes(report[:4], "big")
        if current is None:
            assert report[4] & 0x80, "a message must start with an init packet"
            length = int.from_bytes(report[5:7], "big")
            current = (cid, report[4] & 0x7F, length, bytearray(report[7:]), 0)
        else:
            assert cid == current[0] and report[4] == current[4], "continuation out of order"
            current[3].extend(report[5:])
            current = (*current[:4], current[4] + 1)
        if len(current[3]) >= current[2]:
            out.append(Message(current[0], current[1], bytes(current[3][: current[2]])))
            current = None
    assert current is None, "a message was left incomplete"
    return out


def init_report(cid: int, command: int, length: int, data: bytes = b"") -> bytes:
    header = cid.to_bytes(4, "big") + bytes([0x80 | command]) + length.to_bytes(2, "big")
    return (header + data).ljust(64, b"\0")


def cont_report(cid: int, seq: int, data: bytes = b"") -> bytes:
    return (cid.to_bytes(4, "big") + bytes([seq]) + data).ljust(64, b"\0")


def error(cid: int, code: HidError) -> Message:
    return Message(cid, Command.ERROR, bytes([code]))


class Harness:
    """A HidChannelManager driven on the test's own loop, its reports in a list."""

    def __init__(self, process: Callable[[bytes], Awaitable[bytes]] | None = None, **kw: Any):
        self.reports: list[bytes] = []
        self.device = HidChannelManager(process or echo, self.reports.append, **kw)

    async def feed(self, *reports: bytes) -> None:
        for report in reports:
            await self.device.handle_report(report)

    async def request(self, cid: int, command: int, payload: bytes = b"") -> list[Message]:
        await self.feed(*frame(cid, command, payload))
        return self.take()

    async def answer(self) -> list[Message]:
        """Wait for a final answer (anything but a keepalive); return it with what came first."""
        await eventually(
            lambda: any(m.command != Command.KEEPALIVE for m in messages(list(self.reports)))
        )
        return self.take()

    def take(self) -> list[Message]:
        reports = list(self.reports)
        self.reports.clear()
        return messages(reports)

    async def open_channel(self) -> int:
        nonce = os.urandom(8)
        [reply] = await self.request(BROADCAST_CID, Command.INIT, nonce)
        assert reply.command == Command.INIT and reply.payload[:8] == nonce
        return int.from_bytes(reply.payload[8:12], "big")


async def eventually(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.005)


async def echo(message: bytes) -> bytes:
    return b"\x00" + message


def make_credential_request() -> bytes:
    params = {1: hashlib.sha256(b"cd").digest(), 2: RP, 3: USER, 4: ES256}
    return b"\x01" + cbor.encode(params)


# -- python-fido2's CtapHidDevice over the loopback --------------------------------------------


@pytest.fixture
def loopback(va: VirtualAuthenticator) -> Iterator[LoopbackConnection]:
    connection = LoopbackConnection(va.aprocess, partial(process_apdu, va.authenticator))
    yield connection
    connection.close()


@pytest.fixture
def device(loopback: LoopbackConnection) -> CtapHidDevice:
    return CtapHidDevice(DESCRIPTOR, loopback)


def test_init_reports_the_protocol_and_capabilities(device: CtapHidDevice) -> None:
    assert device.version == 2
    assert device.device_version == DEVICE_VERSION
    assert device.capabilities == CAPABILITY.WINK | CAPABILITY.CBOR  # MSG is there: no NMSG


@pytest.mark.parametrize("size", [0, 1, 57, 58, 116, 117, 1000, 7609])
def test_ping_echoes_across_packets(device: CtapHidDevice, size: int) -> None:
    data = os.urandom(size)
    assert device.ping(data) == data


def test_wink_calls_back_and_answers_empty(va: VirtualAuthenticator) -> None:
    winks: list[None] = []
    connection = LoopbackConnection(va.aprocess, wink=lambda: winks.append(None))
    try:
        device = CtapHidDevice(DESCRIPTOR, connection)
        device.wink()
        assert winks == [None]
        assert device.call(CTAPHID.WINK) == b""
        assert len(winks) == 2
    finally:
        connection.close()


def test_lock_keeps_other_channels_out(va: VirtualAuthenticator) -> None:
    clock = FakeClock()
    connection = LoopbackConnection(va.aprocess, clock=clock.monotonic)
    try:
        device = CtapHidDevice(DESCRIPTOR, connection)
        [init] = connection.raw(BROADCAST_CID, Command.INIT, b"12345678")
        other = int.from_bytes(init.payload[8:12], "big")
        device.lock(2)
        assert connection.raw(other, Command.PING, b"hi") == [error(other, HidError.CHANNEL_BUSY)]
        assert device.ping(b"still mine") == b"still mine"
        clock.advance(2.0)  # the lock lapses
        assert connection.raw(other, Command.PING, b"hi") == [Message(other, Command.PING, b"hi")]
        device.lock(10)
        assert connection.raw(other, Command.PING, b"x")[0].payload == bytes(
            [HidError.CHANNEL_BUSY]
        )
        device.lock(0)  # released at once
        assert connection.raw(other, Command.PING, b"x") == [Message(other, Command.PING, b"x")]
        with pytest.raises(CtapError) as exc:
            device.lock(11)
        assert exc.value.code == CtapError.ERR.INVALID_PARAMETER
    finally:
        connection.close()


def test_ctap2_make_credential_and_get_assertion(device: CtapHidDevice) -> None:
    ctap = Ctap2(device)
    assert "FIDO_2_1" in ctap.get_info().versions
    cdh = hashlib.sha256(b"make").digest()
    attestation = ctap.make_credential(cdh, RP, USER, ES256, options={"rk": True, "uv": True})
    credential = attestation.auth_data.credential_data
    assert credential is not None
    assert attestation.auth_data.rp_id_hash == hashlib.sha256(b"example.com").digest()
    cdh = hashlib.sha256(b"get").digest()
    assertion = ctap.get_assertion("example.com", cdh)
    assertion.verify(cdh, credential.public_key)
    assert assertion.credential["id"] == credential.credential_id
    assert assertion.user["id"] == USER["id"]
    with pytest.raises(CtapError) as exc:
        ctap.get_assertion("example.org", cdh)
    assert exc.value.code == CtapError.ERR.NO_CREDENTIALS


def test_fido2_client_registers_and_authenticates_over_hid(device: CtapHidDevice) -> None:
    rp = PublicKeyCredentialRpEntity(id="example.com", name="Example")
    server = Fido2Server(rp)
    client = Fido2Client(device, DefaultClientDataCollector("https://example.com"))
    user = PublicKeyCredentialUserEntity(id=b"user-9", name="bob")
    options, state = server.register_begin(user)
    credential = server.register_complete(state, client.make_credential(options.public_key))
    counts = []
    for _ in range(2):
        options, state = server.authenticate_begin([credential.credential_data])
        response = client.get_assertion(options.public_key).get_response(0)
        server.authenticate_complete(state, [credential.credential_data], response)
        counts.append(AuthenticatorData(response.response.authenticator_data).counter)
    assert counts[0] < counts[1]


def gated_authenticator() -> tuple[VirtualAuthenticator, GatedPresence, TrackingPresence]:
    gate = GatedPresence()
    tracking = TrackingPresence(gate)
    return VirtualAuthenticator(presence=tracking), gate, tracking


def test_cancel_during_a_presence_prompt() -> None:
    va, gate, tracking = gated_authenticator()
    connection = LoopbackConnection(va.aprocess, up_needed=tracking.waiting)
    try:
        ctap = Ctap2(CtapHidDevice(DESCRIPTOR, connection))
        cancel = threading.Event()
        keepalives: list[int] = []
        outcome: list[BaseException] = []

        def make() -> None:
            try:
                ctap.make_credential(
                    hashlib.sha256(b"c").digest(),
                    RP,
                    USER,
                    ES256,
                    event=cancel,
                    on_keepalive=keepalives.append,
                )
            except BaseException as exc:
                outcome.append(exc)

        worker = threading.Thread(target=make)
        worker.start()
        assert gate.asked.wait(TIMEOUT)
        deadline = time.monotonic() + TIMEOUT
        while not keepalives and time.monotonic() < deadline:
            time.sleep(0.01)
        cancel.set()
        worker.join(TIMEOUT)
        assert not worker.is_alive()
        [exc] = outcome
        assert isinstance(exc, CtapError) and exc.code == CtapError.ERR.KEEPALIVE_CANCEL
        assert keepalives == [STATUS.UPNEEDED]  # python-fido2 reports changes only
        assert gate.cancelled.is_set()
        assert device_still_answers(connection)
    finally:
        connection.close()
        va.close()


def device_still_answers(connection: LoopbackConnection) -> bool:
    return CtapHidDevice(DESCRIPTOR, connection).ping(b"ok") == b"ok"


def test_keepalives_while_waiting_then_the_answer() -> None:
    va, gate, tracking = gated_authenticator()
    connection = LoopbackConnection(va.aprocess, up_needed=tracking.waiting)
    try:
        ctap = Ctap2(CtapHidDevice(DESCRIPTOR, connection))
        keepalives: list[int] = []

        def on_keepalive(status: int) -> None:
            keepalives.append(status)
            gate.answer(True)  # the user touches once the client shows the prompt

        attestation = ctap.make_credential(
            hashlib.sha256(b"c").digest(), RP, USER, ES256, on_keepalive=on_keepalive
        )
        assert attestation.auth_data.is_user_present()
        assert keepalives == [STATUS.UPNEEDED]
        assert gate.requests[0].rp_id == "example.com"
    finally:
        connection.close()
        va.close()


# -- raw reports ----------------------------------------------------------------------------------


async def test_init_allocates_distinct_channels() -> None:
    harness = Harness(apdu=echo)
    nonce = b"\x01\x02\x03\x04\x05\x06\x07\x08"
    [reply] = await harness.request(BROADCAST_CID, Command.INIT, nonce)
    assert reply.cid == BROADCAST_CID  # the answer goes where the request came from
    assert reply.command == Command.INIT and len(reply.payload) == 17
    assert reply.payload[:8] == nonce
    cid = int.from_bytes(reply.payload[8:12], "big")
    assert cid not in (0, BROADCAST_CID)
    assert reply.payload[12:] == bytes([2, *DEVICE_VERSION, 0x01 | 0x04])  # WINK | CBOR
    others = {await harness.open_channel() for _ in range(20)}
    assert len(others | {cid}) == 21
    for channel in others | {cid}:
        assert await harness.request(channel, Command.PING, b"hi") == [
            Message(channel, Command.PING, b"hi")
        ]


async def test_capabilities_say_nmsg_without_an_apdu_handler() -> None:
    harness = Harness()
    [reply] = await harness.request(BROADCAST_CID, Command.INIT, bytes(8))
    assert reply.payload[16] == 0x01 | 0x04 | 0x08
    cid = int.from_bytes(reply.payload[8:12], "big")
    assert await harness.request(cid, Command.MSG, b"\x00\x03\x00\x00") == [
        error(cid, HidError.INVALID_CMD)
    ]


async def test_init_errors() -> None:
    harness = Harness()
    assert await harness.request(BROADCAST_CID, Command.INIT, bytes(7)) == [
        error(BROADCAST_CID, HidError.INVALID_LEN)
    ]
    assert await harness.request(0x12345678, Command.INIT, bytes(8)) == [
        error(0x12345678, HidError.INVALID_CHANNEL)
    ]
    assert await harness.request(0, Command.INIT, bytes(8)) == [error(0, HidError.INVALID_CHANNEL)]


async def test_init_on_an_allocated_channel_resyncs_it() -> None:
    harness = Harness()
    cid = await harness.open_channel()
    await harness.feed(init_report(cid, Command.PING, 100, b"a" * 57))  # half a request
    [reply] = await harness.request(cid, Command.INIT, b"resync!!")
    assert reply.cid == cid and reply.payload[:8] == b"resync!!"
    assert int.from_bytes(reply.payload[8:12], "big") == cid  # the same channel
    await harness.feed(cont_report(cid, 0, b"b" * 43))  # the rest of the abandoned request
    assert harness.take() == []
    assert await harness.request(cid, Command.PING, b"x" * 80) == [
        Message(cid, Command.PING, b"x" * 80)
    ]


async def test_init_abandons_a_pending_request_without_answering_it() -> None:
    gate = GatedPresence()
    va = VirtualAuthenticator(presence=gate)
    harness = Harness(va.aprocess)
    cid = await harness.open_channel()
    assert await harness.request(cid, Command.CBOR, make_credential_request()) == []
    await eventually(gate.asked.is_set)
    harness.take()  # keepalives, if the loop was slow
    [reply] = await harness.request(cid, Command.INIT, bytes(8))
    assert reply.command == Command.INIT
    await eventually(gate.cancelled.is_set)
    await asyncio.sleep(0.25)
    assert harness.take() == []  # neither the answer nor a keepalive
    assert not harness.device.busy


async def test_commands_need_an_allocated_channel() -> None:
    harness = Harness()
    assert await harness.request(BROADCAST_CID, Command.PING, b"x") == [
        error(BROADCAST_CID, HidError.INVALID_CHANNEL)
    ]
    assert await harness.request(0xCAFE, Command.CBOR, b"\x04") == [
        error(0xCAFE, HidError.INVALID_CHANNEL)
    ]


async def test_length_limits() -> None:
    harness = Harness()
    cid = await harness.open_channel()
    largest = os.urandom(7609)
    assert await harness.request(cid, Command.PING, largest) == [
        Message(cid, Command.PING, largest)
    ]
    await harness.feed(init_report(cid, Command.PING, 7610, b"x" * 57))
    assert harness.take() == [error(cid, HidError.INVALID_LEN)]
    await harness.feed(cont_report(cid, 0, b"y" * 59))  # nothing is being reassembled
    assert harness.take() == []
    with pytest.raises(ValueError):
        frame(cid, Command.PING, bytes(7610))


def test_frame_splits_at_the_packet_boundaries() -> None:
    for size, count in [(0, 1), (57, 1), (58, 2), (116, 2), (117, 3), (7609, 129)]:
        reports = frame(0x01020304, Command.CBOR, os.urandom(size))
        assert len(reports) == count
        assert all(len(r) == 64 for r in reports)
        assert [r[4] for r in reports[1:]] == list(range(count - 1))
    [reply] = messages(frame(7, Command.PING, b"abc" * 100))
    assert reply == Message(7, Command.PING, b"abc" * 100)


async def test_wrong_sequence_drops_the_request() -> None:
    harness = Harness()
    cid = await harness.open_channel()
    payload = os.urandom(200)
    reports = frame(cid, Command.PING, payload)
    await harness.feed(reports[0], reports[2])  # SEQ 1 where 0 was due
    assert harness.take() == [error(cid, HidError.INVALID_SEQ)]
    await harness.feed(reports[1], reports[3])  # the rest, now spurious
    assert harness.take() == []
    assert await harness.request(cid, Command.PING, payload) == [
        Message(cid, Command.PING, payload)
    ]


async def test_a_new_request_before_the_last_packet_is_out_of_sequence() -> None:
    harness = Harness()
    cid = await harness.open_channel()
    await harness.feed(init_report(cid, Command.PING, 100, b"a" * 57))
    await harness.feed(init_report(cid, Command.PING, 3, b"abc"))
    assert harness.take() == [error(cid, HidError.INVALID_SEQ)]
    assert not harness.device.busy


async def test_a_continuation_without_an_init_is_ignored() -> None:
    harness = Harness()
    cid = await harness.open_channel()
    await harness.feed(cont_report(cid, 0, b"stray"), cont_report(0xABCDEF, 5))
    assert harness.take() == []
    await harness.feed(b"\x01\x02")  # not even a header
    assert harness.take() == []


@pytest.mark.parametrize("command", [0x02, 0x3B, 0x3F, 0x40, 0x7F])
async def test_unknown_commands(command: int) -> None:
    harness = Harness()
    cid = await harness.open_channel()
    assert await harness.request(cid, command, b"data") == [error(cid, HidError.INVALID_CMD)]


async def test_another_channel_is_busy_while_a_request_is_reassembled() -> None:
    harness = Harness()
    first, second = await harness.open_channel(), await harness.open_channel()
    payload = os.urandom(100)
    reports = frame(first, Command.PING, payload)
    await harness.feed(reports[0])
    assert await harness.request(second, Command.PING, b"me too") == [
        error(second, HidError.CHANNEL_BUSY)
    ]
    await harness.feed(reports[1])
    assert harness.take() == [Message(first, Command.PING, payload)]
    assert await harness.request(second, Command.PING, b"now") == [
        Message(second, Command.PING, b"now")
    ]


async def test_another_channel_is_busy_while_a_request_is_answered() -> None:
    gate = GatedPresence()
    harness = Harness(VirtualAuthenticator(presence=gate).aprocess, keepalive_interval=10)
    first, second = await harness.open_channel(), await harness.open_channel()
    assert await harness.request(first, Command.CBOR, make_credential_request()) == []
    await eventually(gate.asked.is_set)
    assert await harness.request(second, Command.CBOR, b"\x04") == [
        error(second, HidError.CHANNEL_BUSY)
    ]
    assert await harness.request(first, Command.PING, b"x") == [error(first, HidError.CHANNEL_BUSY)]
    # INIT on the broadcast channel is answered regardless: a new client gets its channel.
    [init] = await harness.request(BROADCAST_CID, Command.INIT, bytes(8))
    assert init.command == Command.INIT
    gate.answer(True)
    [reply] = await harness.answer()
    assert reply.cid == first and reply.command == Command.CBOR and reply.payload[0] == 0x00
    assert 0x01 in cbor.decode(reply.payload[1:])  # fmt
    assert await harness.request(second, Command.CBOR, b"\x04") == []  # answered by a task
    [info] = await harness.answer()
    assert info.cid == second and info.payload[0] == 0x00
    assert "FIDO_2_1" in cbor.decode(info.payload[1:])[0x01]


async def test_timeout_between_packets_with_a_test_clock() -> None:
    clock = FakeClock()
    harness = Harness(clock=clock.monotonic)
    first, second = await harness.open_channel(), await harness.open_channel()
    reports = frame(first, Command.PING, os.urandom(100))
    await harness.feed(reports[0])
    clock.advance(TRANSACTION_TIMEOUT_S - 0.01)
    harness.device.expire()
    assert harness.take() == []  # not yet
    clock.advance(0.02)
    assert await harness.request(second, Command.PING, b"next") == [
        error(first, HidError.MSG_TIMEOUT),
        Message(second, Command.PING, b"next"),
    ]
    await harness.feed(reports[1])  # too late: dropped
    assert harness.take() == []


async def test_each_packet_restarts_the_timer() -> None:
    clock = FakeClock()
    harness = Harness(clock=clock.monotonic)
    cid = await harness.open_channel()
    payload = os.urandom(200)
    reports = frame(cid, Command.PING, payload)
    for report in reports[:-1]:
        await harness.feed(report)
        clock.advance(TRANSACTION_TIMEOUT_S - 0.5)
    harness.device.expire()
    await harness.feed(reports[-1])
    assert harness.take() == [Message(cid, Command.PING, payload)]


async def test_timeout_fires_by_itself() -> None:
    harness = Harness(transaction_timeout=0.05)
    cid = await harness.open_channel()
    await harness.feed(init_report(cid, Command.PING, 100, b"a" * 57))
    assert await harness.answer() == [error(cid, HidError.MSG_TIMEOUT)]
    assert not harness.device.busy


async def test_cancel_answers_the_pending_request_with_keepalive_cancel() -> None:
    gate = GatedPresence()
    tracking = TrackingPresence(gate)
    va = VirtualAuthenticator(presence=tracking)
    harness = Harness(va.aprocess, up_needed=tracking.waiting, keepalive_interval=0.02)
    cid, other = await harness.open_channel(), await harness.open_channel()
    await harness.request(cid, Command.CBOR, make_credential_request())
    await eventually(lambda: len(harness.reports) >= 2)
    keepalives = harness.take()
    assert set(keepalives) == {Message(cid, Command.KEEPALIVE, bytes([KeepaliveStatus.UPNEEDED]))}
    assert await harness.request(other, Command.CANCEL) == []  # another channel's: ignored
    assert not gate.cancelled.is_set()
    assert not [m for m in await harness.request(cid, Command.CANCEL) if m.command != 0x3B]
    replies = await harness.answer()  # CANCEL itself is never answered; the request is
    assert replies[-1] == Message(cid, Command.CBOR, b"\x2d")  # KEEPALIVE_CANCEL
    assert {m.command for m in replies[:-1]} <= {Command.KEEPALIVE}
    assert gate.cancelled.is_set()
    assert not harness.device.busy
    assert await harness.request(cid, Command.CANCEL) == []  # nothing pending: ignored


async def test_keepalive_says_processing_when_not_waiting_for_the_user() -> None:
    async def slow(message: bytes) -> bytes:
        await asyncio.sleep(0.12)
        return b"\x00"

    harness = Harness(slow, keepalive_interval=0.05)
    cid = await harness.open_channel()
    await harness.request(cid, Command.CBOR, b"\x04")
    replies = await harness.answer()
    assert replies[-1] == Message(cid, Command.CBOR, b"\x00")
    assert replies[:-1] and set(replies[:-1]) == {
        Message(cid, Command.KEEPALIVE, bytes([KeepaliveStatus.PROCESSING]))
    }


async def test_wink_and_lock_parameters() -> None:
    harness = Harness()
    cid = await harness.open_channel()
    assert await harness.request(cid, Command.WINK) == [Message(cid, Command.WINK, b"")]
    assert await harness.request(cid, Command.WINK, b"x") == [error(cid, HidError.INVALID_LEN)]
    assert await harness.request(cid, Command.LOCK, b"") == [error(cid, HidError.INVALID_LEN)]
    assert await harness.request(cid, Command.LOCK, b"\x01\x02") == [
        error(cid, HidError.INVALID_LEN)
    ]
    assert await harness.request(cid, Command.LOCK, b"\x0b") == [error(cid, HidError.INVALID_PAR)]
    assert await harness.request(cid, Command.LOCK, b"\x0a") == [Message(cid, Command.LOCK, b"")]
    [busy] = await harness.request(BROADCAST_CID, Command.INIT, bytes(8))  # locked: even INIT
    assert busy == error(BROADCAST_CID, HidError.CHANNEL_BUSY)


async def test_cbor_needs_a_command_byte() -> None:
    harness = Harness()
    cid = await harness.open_channel()
    assert await harness.request(cid, Command.CBOR, b"") == [error(cid, HidError.INVALID_LEN)]


async def test_handler_failures_are_answered() -> None:
    async def broken(message: bytes) -> bytes:
        raise RuntimeError("boom")

    async def huge(message: bytes) -> bytes:
        return b"\x00" + bytes(7609)

    harness = Harness(huge, apdu=broken)
    cid = await harness.open_channel()
    await harness.request(cid, Command.MSG, b"\x00\x03\x00\x00")
    assert await harness.answer() == [error(cid, HidError.OTHER)]
    await harness.request(cid, Command.CBOR, b"\x04")
    assert await harness.answer() == [Message(cid, Command.CBOR, b"\x7f")]  # too large for CTAPHID


async def test_close_abandons_the_pending_request() -> None:
    gate = GatedPresence()
    harness = Harness(VirtualAuthenticator(presence=gate).aprocess)
    cid = await harness.open_channel()
    await harness.request(cid, Command.CBOR, make_credential_request())
    await eventually(gate.asked.is_set)
    harness.take()
    await harness.device.close()
    assert gate.cancelled.is_set()
    assert not harness.device.busy
    await asyncio.sleep(0.15)
    assert harness.take() == []


# -- the uhid backend -----------------------------------------------------------------------------


def test_report_descriptor_is_a_fido_one() -> None:
    assert parse_report_descriptor(uhid.REPORT_DESCRIPTOR) == (64, 64)
    assert uhid.REPORT_DESCRIPTOR.startswith(bytes.fromhex("06d0f1 0901 a101"))


def test_create2_event_layout() -> None:
    event = uhid.create2_event("vauth test", vendor=0x1209, product=0x0001)
    assert len(event) == uhid.EVENT_SIZE == 4376  # sizeof(struct uhid_event)
    assert struct.unpack_from("=I", event)[0] == 11  # UHID_CREATE2
    assert event[4:14] == b"vauth test" and event[14] == 0  # name[128]
    descriptor = uhid.REPORT_DESCRIPTOR
    # rd_size, bus, vendor, product, version, country after name, phys[64], uniq[64]
    assert struct.unpack_from("=HHIIII", event, 4 + 128 + 64 + 64) == (
        len(descriptor),
        0x03,
        0x1209,
        0x0001,
        0,
        0,
    )
    assert event[280 : 280 + len(descriptor)] == descriptor


def test_input2_event_layout() -> None:
    report = os.urandom(64)
    event = uhid.input2_event(report)
    assert struct.unpack_from("=IH", event) == (12, 64)  # UHID_INPUT2, size
    assert event[6:70] == report and len(event) == 4 + 2 + 4096


def output_event(data: bytes, report_type: int = 1, kind: int = 6) -> bytes:
    return struct.pack("=I4096sHB", kind, data, len(data), report_type)


def test_output_events_carry_reports_after_the_report_number() -> None:
    report = os.urandom(64)
    assert uhid.output_report(output_event(b"\x00" + report)) == report
    assert uhid.output_report(output_event(b"\x00" + report[:10])) == report[:10].ljust(64, b"\0")
    assert uhid.output_report(output_event(b"\x00" + report, report_type=0)) is None  # feature
    assert uhid.output_report(output_event(b"\x00" + report, kind=4)) is None  # UHID_OPEN
    assert uhid.output_report(b"\x06\x00") is None


def test_report_requests_are_refused() -> None:
    get_report = struct.pack("=IIBB", 9, 77, 0, 0)
    reply = uhid.report_request_reply(get_report)
    assert reply is not None
    assert struct.unpack_from("=IIHH", reply) == (10, 77, 5, 0)  # GET_REPORT_REPLY, EIO
    set_report = struct.pack("=IIBBH", 13, 78, 0, 2, 0)
    assert uhid.report_request_reply(set_report) == struct.pack("=IIH", 14, 78, 5)
    assert uhid.report_request_reply(output_event(b"")) is None


@pytest.mark.skipif(not os.path.exists(uhid.UHID_PATH), reason="no /dev/uhid")
async def test_uhid_device_answers_python_fido2() -> None:
    if not os.access(uhid.UHID_PATH, os.R_OK | os.W_OK):
        pytest.skip("no access to /dev/uhid")
    from fido2.hid import open_device

    va = VirtualAuthenticator()
    name = f"vauth test {os.getpid()}"
    server = asyncio.create_task(uhid.serve_uhid(va.aprocess, name=name))
    try:
        path = None
        for _ in range(100):
            path = _hidraw_named(name)
            if path is not None:
                break
            await asyncio.sleep(0.05)
        assert path is not None, "the kernel made no hidraw node"
        if not os.access(path, os.R_OK | os.W_OK):
            pytest.skip(f"no access to {path}")

        def ping() -> bytes:
            device = open_device(path)
            try:
                return bytes(device.ping(b"over uhid"))
            finally:
                device.close()

        assert await asyncio.to_thread(ping) == b"over uhid"
    finally:
        server.cancel()
        await asyncio.gather(server, return_exceptions=True)


def _hidraw_named(name: str) -> str | None:
    for node in Path("/sys/class/hidraw").glob("hidraw*"):
        uevent = node / "device" / "uevent"
        if uevent.exists() and f"HID_NAME={name}" in uevent.read_text().splitlines():
            return f"/dev/{node.name}"
    return None
