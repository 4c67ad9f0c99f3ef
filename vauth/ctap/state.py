"""State that spans commands, kept in one object that any unrelated command clears."""

from __future__ import annotations

from dataclasses import dataclass

from vauth.ctap.credential import Credential


@dataclass(slots=True)
class PendingAssertions:
    """getNextAssertion state: the credentials still to return for the last getAssertion."""

    rp_id_hash: bytes
    client_data_hash: bytes
    credentials: list[Credential]
    flags: int
    identify_user: bool  # name and displayName may be returned (several accounts, UV done)
    expires_at: float


@dataclass(slots=True)
class CommandState:
    """State that spans commands. Any command that is not its continuation clears it."""

    assertions: PendingAssertions | None = None
    last_command: int | None = None

    def clear(self) -> None:
        self.assertions = None
