"""The CTAP2 side of the client: request maps, the status byte, getInfo (CTAP 2.1 sections 6.1,
6.2, 6.4 and 8.2)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeGuard, runtime_checkable

from vauth.ctap import cbor
from vauth.ctap.authenticator import Command, Request
from vauth.ctap.messages.get_info import GetInfoResponse
from vauth.ctap.status import CtapError, CtapStatus
from vauth.webauthn.errors import ClientFailure, failed, from_status
from vauth.webauthn.options import CredentialDescriptor

Process = Callable[[bytes], Awaitable[bytes]]


@dataclass(frozen=True, slots=True)
class AuthenticatorInfo:
    """The parts of authenticatorGetInfo the client acts on."""

    extensions: frozenset[str] = frozenset()
    options: dict[str, bool] = field(default_factory=dict)
    max_credential_count_in_list: int = 1  # absent: one credential per request
    max_credential_id_length: int | None = None
    pin_uv_auth_protocols: tuple[int, ...] = ()
    max_msg_size: int = 1024  # absent: the CTAP 2.1 default
    max_serialized_large_blob_array: int | None = None

    @classmethod
    def from_cbor(cls, body: dict[Any, Any]) -> AuthenticatorInfo:
        """Read through the shared getInfo type; absent or mistyped members take the spec's
        defaults."""
        info = GetInfoResponse.from_cbor(body)
        count = info.max_credential_count_in_list
        return cls(
            extensions=frozenset(info.extensions),
            options=dict(info.options),
            max_credential_count_in_list=count if _positive(count) else 1,
            max_credential_id_length=info.max_credential_id_length,
            pin_uv_auth_protocols=info.pin_uv_auth_protocols,
            max_msg_size=info.max_msg_size if _positive(info.max_msg_size) else 1024,
            max_serialized_large_blob_array=(
                info.max_serialized_large_blob_array
                if _positive(info.max_serialized_large_blob_array)
                else None
            ),
        )


def _positive(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


@runtime_checkable
class Channel(Protocol):
    """How the client reaches an authenticator: one CTAP2 command at a time."""

    async def request(self, command: int, params: Request | None) -> dict[Any, Any]:
        """Run one command (its request as a map or a typed request); a status other than OK
        is raised as CtapError."""
        ...


class MalformedResponse(Exception):
    """The authenticator answered with something that is not a CTAP2 response."""


class ByteChannel:
    """A Channel over CTAP2 messages (command byte || CBOR), as transports carry them."""

    def __init__(self, process: Process) -> None:
        self._process = process

    async def request(self, command: int, params: Request | None) -> dict[Any, Any]:
        if params is not None and not isinstance(params, dict):
            params = params.to_cbor()
        message = bytes([command]) + (cbor.encode(params) if params is not None else b"")
        response = await self._process(message)
        if not response:
            raise MalformedResponse("empty response from the authenticator")
        if response[0] != CtapStatus.OK:
            try:
                status = CtapStatus(response[0])
            except ValueError:
                status = CtapStatus.OTHER
            raise CtapError(status)
        if len(response) == 1:
            return {}
        try:
            body = cbor.decode(response[1:])
        except CtapError:
            raise MalformedResponse("malformed CBOR response") from None
        if not isinstance(body, dict):
            raise MalformedResponse("the response is not a CBOR map")
        return body


def channel_for(authenticator: Process | Channel) -> Channel:
    """A Channel as it is, or a ByteChannel around a ``process(bytes) -> bytes`` coroutine."""
    if isinstance(authenticator, Channel):
        return authenticator
    return ByteChannel(authenticator)


async def call(
    channel: Channel, command: Command, params: Request | None, operation: str
) -> dict[Any, Any]:
    """Send one command; a non-zero status becomes the WebAuthnError the page would see."""
    try:
        return await channel.request(command, params)
    except MalformedResponse as exc:
        raise failed(ClientFailure.MALFORMED_RESPONSE, f"{operation}: {exc}") from None
    except CtapError as exc:
        raise from_status(exc.status, operation) from None


async def status_of(channel: Channel, command: Command, params: Request) -> CtapStatus:
    """Send one command and return only its status (for silent probes)."""
    try:
        await channel.request(command, params)
    except CtapError as exc:
        return exc.status
    except MalformedResponse:
        return CtapStatus.OTHER
    return CtapStatus.OK


def descriptors(credentials: Sequence[CredentialDescriptor]) -> list[dict[str, Any]]:
    """PublicKeyCredentialDescriptors as CTAP carries them (transports are left out)."""
    return [{"id": c.id, "type": c.type} for c in credentials]


def options_map(**options: bool) -> dict[str, bool] | None:
    """Only the options set to true: false is each option's default where we send it."""
    chosen = {name: True for name, value in options.items() if value}
    return chosen or None


def without_none(params: dict[int, Any]) -> dict[int, Any]:
    return {key: value for key, value in params.items() if value is not None}
