"""The authenticator: ``process(bytes) -> bytes`` around a typed ``handle(command, params)``.

Parse first, then dispatch (CTAP 2.1 section 6). Only this module turns a ``CtapError`` into a
status byte; any other exception is logged and answered with ERR_OTHER, so no input can kill
the process that hosts the core.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from vauth.ctap import cbor
from vauth.ctap.attestation.certificates import (
    AttestationIdentity,
    certificate_aaguid,
    issue_attestation_certificate,
    make_ca,
)
from vauth.ctap.commands.credential_management import (
    ENUMERATE_CREDENTIALS_GET_NEXT_CREDENTIAL,
    ENUMERATE_RPS_GET_NEXT_RP,
)
from vauth.ctap.config import AuthenticatorConfig
from vauth.ctap.cose import Algorithm, CoseKey
from vauth.ctap.credential_id import CredentialIdWrapper
from vauth.ctap.pin_protocol import PinUvAuthProtocol, PinUvAuthProtocolTwo
from vauth.ctap.pin_state import PinState, TokenState
from vauth.ctap.ports import AuditRecord, Environment, PortError
from vauth.ctap.state import CommandState, Continuation
from vauth.ctap.status import CtapError, CtapStatus

if TYPE_CHECKING:
    from vauth.ctap.commands.large_blobs import PendingWrite

logger = logging.getLogger(__name__)

Params = dict[Any, Any]
Handler = Callable[["Authenticator", Params], Awaitable[Params | None]]


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
_CREDENTIAL_MANAGEMENT_CONTINUATIONS = {
    ENUMERATE_RPS_GET_NEXT_RP: Continuation.RPS,
    ENUMERATE_CREDENTIALS_GET_NEXT_CREDENTIAL: Continuation.CREDENTIALS,
}


def _continuation(command: Command, params: Params) -> Continuation | None:
    """The state ``command`` continues; every other command clears all of it."""
    if command is Command.GET_NEXT_ASSERTION:
        return Continuation.ASSERTIONS
    if command in (Command.CREDENTIAL_MANAGEMENT, Command.CREDENTIAL_MANAGEMENT_PREVIEW):
        sub_command = params.get(0x01)
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
        return b"\x00" + cbor.encode(response)

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

    async def request(self, command: int, params: Params | None = None) -> Params:
        """The typed twin of :meth:`process` for clients in this process: the same requests as
        maps, no CBOR; a failure is raised as CtapError, never as anything else."""
        try:
            typed = Command(command)
        except ValueError:
            raise CtapError(CtapStatus.INVALID_COMMAND, f"command 0x{command:02x}") from None
        try:
            return await self.handle(typed, params or {}) or {}
        except (CtapError, PortError):
            raise
        except Exception:
            logger.exception("unexpected error while handling a CTAP request")
            raise CtapError(CtapStatus.OTHER) from None

    # -- the typed core -----------------------------------------------------------------------

    async def handle(self, command: Command, params: Params) -> Params | None:
        handler = _handlers().get(command)
        if handler is None or (command in _CTAP21_ONLY and self.config.protocol != "ctap2_1"):
            raise CtapError(CtapStatus.INVALID_COMMAND, f"{command.name} is not supported")
        self.state.clear(keep=_continuation(command, params))
        self.state.last_command = command
        if command not in _AUDITED:
            return await handler(self, params)
        try:
            result = await handler(self, params)
        except CtapError as exc:
            await self._audit(command, params, None, exc.status.name)
            raise
        await self._audit(command, params, result, "ok")
        return result

    async def _audit(
        self, command: Command, params: Params, result: Params | None, outcome: str
    ) -> None:
        """Log a ceremony: its RP, the credential used, the outcome. Silent probes (up=false)
        and malformed requests are not ceremonies."""
        options = params.get(0x07 if command is Command.MAKE_CREDENTIAL else 0x05)
        if isinstance(options, dict) and options.get("up") is False:
            return
        rp = params.get(0x02) if command is Command.MAKE_CREDENTIAL else params.get(0x01)
        rp_id = rp.get("id") if isinstance(rp, dict) else rp
        if command is Command.GET_NEXT_ASSERTION or not isinstance(rp_id, str):
            rp_id = None
        credential_id = None
        if result is not None:
            if command is Command.MAKE_CREDENTIAL:
                auth_data = result[0x02]
                length = int.from_bytes(auth_data[53:55], "big")
                credential_id = auth_data[55 : 55 + length]
            else:
                credential_id = result[0x01]["id"]
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


_HANDLERS: dict[Command, Handler] | None = None


def _handlers() -> dict[Command, Handler]:
    """The dispatch table (built on first use: command modules import this one for types)."""
    global _HANDLERS
    if _HANDLERS is None:
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

        _HANDLERS = {
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
            Command.CONFIG: config.handle,
        }
    return _HANDLERS
