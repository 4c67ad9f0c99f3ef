"""The authenticator: ``process(bytes) -> bytes`` around a typed ``handle(command, params)``.

Parse first, then dispatch (CTAP 2.1 section 6). Only this module turns a ``CtapError`` into a
status byte; any other exception is logged and answered with ERR_OTHER, so no input can kill
the process that hosts the core.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from vauth.ctap import cbor
from vauth.ctap.attestation.certificates import AttestationIdentity
from vauth.ctap.auth_data import AuthenticatorData
from vauth.ctap.config import AuthenticatorConfig
from vauth.ctap.cose import CoseKey
from vauth.ctap.credential_id import CredentialIdWrapper
from vauth.ctap.dispatch import ROUTES, Components
from vauth.ctap.messages.base import Request, Response
from vauth.ctap.messages.command import Command, NoParameters
from vauth.ctap.messages.credential_management import CredentialManagementRequest, Subcommand
from vauth.ctap.messages.credential_management import Key as CredentialManagementKey
from vauth.ctap.messages.get_assertion import GetAssertionRequest, GetAssertionResponse
from vauth.ctap.messages.make_credential import MakeCredentialRequest, MakeCredentialResponse
from vauth.ctap.pin_protocol import PinUvAuthProtocol
from vauth.ctap.pin_state import PinState
from vauth.ctap.pin_uv import PinUvAuth
from vauth.ctap.ports import AuditRecord, Clock, CredentialStore, Environment, PortError
from vauth.ctap.secrets import Secrets
from vauth.ctap.state import CommandState, Continuation, LargeBlobWrite, Power
from vauth.ctap.status import CtapError, CtapStatus

logger = logging.getLogger(__name__)

__all__ = ["Authenticator", "Command"]

Params = dict[Any, Any]
# A request as a client in this process may hand it over: a map, or the command's typed request.
Requested = Params | Request


# Commands whose request has no parameters at all.
_NO_PARAMETERS = {command for command, route in ROUTES.items() if route.request is NoParameters}
_CTAP21_ONLY = {
    Command.SELECTION,
    Command.CREDENTIAL_MANAGEMENT,
    Command.CREDENTIAL_MANAGEMENT_PREVIEW,
    Command.LARGE_BLOBS,
    Command.CONFIG,
}
# Ceremonies go to the audit log; requests refused before any ceremony began do not.
_AUDITED = {
    Command.MAKE_CREDENTIAL: "makeCredential",
    Command.GET_ASSERTION: "getAssertion",
    Command.GET_NEXT_ASSERTION: "getNextAssertion",
}
_NOT_CEREMONIES = {
    CtapStatus.MISSING_PARAMETER.name,
    CtapStatus.CBOR_UNEXPECTED_TYPE.name,
    CtapStatus.INVALID_CBOR.name,
    CtapStatus.INVALID_LENGTH.name,
    CtapStatus.NOT_ALLOWED.name,
}
# credentialManagement subcommands that continue an enumeration (CTAP 2.1 section 6.8).
_CREDENTIAL_MANAGEMENT_CONTINUATIONS: dict[int, Continuation] = {
    Subcommand.ENUMERATE_RPS_GET_NEXT_RP: Continuation.RPS,
    Subcommand.ENUMERATE_CREDENTIALS_GET_NEXT_CREDENTIAL: Continuation.CREDENTIALS,
}


def _continuation(command: Command, params: Requested) -> Continuation | None:
    """The state ``command`` continues; every other command clears all of it."""
    if command is Command.GET_NEXT_ASSERTION:
        return Continuation.ASSERTIONS
    if command in (Command.CREDENTIAL_MANAGEMENT, Command.CREDENTIAL_MANAGEMENT_PREVIEW):
        sub_command: Any
        if isinstance(params, CredentialManagementRequest):
            sub_command = params.sub_command
        elif isinstance(params, dict):
            sub_command = params.get(CredentialManagementKey.SUB_COMMAND)
        else:
            return None
        if isinstance(sub_command, int):
            return _CREDENTIAL_MANAGEMENT_CONTINUATIONS.get(sub_command)
    return None


_COMMANDS = {int(command): command for command in Command}  # a lookup, not an Enum call


def _command(command: int) -> Command:
    found = _COMMANDS.get(command)
    if found is None:
        raise CtapError(CtapStatus.INVALID_COMMAND, f"command 0x{command:02x}")
    return found


class Authenticator:
    """The core: state components, each handler given a narrow context over them."""

    def __init__(self, env: Environment, config: AuthenticatorConfig | None = None) -> None:
        self.env = env
        self.config = config or AuthenticatorConfig()
        # The state components: the only state the handlers see, each through its context.
        self.state = CommandState()
        self.power = Power(env.clock.monotonic())
        self.large_blob_write = LargeBlobWrite()
        self.secrets = Secrets(env.store, env.keys, self.config, env.sync)
        self.pin_uv = PinUvAuth(env.store, env.clock, env.keys, self.config)
        self._components = Components(
            config=self.config,
            store=env.store,
            presence=env.presence,
            clock=env.clock,
            keys=env.keys,
            pin_hasher=env.pin_hasher,
            state=self.state,
            power=self.power,
            large_blob_write=self.large_blob_write,
            secrets=self.secrets,
            pin_uv=self.pin_uv,
            responses=env.responses,
            sync=env.sync,
        )
        self._contexts: dict[Command, object] = {
            command: self._components.view(route.context) for command, route in ROUTES.items()
        }

    @property
    def components(self) -> Mapping[str, object]:
        """The components by name, read-only (for inspection: handlers get their contexts)."""
        components = self._components
        return MappingProxyType({name: getattr(components, name) for name in components.names()})

    def context(self, command: Command) -> object:
        """The narrow view ``command``'s handler gets: only the components it declares."""
        return self._contexts[command]

    @property
    def info_version(self) -> int:
        """A number that changes whenever what getInfo reports may have changed (the PIN
        state: a PIN set or changed, its policy, a reset), so a client knows when to ask
        again."""
        return self.pin_uv.version

    def power_cycle(self) -> None:
        """What unplugging and replugging does: volatile state goes, the reset window opens,
        new key-agreement keys and tokens are made and the consecutive PIN failures forgotten."""
        self.state.clear()
        self.power.powered_at = self.env.clock.monotonic()
        self.pin_uv.power_cycle()
        self.large_blob_write.pending = None

    # -- what the composition and the U2F front reach ---------------------------------------

    @property
    def store(self) -> CredentialStore:
        return self.env.store

    @property
    def clock(self) -> Clock:
        return self.env.clock

    @property
    def pin_protocols(self) -> dict[int, PinUvAuthProtocol]:
        return self.pin_uv.protocols

    async def pin_state(self) -> PinState:
        return await self.pin_uv.pin_state()

    def forget_secrets(self) -> None:
        """Drop every secret held in memory (the store locked): the credential-wrapping key and
        its cache, the attestation key, PIN state, tokens and half-done command state."""
        self.secrets.forget()
        self.pin_uv.forget()
        self.state.clear()

    # -- the byte-level wrapper ---------------------------------------------------------------

    async def process(self, message: bytes) -> bytes:
        """One CTAP2 message (command byte || CBOR) to status byte || CBOR. Never raises."""
        try:
            command, params = self._parse(message)
            response = await self.handle(command, params)
        except CtapError as exc:
            if exc.status is CtapStatus.OTHER:
                logger.warning("command failed: %s", exc.detail)
            return bytes([exc.status])
        except PortError as exc:
            logger.warning("command refused: %s", exc)
            return bytes([CtapStatus.OTHER])
        except Exception:
            logger.exception("unexpected error while processing a CTAP command")
            return bytes([CtapStatus.OTHER])
        if response is None:
            return b"\x00"
        return b"\x00" + cbor.encode_ordered(response.to_cbor())

    def _parse(self, message: bytes) -> tuple[Command, Params]:
        if not message:
            raise CtapError(CtapStatus.INVALID_LENGTH, "empty message")
        if len(message) > self.config.max_msg_size:
            raise CtapError(CtapStatus.REQUEST_TOO_LARGE, "message exceeds maxMsgSize")
        command = _command(message[0])
        payload = message[1:]
        if command in _NO_PARAMETERS:
            if payload:
                raise CtapError(CtapStatus.INVALID_LENGTH, f"{command.name} takes no parameters")
            return command, {}
        if not payload:
            return command, {}
        params = cbor.decode(payload)
        if not isinstance(params, dict):
            raise CtapError(CtapStatus.CBOR_UNEXPECTED_TYPE, "parameters must be a map")
        return command, params

    async def respond(self, command: int, params: Requested | None = None) -> Response | None:
        """The typed twin of :meth:`process` for clients in this process: the same requests as
        maps or typed requests, no CBOR, the typed response (None: an empty one); a failure is
        raised as CtapError, never as anything else."""
        typed = command if type(command) is Command else _command(command)
        try:
            return await self.handle(typed, {} if params is None else params)
        except (CtapError, PortError):
            raise
        except Exception:
            logger.exception("unexpected error while handling a CTAP request")
            raise CtapError(CtapStatus.OTHER) from None

    async def request(self, command: int, params: Requested | None = None) -> Params:
        """:meth:`respond` with the response as its map (empty for an empty response), for
        callers that read maps."""
        response = await self.respond(command, params)
        return {} if response is None else response.to_cbor()

    # -- the typed core -----------------------------------------------------------------------

    async def handle(self, command: Command, params: Requested) -> Response | None:
        """Check the command is offered, clear the state it does not continue, parse its
        request strictly, then run its handler on its context (CTAP 2.1 section 6: parse
        first)."""
        route = ROUTES.get(command)
        if route is None or (command in _CTAP21_ONLY and not self.config.ctap21):
            raise CtapError(CtapStatus.INVALID_COMMAND, f"{command.name} is not supported")
        self.state.clear(keep=_continuation(command, params))
        kind = route.request
        request: Request
        if isinstance(params, kind):
            request = params  # typed already by a client in this process
        elif isinstance(params, dict):
            request = kind.from_cbor(params)
        else:
            raise CtapError(CtapStatus.INVALID_PARAMETER, f"not a {command.name} request")
        context = self._contexts[command]
        if command not in _AUDITED:
            response: Response | None = await route.handle(context, request)
            return response
        try:
            result: Response | None = await route.handle(context, request)
        except CtapError as exc:
            await self._audit(command, request, None, exc.status.name)
            raise
        await self._audit(command, request, result, "ok")
        return result

    async def _audit(
        self, command: Command, request: Request, result: Response | None, outcome: str
    ) -> None:
        """Log a ceremony: its RP, the credential used, the outcome. Silent probes (up=false)
        and malformed requests are not ceremonies."""
        rp_id = None
        if isinstance(request, MakeCredentialRequest | GetAssertionRequest):
            if request.options.get("up") is False:
                return
            rp_id = request.rp_id
        credential_id = None
        if isinstance(result, MakeCredentialResponse):
            credential_id = AuthenticatorData(result.auth_data).credential_id
        elif isinstance(result, GetAssertionResponse):
            credential_id = result.credential_id
        elif outcome in _NOT_CEREMONIES:
            return
        await self.record_use(_AUDITED[command], rp_id, credential_id, outcome)

    async def record_use(
        self, ceremony: str, rp_id: str | None, credential_id: bytes | None, outcome: str
    ) -> None:
        """One entry of the audit log, stamped now."""
        await self.env.store.record(
            AuditRecord(self.env.clock.now_ms(), ceremony, rp_id, credential_id, outcome)
        )

    # -- secrets, created on first use and kept through the store ----------------------------

    async def wrapper(self) -> CredentialIdWrapper:
        return await self.secrets.wrapper()

    async def attestation_identity(self) -> AttestationIdentity:
        return await self.secrets.attestation_identity()

    async def set_attestation_identity(
        self, key: CoseKey, chain: tuple[bytes, ...], ca_certificate: bytes
    ) -> None:
        """Use an attestation key and chain from elsewhere (spec vectors, an enterprise CA)."""
        await self.secrets.set_attestation_identity(key, chain, ca_certificate)
