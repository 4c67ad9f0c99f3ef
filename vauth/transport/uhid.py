"""The Linux uhid backend: the kernel shows a FIDO HID device (a /dev/hidrawN that browsers and
libfido2 find), and its output reports come here to be answered by a CTAPHID device.

Layouts follow the kernel's include/uapi/linux/uhid.h: each event is ``__u32 type`` and a packed
union, in host byte order, read and written one event per call. Opening /dev/uhid needs root or
a udev rule granting it (e.g. ``KERNEL=="uhid", GROUP="vauth", MODE="0660"``).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import struct
from collections.abc import Callable
from enum import IntEnum

from vauth.transport.ctaphid import REPORT_SIZE, Handler, HidChannelManager

logger = logging.getLogger(__name__)

UHID_PATH = "/dev/uhid"
UHID_DATA_MAX = 4096
HID_MAX_DESCRIPTOR_SIZE = 4096
BUS_USB = 0x03
DEFAULT_VENDOR = 0x1209  # pid.codes, whose 0x0001.. are test PIDs: no real product's IDs
DEFAULT_PRODUCT = 0x0001

# The FIDO report descriptor (CTAP 2.1 section 11.2.8.1): usage page 0xF1D0, usage CTAPHID,
# one 64-byte input report (usage 0x20) and one 64-byte output report (usage 0x21), no IDs.
REPORT_DESCRIPTOR = bytes.fromhex(
    "06d0f1"  # Usage Page (FIDO Alliance)
    "0901"  # Usage (CTAPHID)
    "a101"  # Collection (Application)
    "0920"  # Usage (Input Report Data)
    "1500"  # Logical Minimum (0)
    "26ff00"  # Logical Maximum (255)
    "7508"  # Report Size (8)
    "9540"  # Report Count (64)
    "8102"  # Input (Data, Variable, Absolute)
    "0921"  # Usage (Output Report Data)
    "1500"  # Logical Minimum (0)
    "26ff00"  # Logical Maximum (255)
    "7508"  # Report Size (8)
    "9540"  # Report Count (64)
    "9102"  # Output (Data, Variable, Absolute)
    "c0"  # End Collection
)


class EventType(IntEnum):
    """enum uhid_event_type."""

    DESTROY = 1
    START = 2
    STOP = 3
    OPEN = 4
    CLOSE = 5
    OUTPUT = 6
    GET_REPORT = 9
    GET_REPORT_REPLY = 10
    CREATE2 = 11
    INPUT2 = 12
    SET_REPORT = 13
    SET_REPORT_REPLY = 14


class ReportType(IntEnum):
    """enum uhid_report_type."""

    FEATURE = 0
    OUTPUT = 1
    INPUT = 2


# struct uhid_create2_req: name[128] phys[64] uniq[64] rd_size(u16) bus(u16) vendor product
# version country (u32 each) rd_data[4096], packed.
_CREATE2 = struct.Struct(f"=I128s64s64sHHIIII{HID_MAX_DESCRIPTOR_SIZE}s")
_INPUT2 = struct.Struct(f"=IH{UHID_DATA_MAX}s")  # struct uhid_input2_req: size(u16) data[4096]
_OUTPUT = struct.Struct(f"=I{UHID_DATA_MAX}sHB")  # struct uhid_output_req: data size rtype
_REQUEST_ID = struct.Struct("=II")  # type, then the id that get/set_report requests start with
_GET_REPORT_REPLY = struct.Struct(f"=IIHH{UHID_DATA_MAX}s")  # id err(u16) size(u16) data
_SET_REPORT_REPLY = struct.Struct("=IIH")  # id err(u16)
EVENT_SIZE = _CREATE2.size  # sizeof(struct uhid_event): create2 is the largest member


def create2_event(
    name: str,
    vendor: int = DEFAULT_VENDOR,
    product: int = DEFAULT_PRODUCT,
    report_descriptor: bytes = REPORT_DESCRIPTOR,
    unique: str = "",
) -> bytes:
    return _CREATE2.pack(
        EventType.CREATE2,
        name.encode()[:127],
        b"",
        unique.encode()[:63],
        len(report_descriptor),
        BUS_USB,
        vendor,
        product,
        0,
        0,
        report_descriptor,
    )


def input2_event(report: bytes) -> bytes:
    return _INPUT2.pack(EventType.INPUT2, len(report), report)


def destroy_event() -> bytes:
    return struct.pack("=I", EventType.DESTROY)


def event_type(event: bytes) -> int:
    return int(struct.unpack_from("=I", event)[0]) if len(event) >= 4 else -1


def output_report(event: bytes) -> bytes | None:
    """The CTAPHID report of a UHID_OUTPUT event, or None. A hidraw write starts with the report
    number (0: the FIDO descriptor has no report IDs), which the kernel passes on."""
    if event_type(event) != EventType.OUTPUT or len(event) < _OUTPUT.size:
        return None
    _, data, size, report_type = _OUTPUT.unpack_from(event)
    if report_type != ReportType.OUTPUT or not 1 < size <= UHID_DATA_MAX:
        return None
    return bytes(data[1:size][:REPORT_SIZE]).ljust(REPORT_SIZE, b"\0")


def report_request_reply(event: bytes) -> bytes | None:
    """The refusal (EIO) of a GET_REPORT or SET_REPORT request: the FIDO device has no feature
    reports, and the kernel waits for an answer to either."""
    kind = event_type(event)
    if kind not in (EventType.GET_REPORT, EventType.SET_REPORT) or len(event) < _REQUEST_ID.size:
        return None
    _, request_id = _REQUEST_ID.unpack_from(event)
    if kind == EventType.GET_REPORT:
        return _GET_REPORT_REPLY.pack(EventType.GET_REPORT_REPLY, request_id, errno.EIO, 0, b"")
    return _SET_REPORT_REPLY.pack(EventType.SET_REPORT_REPLY, request_id, errno.EIO)


async def serve_uhid(
    process: Handler,
    apdu: Handler | None = None,
    *,
    path: str = UHID_PATH,
    name: str = "vauth FIDO2 authenticator",
    up_needed: Callable[[], bool] | None = None,
    wink: Callable[[], None] | None = None,
) -> None:
    """Create the HID device and answer it until cancelled; the device goes with the task."""
    fd = os.open(path, os.O_RDWR | os.O_CLOEXEC | os.O_NONBLOCK)
    loop = asyncio.get_running_loop()
    events: asyncio.Queue[bytes] = asyncio.Queue()

    def send(report: bytes) -> None:
        try:
            os.write(fd, input2_event(report))
        except OSError as exc:  # the host reads again; one lost reply must not end the device
            logger.error("writing to %s failed: %s", path, exc)

    def readable() -> None:
        while True:
            try:
                event = os.read(fd, EVENT_SIZE)
            except BlockingIOError:
                return
            except OSError as exc:
                logger.error("reading %s failed: %s", path, exc)
                return
            if not event:
                return
            events.put_nowait(event)

    device = HidChannelManager(process, send, apdu, up_needed=up_needed, wink=wink)
    try:
        os.write(fd, create2_event(name))
        loop.add_reader(fd, readable)
        logger.info("uhid FIDO device %r created", name)
        try:
            while True:
                event = await events.get()
                report = output_report(event)
                if report is not None:
                    await device.handle_report(report)
                    continue
                reply = report_request_reply(event)
                if reply is not None:
                    os.write(fd, reply)
        finally:
            loop.remove_reader(fd)
            await device.close()
    finally:
        with contextlib.suppress(OSError):
            os.write(fd, destroy_event())
        os.close(fd)
