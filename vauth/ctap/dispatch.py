"""The dispatch table: each command's request parser, handler and the narrow context it gets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from vauth.ctap.commands import (
    client_pin,
    config,
    credential_management,
    get_assertion,
    get_info,
    get_next_assertion,
    large_blobs,
    make_credential,
    reset,
    selection,
)
from vauth.ctap.messages.client_pin import ClientPinRequest
from vauth.ctap.messages.command import Command
from vauth.ctap.messages.config import ConfigRequest
from vauth.ctap.messages.credential_management import CredentialManagementRequest
from vauth.ctap.messages.get_assertion import GetAssertionRequest
from vauth.ctap.messages.large_blobs import LargeBlobsRequest
from vauth.ctap.messages.make_credential import MakeCredentialRequest

Params = dict[Any, Any]


class Request(Protocol):
    """A typed request: parsed strictly from the command's parameter map."""

    @classmethod
    def from_cbor(cls, params: Params) -> Any: ...


@dataclass(frozen=True, slots=True)
class Route:
    """How one command is served: ``handle(context(**components), request.from_cbor(params))``.
    A command without a typed request (it has no parameters) gets the empty map."""

    handle: Callable[[Any, Any], Awaitable[Any]]
    context: type  # a frozen dataclass naming the components the handler may use
    request: type[Request] | None = None


_CREDENTIAL_MANAGEMENT = Route(
    credential_management.handle, credential_management.Context, CredentialManagementRequest
)
ROUTES: dict[Command, Route] = {
    Command.MAKE_CREDENTIAL: Route(
        make_credential.handle, make_credential.Context, MakeCredentialRequest
    ),
    Command.GET_ASSERTION: Route(get_assertion.handle, get_assertion.Context, GetAssertionRequest),
    Command.GET_INFO: Route(get_info.handle, get_info.Context),
    Command.CLIENT_PIN: Route(client_pin.handle, client_pin.Context, ClientPinRequest),
    Command.RESET: Route(reset.handle, reset.Context),
    Command.GET_NEXT_ASSERTION: Route(get_next_assertion.handle, get_next_assertion.Context),
    Command.SELECTION: Route(selection.handle, selection.Context),
    Command.CREDENTIAL_MANAGEMENT: _CREDENTIAL_MANAGEMENT,
    Command.CREDENTIAL_MANAGEMENT_PREVIEW: _CREDENTIAL_MANAGEMENT,
    Command.LARGE_BLOBS: Route(large_blobs.handle, large_blobs.Context, LargeBlobsRequest),
    Command.CONFIG: Route(config.handle, config.Context, ConfigRequest),
}
