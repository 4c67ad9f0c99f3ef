"""Volatile state components: what spans commands (one object any unrelated command clears),
a large-blob write in progress, and the power-on time."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from vauth.ctap.credential import Credential

if TYPE_CHECKING:
    from vauth.ctap.commands.get_assertion import AssertionExtensions


@dataclass(slots=True)
class PendingAssertions:
    """getNextAssertion state: the credentials still to return for the last getAssertion."""

    rp_id_hash: bytes
    client_data_hash: bytes
    credentials: list[Credential]
    flags: int
    identify_user: bool  # name and displayName may be returned (several accounts, UV done)
    expires_at: float
    extensions: AssertionExtensions  # the extension work of the getAssertion, for each one


class Continuation(Enum):
    """Which part of the state a command continues (and so keeps)."""

    ASSERTIONS = "assertions"  # getNextAssertion
    RPS = "rps"  # credentialManagement enumerateRPsGetNextRP
    CREDENTIALS = "credentials"  # credentialManagement enumerateCredentialsGetNextCredential


@dataclass(slots=True)
class CommandState:
    """State that spans commands. Any command that is not its continuation clears it."""

    assertions: PendingAssertions | None = None
    rps: list[tuple[dict[str, Any], bytes]] | None = None  # (rp entity, rpIdHash) still to return
    credentials: list[Credential] | None = None  # credentials of one RP still to return

    def clear(self, keep: Continuation | None = None) -> None:
        if keep is not Continuation.ASSERTIONS:
            self.assertions = None
        if keep is not Continuation.RPS:
            self.rps = None
        if keep is not Continuation.CREDENTIALS:
            self.credentials = None


@dataclass(slots=True)
class PendingWrite:
    """A large-blob write in progress: what has arrived and how much is expected."""

    expected_length: int
    buffer: bytearray

    @property
    def expected_next_offset(self) -> int:
        return len(self.buffer)


@dataclass(slots=True)
class LargeBlobWrite:
    """The authenticatorLargeBlobs write in progress, if any. Other commands leave it alone (the
    specification ties it to nothing else); a power cycle or a reset loses it."""

    pending: PendingWrite | None = None


@dataclass(slots=True)
class Power:
    """When the authenticator was last powered up (the reset window counts from it)."""

    powered_at: float = 0.0
