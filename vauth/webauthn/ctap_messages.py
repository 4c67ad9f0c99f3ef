"""The CTAP2 side of the client: typed requests and responses over a channel, the status byte,
getInfo (CTAP 2.1 sections 6.1, 6.2, 6.4 and 8.2)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeGuard, TypeVar, runtime_checkable

from vauth.ctap import cbor
from vauth.ctap.authenticator import Authenticator, Command
from vauth.ctap.messages.base import Request, Response
from vauth.ctap.messages.get_info import GetInfoResponse
from vauth.ctap.status import CtapError, CtapStatus
from vauth.webauthn.errors import ClientFailure, failed, from_status

Process = Callable[[bytes], Awaitable[bytes]]
R = TypeVar("R", bound=Response)


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
    versions: tuple[str, ...] = ()

    @classmethod
    def from_cbor(cls, body: dict[Any, Any]) -> AuthenticatorInfo:
        """Read through the shared getInfo type; absent or mistyped members take the spec's
        defaults."""
        return cls.of(GetInfoResponse.from_cbor(body))

    @classmethod
    def of(cls, info: GetInfoResponse) -> AuthenticatorInfo:
        """What the client acts on in a getInfo response; absent members take the spec's
        defaults."""
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
            versions=info.versions,
        )


def _positive(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


@runtime_checkable
class Channel(Protocol):
    """How the client reaches an authenticator: one CTAP2 command at a time, typed both ways."""

    async def exchange(self, command: Command, request: Request | None, response: type[R]) -> R:
        """Run one command (None: one without parameters) and read its response as
        ``response``; a status other than OK is raised as CtapError, a response that does not
        read as ``response`` as MalformedResponse."""
        ...

    @property
    def info_version(self) -> int:
        """Changes whenever what getInfo reports may have changed (a channel that cannot tell
        says 0 always: the client then keeps getInfo until told to forget it)."""
        ...


class MalformedResponse(Exception):
    """The authenticator answered with something that is not a CTAP2 response."""


class ByteChannel:
    """A Channel over CTAP2 messages (command byte || CBOR), as transports carry them."""

    info_version = 0

    def __init__(self, process: Process) -> None:
        self._process = process

    async def exchange(self, command: Command, request: Request | None, response: type[R]) -> R:
        params = request.to_cbor() if request is not None else None
        message = bytes([command]) + (cbor.encode(params) if params else b"")
        answer = await self._process(message)
        if not answer:
            raise MalformedResponse("empty response from the authenticator")
        if answer[0] != CtapStatus.OK:
            try:
                status = CtapStatus(answer[0])
            except ValueError:
                status = CtapStatus.OTHER
            raise CtapError(status)
        body: Any = {}
        if len(answer) > 1:
            try:
                body = cbor.decode(answer[1:])
            except CtapError:
                raise MalformedResponse("malformed CBOR response") from None
            if not isinstance(body, dict):
                raise MalformedResponse("the response is not a CBOR map")
        return _read(response, body)


class DirectChannel:
    """A Channel to an authenticator in this process: the typed request goes in and the typed
    response comes out, nothing encoded or decoded on the way."""

    def __init__(self, authenticator: Authenticator) -> None:
        self._authenticator = authenticator

    @property
    def info_version(self) -> int:
        return self._authenticator.info_version

    async def exchange(self, command: Command, request: Request | None, response: type[R]) -> R:
        answer = await self._authenticator.respond(command, request)
        if answer is None:
            return _read(response, {})
        if not isinstance(answer, response):
            raise MalformedResponse(f"the response is not a {response.__name__}")
        return answer


def _read(response: type[R], body: dict[Any, Any]) -> R:
    read = response.from_cbor(body)
    if read is None:
        raise MalformedResponse(f"malformed {response.__name__}")
    return read


def channel_for(authenticator: Process | Channel | Authenticator) -> Channel:
    """A Channel as it is, a DirectChannel to an authenticator in this process, or a ByteChannel
    around a ``process(bytes) -> bytes`` coroutine."""
    if isinstance(authenticator, Authenticator):
        return DirectChannel(authenticator)
    if isinstance(authenticator, Channel):
        return authenticator
    return ByteChannel(authenticator)


async def call(
    channel: Channel,
    command: Command,
    request: Request | None,
    response: type[R],
    operation: str,
) -> R:
    """Send one command; a non-zero status or a malformed response becomes the WebAuthnError
    the page would see."""
    try:
        return await channel.exchange(command, request, response)
    except MalformedResponse as exc:
        raise failed(ClientFailure.MALFORMED_RESPONSE, f"{operation}: {exc}") from None
    except CtapError as exc:
        raise from_status(exc.status, operation) from None


async def status_of(
    channel: Channel, command: Command, request: Request, response: type[Response]
) -> CtapStatus:
    """Send one command and return only its status (for silent probes)."""
    try:
        await channel.exchange(command, request, response)
    except CtapError as exc:
        return exc.status
    except MalformedResponse:
        return CtapStatus.OTHER
    return CtapStatus.OK


def options_map(**options: bool) -> dict[str, bool] | None:
    """Only the options set to true: false is each option's default where we send it."""
    chosen = {name: True for name, value in options.items() if value}
    return chosen or None
