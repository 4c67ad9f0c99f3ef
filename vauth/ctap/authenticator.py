"""The authenticator: ``process(bytes) -> bytes`` around a typed ``handle(command, params)``.

Parse first, then dispatch (CTAP 2.1 section 6). Only this module turns a ``CtapError`` into a
status byte; any other exception is logged and answered with ERR_OTHER, so no input can kill
the process that hosts the core.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vauth.ctap import cbor
from vauth.ctap.attestation.certificates import (
    AttestationIdentity,
    certificate_aaguid,
    issue_attestation_certificate,
    make_ca,
)
from vauth.ctap.auth_data import AuthenticatorData
from vauth.ctap.commands import (
    client_pin,
    credential_management,
    get_assertion,
    get_info,
    get_next_assertion,
    large_blobs,
    make_credential,
    reset,
    selection,
)
from vauth.ctap.commands import (
    config as config_command,
)
from vauth.ctap.config import AuthenticatorConfig
from vauth.ctap.cose import Algorithm, CoseKey
from vauth.ctap.credential_id import CredentialIdWrapper
from vauth.ctap.messages.command import Command
from vauth.ctap.messages.credential_management import (
    CredentialManagementRequest,
    CredentialManagementResponse,
    Subcommand,
)
from vauth.ctap.messages.credential_management import Key as CredentialManagementKey
from vauth.ctap.messages.get_assertion import GetAssertionRequest, GetAssertionResponse
from vauth.ctap.messages.get_info import GetInfoResponse
from vauth.ctap.messages.large_blobs import LargeBlobsRequest, LargeBlobsResponse
from vauth.ctap.messages.make_credential import MakeCredentialRequest, MakeCredentialResponse
from vauth.ctap.pin_protocol import PinUvAuthProtocol, PinUvAuthProtocolTwo
from vauth.ctap.pin_state import PinState, TokenState
from vauth.ctap.ports import AuditRecord, Environment, PortError
from vauth.ctap.state import CommandState, Continuation
from vauth.ctap.status import CtapError, CtapStatus

if TYPE_CHECKING:
    from vauth.ctap.commands.large_blobs import PendingWrite

logger = logging.getLogger(__name__)

__all__ = ["Authenticator", "Command"]

Params = dict[Any, Any]
# A request as a client in this process may hand it over: a map, or one of the typed requests.
Request = Params | MakeCredentialRequest | GetAssertionRequest
Response = (
    Params
    | MakeCredentialResponse
    | GetAssertionResponse
    | GetInfoResponse
    | CredentialManagementResponse
    | LargeBlobsResponse
)
Handler = Callable[["Authenticator", Any], Awaitable[Response | None]]


# Commands whose request has no parameters at all.
_NO_PARAMETERS = {Command.GET_INFO, Command.RESET, Command.GET_NEXT_ASSERTION, Command.SELECTION}
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


def _continuation(command: Command, params: Request) -> Continuation | None:
    """The state ``command`` continues; every other command clears all of it."""
    if command is Command.GET_NEXT_ASSERTION:
        return Continuation.ASSERTIONS
    if not isinstance(params, dict):
        return None
    if command in (Command.CREDENTIAL_MANAGEMENT, Command.CREDENTIAL_MANAGEMENT_PREVIEW):
        sub_command = params.get(CredentialManagementKey.SUB_COMMAND)
        if isinstance(sub_command, int):
            return _CREDENTIAL_MANAGEMENT_CONTINUATIONS.get(sub_command)
    return None


@dataclass(slots=True)
class _Secrets:
    wrapper: CredentialIdWrapper
    attestation: AttestationIdentity | None = field(default=None)


WRAP_KEY_SETTING = "credential_wrap_key"


class Authenticator:
    def __init__(self, env: Environment, config: AuthenticatorConfig | None = None) -> None:
        self.env = env
        self.config = config or AuthenticatorConfig()
        self.state = CommandState()
        self._secrets: _Secrets | None = None
        self._pin: PinState | None = None
        self.powered_at = 0.0
        self.power_cycle()

    def power_cycle(self) -> None:
        """What unplugging and replugging does: volatile state goes, the reset window opens,
        new key-agreement keys and tokens are made and the consecutive PIN failures forgotten."""
        self.state = CommandState()
        self.powered_at = self.env.clock.monotonic()
        random_bytes = self.env.keys.random_bytes
        self.pin_protocols: dict[int, PinUvAuthProtocol] = {
            2: PinUvAuthProtocolTwo(random_bytes),
            1: PinUvAuthProtocol(random_bytes),
        }
        self.token = TokenState()
        self.consecutive_pin_failures = 0
        self.large_blob_write: PendingWrite | None = None

    # -- PIN state ------------------------------------------------------------------------------

    async def pin_state(self) -> PinState:
        if self._pin is None:
            self._pin = await PinState.load(self.env.store)
        return self._pin

    async def save_pin_state(self) -> None:
        await (await self.pin_state()).save(self.env.store)

    async def forget_pin(self) -> None:
        """authenticatorReset: no PIN, default policy, fresh retries."""
        self._pin = PinState()
        await self._pin.save(self.env.store)
        self.reset_tokens()

    def forget_secrets(self) -> None:
        """Drop every secret held in memory (the store locked): the credential-wrapping key and
        its cache, the attestation key, PIN state, tokens and half-done command state."""
        self._secrets = None
        self._pin = None
        self.state = CommandState()
        self.reset_tokens()

    def reset_tokens(self) -> None:
        """resetPinUvAuthToken for every protocol: each outstanding token becomes useless."""
        for protocol in self.pin_protocols.values():
            protocol.reset_token()
        self.token.stop()

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
        if isinstance(response, dict):
            return b"\x00" + cbor.encode(response)
        return b"\x00" + cbor.encode_ordered(response.to_cbor())

    def _parse(self, message: bytes) -> tuple[Command, Params]:
        if not message:
            raise CtapError(CtapStatus.INVALID_LENGTH, "empty message")
        if len(message) > self.config.max_msg_size:
            raise CtapError(CtapStatus.REQUEST_TOO_LARGE, "message exceeds maxMsgSize")
        try:
            command = Command(message[0])
        except ValueError:
            raise CtapError(CtapStatus.INVALID_COMMAND, f"command 0x{message[0]:02x}") from None
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

    async def request(self, command: int, params: Request | None = None) -> Params:
        """The typed twin of :meth:`process` for clients in this process: the same requests as
        maps or typed requests, no CBOR; a failure is raised as CtapError, never as anything
        else."""
        try:
            typed = Command(command)
        except ValueError:
            raise CtapError(CtapStatus.INVALID_COMMAND, f"command 0x{command:02x}") from None
        try:
            response = await self.handle(typed, params or {})
        except (CtapError, PortError):
            raise
        except Exception:
            logger.exception("unexpected error while handling a CTAP request")
            raise CtapError(CtapStatus.OTHER) from None
        if response is None:
            return {}
        return response if isinstance(response, dict) else response.to_cbor()

    # -- the typed core -----------------------------------------------------------------------

    async def handle(self, command: Command, params: Request) -> Response | None:
        """Check the command is offered, clear the state it does not continue, parse its
        request strictly, then run its handler (CTAP 2.1 section 6: parse first)."""
        handler = _HANDLERS.get(command)
        if handler is None or (command in _CTAP21_ONLY and not self.config.ctap21):
            raise CtapError(CtapStatus.INVALID_COMMAND, f"{command.name} is not supported")
        self.state.clear(keep=_continuation(command, params))
        self.state.last_command = command
        parser = _PARSERS.get(command)
        if parser is None or isinstance(params, _TYPED_REQUESTS):
            request = params  # raw, or typed already by a client in this process
        else:
            request = parser(params)
        if command not in _AUDITED:
            return await handler(self, request)
        try:
            result = await handler(self, request)
        except CtapError as exc:
            await self._audit(command, request, None, exc.status.name)
            raise
        await self._audit(command, request, result, "ok")
        return result

    async def _audit(
        self, command: Command, request: Any, result: Response | None, outcome: str
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
        return (await self._load_secrets()).wrapper

    async def _load_secrets(self) -> _Secrets:
        if self._secrets is None:
            store = self.env.store
            wrap_key = await store.get_setting(WRAP_KEY_SETTING)
            if wrap_key is None:
                wrap_key = self.env.keys.random_bytes(32)
                await store.set_setting(WRAP_KEY_SETTING, wrap_key)
            self._secrets = _Secrets(CredentialIdWrapper(wrap_key))
        return self._secrets

    async def rotate_wrap_key(self) -> None:
        """authenticatorReset: every non-discoverable credential ID becomes unusable."""
        await self.env.store.set_setting(WRAP_KEY_SETTING, self.env.keys.random_bytes(32))
        self._secrets = None

    async def attestation_identity(self) -> AttestationIdentity:
        secrets = await self._load_secrets()
        if secrets.attestation is None or self._stale(secrets.attestation.chain[0]):
            secrets.attestation = await self._attestation_identity()
        return secrets.attestation

    def _stale(self, certificate: bytes) -> bool:
        """An attestation certificate naming another AAGUID must be re-issued."""
        aaguid = certificate_aaguid(certificate)
        return aaguid is not None and aaguid != self.config.aaguid

    async def _attestation_identity(self) -> AttestationIdentity:
        store, keys = self.env.store, self.env.keys
        ca_key_der = await store.get_setting("attestation_ca_key")
        ca_cert = await store.get_setting("attestation_ca_certificate")
        if ca_key_der is None or ca_cert is None:
            ca_key = keys.generate_key(Algorithm.ES256)
            ca_cert = make_ca(ca_key, keys.random_bytes(16), keys.random_bytes(4).hex())
            await store.set_setting("attestation_ca_key", ca_key.to_pkcs8())
            await store.set_setting("attestation_ca_certificate", ca_cert)
        else:
            ca_key = CoseKey.from_pkcs8(ca_key_der)
        att_key_der = await store.get_setting("attestation_key")
        att_cert = await store.get_setting("attestation_certificate")
        if att_key_der is None:
            att_key = keys.generate_key(Algorithm.ES256)
            await store.set_setting("attestation_key", att_key.to_pkcs8())
        else:
            att_key = CoseKey.from_pkcs8(att_key_der)
        if att_cert is None or self._stale(att_cert):
            att_cert = issue_attestation_certificate(
                ca_key, ca_cert, att_key, self.config.aaguid, keys.random_bytes(16)
            )
            await store.set_setting("attestation_certificate", att_cert)
        return AttestationIdentity(att_key, (att_cert,), ca_cert)

    async def set_attestation_identity(
        self, key: CoseKey, chain: tuple[bytes, ...], ca_certificate: bytes
    ) -> None:
        """Use an attestation key and chain from elsewhere (spec vectors, an enterprise CA)."""
        secrets = await self._load_secrets()
        secrets.attestation = AttestationIdentity(key, chain, ca_certificate)
        await self.env.store.set_setting("attestation_key", key.to_pkcs8())
        await self.env.store.set_setting("attestation_certificate", chain[0])
        await self.env.store.set_setting("attestation_ca_certificate", ca_certificate)


# The dispatch table: a command's request parser (raw parameters pass through where a command
# has no typed request yet) and its handler.
# What a client in this process may hand over typed (``request``): built from these types, it
# skips the map and its parse; over bytes it is parsed like anyone's.
_TYPED_REQUESTS = (MakeCredentialRequest, GetAssertionRequest)
_PARSERS: dict[Command, Callable[[Params], Any]] = {
    Command.MAKE_CREDENTIAL: MakeCredentialRequest.from_cbor,
    Command.GET_ASSERTION: GetAssertionRequest.from_cbor,
    Command.CREDENTIAL_MANAGEMENT: CredentialManagementRequest.from_cbor,
    Command.CREDENTIAL_MANAGEMENT_PREVIEW: CredentialManagementRequest.from_cbor,
    Command.LARGE_BLOBS: LargeBlobsRequest.from_cbor,
}
_HANDLERS: dict[Command, Handler] = {
    Command.MAKE_CREDENTIAL: make_credential.handle,
    Command.GET_ASSERTION: get_assertion.handle,
    Command.GET_INFO: get_info.handle,
    Command.CLIENT_PIN: client_pin.handle,
    Command.RESET: reset.handle,
    Command.GET_NEXT_ASSERTION: get_next_assertion.handle,
    Command.SELECTION: selection.handle,
    Command.CREDENTIAL_MANAGEMENT: credential_management.handle,
    Command.CREDENTIAL_MANAGEMENT_PREVIEW: credential_management.handle,
    Command.LARGE_BLOBS: large_blobs.handle,
    Command.CONFIG: config_command.handle,
}
