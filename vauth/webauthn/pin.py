"""The platform's side of clientPIN (CTAP 2.1 section 6.5): what a browser does with the PIN a
user types. vauth's client acts for its caller, who hands it the PIN (``VirtualAuthenticator(
pin=...)`` or ``set_pin``); the PIN never goes to the authenticator, only its hash, encrypted."""

from __future__ import annotations

import hashlib
import os
from typing import Any

from vauth.ctap.messages.client_pin import ClientPinRequest, ClientPinResponse, Subcommand
from vauth.ctap.messages.command import Command
from vauth.ctap.pin_protocol import PinUvAuthProtocol, PinUvAuthProtocolTwo
from vauth.ctap.pin_state import MAX_PIN_BYTES
from vauth.webauthn.ctap_messages import Channel, call
from vauth.webauthn.errors import ClientFailure, WebAuthnError, failed

_PROTOCOLS: dict[int, type[PinUvAuthProtocol]] = {2: PinUvAuthProtocolTwo, 1: PinUvAuthProtocol}
_PADDED_PIN_LENGTH = 64  # newPinEnc encrypts the PIN padded with zeros to 64 bytes


def _pad(pin: str) -> bytes:
    raw = pin.encode("utf-8")
    if len(raw) > MAX_PIN_BYTES:
        raise WebAuthnError("NotAllowedError", f"the PIN is longer than {MAX_PIN_BYTES} bytes")
    return raw.ljust(_PADDED_PIN_LENGTH, b"\x00")


class PinSession:
    """One PIN/UV auth protocol session with an authenticator."""

    def __init__(self, channel: Channel, versions: tuple[int, ...]) -> None:
        version = next((v for v in versions if v in _PROTOCOLS), None)
        if version is None:
            raise failed(ClientFailure.NO_PIN_PROTOCOL, "PIN")
        self._channel = channel
        self.protocol = _PROTOCOLS[version](os.urandom)

    async def _call(self, sub_command: Subcommand, **params: Any) -> ClientPinResponse:
        request = ClientPinRequest(
            sub_command=sub_command, pin_uv_auth_protocol=self.protocol.version, **params
        )
        return await call(
            self._channel, Command.CLIENT_PIN, request, ClientPinResponse, "clientPIN"
        )

    async def shared_secret(self) -> tuple[dict[int, Any], bytes]:
        """A fresh key agreement: our ephemeral public key and the shared secret (also what
        hmac-secret encrypts its salts under, CTAP 2.1 section 12.5)."""
        self.protocol.regenerate()
        response = await self._call(Subcommand.GET_KEY_AGREEMENT)
        shared = self.protocol.decapsulate(response.key_agreement)
        return self.protocol.get_public_key(), shared

    async def set_pin(self, pin: str) -> None:
        key_agreement, shared = await self.shared_secret()
        new_pin_enc = self.protocol.encrypt(shared, _pad(pin))
        await self._call(
            Subcommand.SET_PIN,
            key_agreement=key_agreement,
            new_pin_enc=new_pin_enc,
            pin_uv_auth_param=self.protocol.authenticate(shared, new_pin_enc),
        )

    async def change_pin(self, old_pin: str, new_pin: str) -> None:
        key_agreement, shared = await self.shared_secret()
        new_pin_enc = self.protocol.encrypt(shared, _pad(new_pin))
        pin_hash_enc = self.protocol.encrypt(shared, _pin_hash(old_pin))
        await self._call(
            Subcommand.CHANGE_PIN,
            key_agreement=key_agreement,
            new_pin_enc=new_pin_enc,
            pin_hash_enc=pin_hash_enc,
            pin_uv_auth_param=self.protocol.authenticate(shared, new_pin_enc + pin_hash_enc),
        )

    async def token(self, pin: str, permissions: int | None, rp_id: str | None) -> bytes:
        """A pinUvAuthToken: with permissions where the authenticator supports them."""
        key_agreement, shared = await self.shared_secret()
        pin_hash_enc = self.protocol.encrypt(shared, _pin_hash(pin))
        if permissions is None:
            response = await self._call(
                Subcommand.GET_PIN_TOKEN, key_agreement=key_agreement, pin_hash_enc=pin_hash_enc
            )
        else:
            response = await self._call(
                Subcommand.GET_PIN_UV_AUTH_TOKEN_USING_PIN_WITH_PERMISSIONS,
                key_agreement=key_agreement,
                pin_hash_enc=pin_hash_enc,
                permissions=permissions,
                rp_id=rp_id,
            )
        return self._token(shared, response)

    async def uv_token(self, permissions: int, rp_id: str | None) -> bytes:
        """A pinUvAuthToken from built-in user verification
        (getPinUvAuthTokenUsingUvWithPermissions, section 6.5.5.7.3)."""
        key_agreement, shared = await self.shared_secret()
        response = await self._call(
            Subcommand.GET_PIN_UV_AUTH_TOKEN_USING_UV_WITH_PERMISSIONS,
            key_agreement=key_agreement,
            permissions=permissions,
            rp_id=rp_id,
        )
        return self._token(shared, response)

    def _token(self, shared: bytes, response: ClientPinResponse) -> bytes:
        token_enc = response.pin_uv_auth_token
        token = self.protocol.decrypt(shared, token_enc) if token_enc is not None else None
        if token is None or len(token) not in (16, 32):
            raise failed(ClientFailure.MALFORMED_RESPONSE, "PIN: a pinUvAuthToken")
        return token

    def authenticate(self, token: bytes, client_data_hash: bytes) -> bytes:
        return self.protocol.authenticate(token, client_data_hash)


def _pin_hash(pin: str) -> bytes:
    return hashlib.sha256(pin.encode("utf-8")).digest()[:16]
