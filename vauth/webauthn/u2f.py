"""navigator.credentials.create()/get() over a CTAP1/U2F-only authenticator, as a browser maps
them (CTAP 2.1 section 10.2, "Using the CTAP2 authenticatorMakeCredential Command with CTAP1/U2F
authenticators", and 10.3 for authenticatorGetAssertion): U2F_REGISTER and U2F_AUTHENTICATE.

U2F makes only non-discoverable ES256 credentials and cannot verify the user, so a request
that requires either is refused with NotAllowedError, as Chromium refuses it."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

from vauth.ctap import cbor
from vauth.ctap.cose import KeyType, Label
from vauth.webauthn import client_data
from vauth.webauthn.attestation import AttestationResult, convey
from vauth.webauthn.errors import WebAuthnError
from vauth.webauthn.options import parse_creation_options, parse_request_options
from vauth.webauthn.origin import parse_origin, resolve_rp_id
from vauth.webauthn.responses import authentication_response_json, registration_response_json

Apdu = Callable[[bytes], Awaitable[bytes]]  # request APDU -> response data || status word
REGISTER, AUTHENTICATE = 0x01, 0x02
CHECK_ONLY, ENFORCE_USER_PRESENCE = 0x07, 0x03
NO_ERROR, CONDITIONS_NOT_SATISFIED = 0x9000, 0x6985
ES256 = -7
P256 = 1  # the P-256 curve of an EC2 key (RFC 9053 section 7.1)
FLAGS_UP_AT = 0x41  # section 10.2: UP and AT; the counter is 0 and the AAGUID zero
MAX_KEY_HANDLE = 255


class U2fClient:
    """The WebAuthn client in front of a U2F-only authenticator reached by APDUs."""

    def __init__(self, apdu: Apdu, transport: str = "usb", attachment: str = "cross-platform"):
        self._apdu = apdu
        self.transport = transport
        self.authenticator_attachment = attachment

    async def _send(self, ins: int, p1: int, data: bytes) -> tuple[int, bytes]:
        # extended length encoding: CLA INS P1 P2 00 Lc(2) data Le(2)
        apdu = bytes([0, ins, p1, 0, 0]) + len(data).to_bytes(2, "big") + data + b"\x00\x00"
        answer = await self._apdu(apdu)
        return int.from_bytes(answer[-2:], "big"), answer[:-2]

    async def _ours(self, app: bytes, challenge: bytes, key_handle: bytes) -> bool:
        """U2F_AUTHENTICATE check-only: "conditions not satisfied" means the handle is ours."""
        data = challenge + app + bytes([len(key_handle)]) + key_handle
        status, _ = await self._send(AUTHENTICATE, CHECK_ONLY, data)
        return status == CONDITIONS_NOT_SATISFIED

    async def create(
        self, options: dict[str, Any] | str, origin: str, *, top_origin: str | None = None
    ) -> dict[str, Any]:
        opts = parse_creation_options(options)
        caller = parse_origin(origin)
        rp_id = resolve_rp_id(opts.rp.id, caller)
        if opts.pub_key_cred_params and not any(p.alg == ES256 for p in opts.pub_key_cred_params):
            raise WebAuthnError("NotSupportedError", "create: U2F makes ES256 credentials only")
        selection = opts.authenticator_selection
        if selection.resident_key == "required" or selection.user_verification == "required":
            raise WebAuthnError(
                "NotAllowedError", "create: a U2F authenticator has no resident keys or UV"
            )
        data = _client_data(client_data.CREATE, opts.challenge, caller.serialize(), top_origin)
        challenge, app = hashlib.sha256(data).digest(), hashlib.sha256(rp_id.encode()).digest()
        for excluded in opts.exclude_credentials:
            if len(excluded.id) <= MAX_KEY_HANDLE and await self._ours(app, challenge, excluded.id):
                raise WebAuthnError("InvalidStateError", "create: an excluded credential is here")
        status, body = await self._send(REGISTER, 0, challenge + app)
        if status != NO_ERROR or len(body) < 67 or body[0] != 0x05:
            raise WebAuthnError("NotAllowedError", "create: the U2F authenticator refused")
        point, length = body[1:66], body[66]
        key_handle, rest = body[67 : 67 + length], body[67 + length :]
        certificate_length = _der_length(rest)
        certificate, signature = rest[:certificate_length], rest[certificate_length:]
        public_key = {
            Label.KTY: KeyType.EC2,
            Label.ALG: ES256,
            Label.CRV: P256,
            Label.X: point[1:33],
            Label.Y: point[33:65],
        }
        auth_data = (
            app
            + bytes([FLAGS_UP_AT])
            + bytes(4)
            + bytes(16)
            + len(key_handle).to_bytes(2, "big")
            + key_handle
            + cbor.encode(public_key)
        )
        statement = {"sig": signature, "x5c": [certificate]}
        result = convey(
            AttestationResult("fido-u2f", auth_data, statement), bytes(16), opts.attestation, False
        )
        results = {"credProps": {"rk": False}} if opts.extensions.cred_props else {}
        return registration_response_json(
            key_handle,
            data,
            result,
            public_key,
            [self.transport],
            self.authenticator_attachment,
            results,
        )

    async def get(
        self, options: dict[str, Any] | str, origin: str, *, top_origin: str | None = None
    ) -> dict[str, Any]:
        opts = parse_request_options(options)
        caller = parse_origin(origin)
        rp_id = resolve_rp_id(opts.rp_id, caller)
        if opts.user_verification == "required" or not opts.allow_credentials:
            raise WebAuthnError(
                "NotAllowedError", "get: a U2F authenticator needs allowCredentials and has no UV"
            )
        data = _client_data(client_data.GET, opts.challenge, caller.serialize(), top_origin)
        challenge, app = hashlib.sha256(data).digest(), hashlib.sha256(rp_id.encode()).digest()
        for descriptor in opts.allow_credentials:
            key_handle = descriptor.id
            if len(key_handle) > MAX_KEY_HANDLE or not await self._ours(app, challenge, key_handle):
                continue
            data_in = challenge + app + bytes([len(key_handle)]) + key_handle
            status, body = await self._send(AUTHENTICATE, ENFORCE_USER_PRESENCE, data_in)
            if status != NO_ERROR or len(body) < 6:
                break
            return authentication_response_json(
                key_handle, data, app + body[:5], body[5:], None, self.authenticator_attachment, {}
            )
        raise WebAuthnError("NotAllowedError", "get: no credential of this authenticator")


def _client_data(kind: str, challenge: bytes, origin: str, top_origin: str | None) -> bytes:
    top = parse_origin(top_origin).serialize() if top_origin is not None else None
    cross = top if top is not None and top != origin else None
    return client_data.client_data_json(kind, challenge, origin, cross)


def _der_length(der: bytes) -> int:
    """The whole length of the DER element (the attestation certificate) at the start."""
    if len(der) < 2 or der[0] != 0x30:
        raise WebAuthnError("UnknownError", "create: malformed U2F attestation certificate")
    if der[1] < 0x80:
        return 2 + der[1]
    octets = der[1] & 0x7F
    return 2 + octets + int.from_bytes(der[2 : 2 + octets], "big")
