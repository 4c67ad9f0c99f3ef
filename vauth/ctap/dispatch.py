"""The dispatch table: each command's request type, handler and the narrow context it gets, and
the components those contexts are views of.

A route is generic over its context, request and response, so mypy checks that the handler takes
that context and that request and returns that response (tests/ctap/test_dispatch_types.py holds
a route that disagrees to a mypy error).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

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
from vauth.ctap.config import AuthenticatorConfig
from vauth.ctap.messages.base import Request, Response
from vauth.ctap.messages.client_pin import ClientPinRequest
from vauth.ctap.messages.command import Command, NoParameters
from vauth.ctap.messages.config import ConfigRequest
from vauth.ctap.messages.credential_management import CredentialManagementRequest
from vauth.ctap.messages.get_assertion import GetAssertionRequest
from vauth.ctap.messages.large_blobs import LargeBlobsRequest
from vauth.ctap.messages.make_credential import MakeCredentialRequest
from vauth.ctap.pin_uv import PinUvAuth
from vauth.ctap.ports import (
    Clock,
    CredentialStore,
    KeySource,
    PinHasher,
    ResponsePort,
    SyncChoice,
    UserPresence,
)
from vauth.ctap.secrets import Secrets
from vauth.ctap.state import CommandState, LargeBlobWrite, Power

C = TypeVar("C")
Q = TypeVar("Q", bound=Request)
R = TypeVar("R", bound=Response | None)


@dataclass(frozen=True, slots=True)
class Components:
    """Every component a handler may be given: the environment's ports and the core's state.
    Each command's context is a view of the few it declares."""

    config: AuthenticatorConfig
    store: CredentialStore
    presence: UserPresence
    clock: Clock
    keys: KeySource
    pin_hasher: PinHasher
    state: CommandState
    power: Power
    large_blob_write: LargeBlobWrite
    secrets: Secrets
    pin_uv: PinUvAuth
    responses: ResponsePort
    sync: SyncChoice

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    def view(self, context: type[C]) -> C:
        """``context`` (a dataclass naming some components) over these components; a field that
        names no component fails here, when the authenticator is built."""
        return context(**{f.name: getattr(self, f.name) for f in dataclasses.fields(context)})  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Route(Generic[C, Q, R]):
    """How one command is served: ``handle(components.view(context), request.from_cbor(params))``.
    A command without parameters has the request ``NoParameters``."""

    handle: Callable[[C, Q], Awaitable[R]]
    context: type[C]  # a frozen dataclass naming the components the handler may use
    request: type[Q]


_CREDENTIAL_MANAGEMENT = Route(
    credential_management.handle, credential_management.Context, CredentialManagementRequest
)
ROUTES: dict[Command, Route[Any, Any, Any]] = {
    Command.MAKE_CREDENTIAL: Route(
        make_credential.handle, make_credential.Context, MakeCredentialRequest
    ),
    Command.GET_ASSERTION: Route(get_assertion.handle, get_assertion.Context, GetAssertionRequest),
    Command.GET_INFO: Route(get_info.handle, get_info.Context, NoParameters),
    Command.CLIENT_PIN: Route(client_pin.handle, client_pin.Context, ClientPinRequest),
    Command.RESET: Route(reset.handle, reset.Context, NoParameters),
    Command.GET_NEXT_ASSERTION: Route(
        get_next_assertion.handle, get_next_assertion.Context, NoParameters
    ),
    Command.SELECTION: Route(selection.handle, selection.Context, NoParameters),
    Command.CREDENTIAL_MANAGEMENT: _CREDENTIAL_MANAGEMENT,
    Command.CREDENTIAL_MANAGEMENT_PREVIEW: _CREDENTIAL_MANAGEMENT,
    Command.LARGE_BLOBS: Route(large_blobs.handle, large_blobs.Context, LargeBlobsRequest),
    Command.CONFIG: Route(config.handle, config.Context, ConfigRequest),
}
