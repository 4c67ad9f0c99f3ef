"""Command bytes and protocol versions (CTAP 2.1 section 6, "Authenticator API")."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

from vauth.ctap.messages.base import Request


class Command(IntEnum):
    MAKE_CREDENTIAL = 0x01
    GET_ASSERTION = 0x02
    GET_INFO = 0x04
    CLIENT_PIN = 0x06
    RESET = 0x07
    GET_NEXT_ASSERTION = 0x08
    BIO_ENROLLMENT = 0x09
    CREDENTIAL_MANAGEMENT = 0x0A
    SELECTION = 0x0B
    LARGE_BLOBS = 0x0C
    CONFIG = 0x0D
    CREDENTIAL_MANAGEMENT_PREVIEW = 0x41


class ProtocolVersion(StrEnum):
    """The CTAP version an authenticator speaks (its getInfo versions follow from it)."""

    CTAP2 = "ctap2"
    CTAP2_1 = "ctap2_1"


@dataclass(frozen=True, slots=True)
class NoParameters(Request):
    """The request of a command that takes no parameters (getInfo, reset, selection,
    getNextAssertion)."""


NO_PARAMETERS = NoParameters()
