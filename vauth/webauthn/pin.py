"""The platform's side of clientPIN (CTAP 2.1 section 6.5): what a browser does with the PIN a
user types. vauth's client acts for its caller, who hands it the PIN (``VirtualAuthenticator(
pin=...)`` or ``set_pin``); the PIN never goes to the authenticator, only its hash, encrypted."""

from __future__ import annotations

import hashlib
import os
from typing import Any

from vauth.ctap.pin_protocol import PinUvAuthProtocol, PinUvAuthProtocolTwo
from vauth.ctap.status import CtapError, CtapStatus
from vauth.webauthn.ctap_messages import Channel
from vauth.webauthn.errors import WebAuthnError

CLIENT_PIN = 0x06
GET_KEY_AGREEMENT, SET_PIN, CHANGE_PIN, GET_PIN_TOKEN = 2, 3, 4, 5
GET_TOKEN_USING_UV, GET_TOKEN_USING_PIN = 6, 9
_PROTOCOLS: dict[int, type[PinUvAuthProtocol]] = {2: PinUvAuthProtocolTwo, 1: PinUvAuthProtocol}
_PIN_ERRORS = {
    CtapStatus.PIN_INVALID: "the PIN is wrong",
    CtapStatus.PIN_BLOCKED: "the PIN is blocked: reset the authenticator",
    CtapStatus.PIN_AUTH_BLOCKED: "too many wrong PINs: power-cycle the authenticator",
    CtapStatus.PIN_NOT_SET: "no PIN is set",
    CtapStatus.PIN_POLICY_VIOLATION: "the PIN does not meet the PIN policy",
}


def _pad(pin: str) -> bytes:
    raw = pin.encode("utf-8")
    if len(raw) > 63:
        raise WebAuthnError("NotAllowedError", "the PIN is longer than 63 bytes")
    return raw.ljust(64, b"\x00")


class PinSession:
    """One PIN/UV auth protocol session with an authenticator."""

    def __init__(self, channel: Channel, versions: tuple[int, ...]) -> None:
        version = next((v for v in versions if v in _PROTOCOLS), None)
        if version is None:
            raise WebAuthnError("NotAllowedError", "no PIN/UV auth protocol in common")
        self._channel = channel
        self.protocol = _PROTOCOLS[version](os.urandom)

    async def _call(self, sub_command: int, **params: Any) -> dict[Any, Any]:
        request = {0x01: self.protocol.version, 0x02: sub_command}
        keys = {
            "key_agreement": 0x03,
            "pin_uv_auth_param": 0x04,
            "new_pin_enc": 0x05,
            "pin_hash_enc": 0x06,
            "permissions": 0x09,
            "rp_id": 0x0A,
        }
        request.update({keys[k]: v for k, v in params.items() if v is not None})
        try:
            return await self._channel.request(CLIENT_PIN, request)
        except CtapError as exc:
            reason = _PIN_ERRORS.get(exc.status, f"clientPIN failed: {exc.status.name}")
            raise WebAuthnError("NotAllowedError", reason) from None

    async def shared_secret(self) -> tuple[dict[int, Any], bytes]:
        """A fresh key agreement: our ephemeral public key and the shared secret (also what
        hmac-secret encrypts its salts under, CTAP 2.1 section 12.5)."""
        self.protocol.regenerate()
        response = await self._call(GET_KEY_AGREEMENT)
        shared = self.protocol.decapsulate(response.get(0x01))
        return self.protocol.get_public_key(), shared

    async def set_pin(self, pin: str) -> None:
        key_agreement, shared = await self.shared_secret()
        new_pin_enc = self.protocol.encrypt(shared, _pad(pin))
        await self._call(
            SET_PIN,
            key_agreement=key_agreement,
            new_pin_enc=new_pin_enc,
            pin_uv_auth_param=self.protocol.authenticate(shared, new_pin_enc),
        )

    async def change_pin(self, old_pin: str, new_pin: str) -> None:
        key_agreement, shared = await self.shared_secret()
        new_pin_enc = self.protocol.encrypt(shared, _pad(new_pin))
        pin_hash_enc = self.protocol.encrypt(shared, _pin_hash(old_pin))
        await self._call(
            CHANGE_PIN,
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
                GET_PIN_TOKEN, key_agreement=key_agreement, pin_hash_enc=pin_hash_enc
            )
        else:
            response = await self._call(
                GET_TOKEN_USING_PIN,
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
            GET_TOKEN_USING_UV, key_agreement=key_agreement, permissions=permissions, rp_id=rp_id
        )
        return self._token(shared, response)

    def _token(self, shared: bytes, response: dict[Any, Any]) -> bytes:
        token_enc = response.get(0x02)
        token = self.protocol.decrypt(shared, token_enc) if isinstance(token_enc, bytes) else None
        if token is None or len(token) not in (16, 32):
            raise WebAuthnError("UnknownError", "the authenticator sent a malformed token")
        return token

    def authenticate(self, token: bytes, client_data_hash: bytes) -> bytes:
        return self.protocol.authenticate(token, client_data_hash)


def _pin_hash(pin: str) -> bytes:
    return hashlib.sha256(pin.encode("utf-8")).digest()[:16]
