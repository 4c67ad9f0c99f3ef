"""WebAuthn client extensions (L3 section 10.1) over the CTAP 2.1 extensions behind them
(section 12): ``credentialProtectionPolicy`` -> credProtect, ``prf`` -> hmac-secret (and
hmac-secret-mc), ``largeBlob`` -> largeBlobKey and authenticatorLargeBlobs,
``credBlob``/``getCredBlob`` -> credBlob, ``minPinLength``.

A ceremony first checks its inputs, before any authenticator is asked (``check_creation``,
``check_request``); then a plan holds the CTAP extension inputs and whatever it needs to read
the outputs (an hmac-secret shared secret, the largeBlob request). A CTAP extension is sent only
when getInfo lists it; without it the output is what the specification says for an
authenticator that lacks it (``prf.enabled`` false, ``largeBlob.supported`` false, ...).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from vauth import base64url
from vauth.ctap.extensions.cred_blob import NAME as CRED_BLOB
from vauth.ctap.extensions.cred_protect import NAME as CRED_PROTECT
from vauth.ctap.extensions.hmac_secret import MC_NAME as HMAC_SECRET_MC
from vauth.ctap.extensions.hmac_secret import NAME as HMAC_SECRET
from vauth.ctap.extensions.hmac_secret import SALT_LENGTH
from vauth.ctap.extensions.hmac_secret import Key as HmacSecretKey
from vauth.ctap.extensions.large_blob_key import KEY_LENGTH as LARGE_BLOB_KEY_LENGTH
from vauth.ctap.extensions.large_blob_key import NAME as LARGE_BLOB_KEY
from vauth.ctap.extensions.min_pin_length import NAME as MIN_PIN_LENGTH
from vauth.ctap.messages.get_assertion import GetAssertionResponse
from vauth.ctap.messages.make_credential import MakeCredentialResponse
from vauth.webauthn.ctap_messages import AuthenticatorInfo, Channel
from vauth.webauthn.errors import ClientFailure, WebAuthnError, failed
from vauth.webauthn.large_blob import Authorize, LargeBlobArray, read_blob, write_blob
from vauth.webauthn.options import (
    CREDENTIAL_PROTECTION_POLICIES,
    CreationExtensions,
    CredentialDescriptor,
    PrfInputs,
    PrfValues,
    RequestExtensions,
)
from vauth.webauthn.pin import PinSession

PRF_CONTEXT = b"WebAuthn PRF\x00"


def prf_salt(value: bytes) -> bytes:
    """An hmac-secret salt from a PRF input: SHA-256("WebAuthn PRF" || 0x00 || input)."""
    return hashlib.sha256(PRF_CONTEXT + value).digest()


def large_blobs_supported(info: AuthenticatorInfo) -> bool:
    return LARGE_BLOB_KEY in info.extensions and info.options.get("largeBlobs") is True


class HmacSecret:
    """One hmac-secret exchange under a fresh key agreement (CTAP 2.1 section 12.5)."""

    def __init__(
        self, session: PinSession, key_agreement: dict[int, Any], shared_secret: bytes
    ) -> None:
        self._protocol = session.protocol
        self._key_agreement = key_agreement
        self._shared_secret = shared_secret

    @classmethod
    async def start(cls, channel: Channel, info: AuthenticatorInfo) -> HmacSecret | None:
        """A key agreement with the authenticator, or None if it offers none."""
        try:
            session = PinSession(channel, info.pin_uv_auth_protocols or (1,))
            key_agreement, shared_secret = await session.shared_secret()
        except WebAuthnError:
            return None
        return cls(session, key_agreement, shared_secret)

    def input(self, values: PrfValues) -> dict[int, Any]:
        """The hmac-secret input map: keyAgreement, saltEnc, saltAuth, pinUvAuthProtocol."""
        salts = prf_salt(values.first)
        if values.second is not None:
            salts += prf_salt(values.second)
        salt_enc = self._protocol.encrypt(self._shared_secret, salts)
        return {
            HmacSecretKey.KEY_AGREEMENT: self._key_agreement,
            HmacSecretKey.SALT_ENC: salt_enc,
            HmacSecretKey.SALT_AUTH: self._protocol.authenticate(self._shared_secret, salt_enc),
            HmacSecretKey.PIN_UV_AUTH_PROTOCOL: self._protocol.version,
        }

    def results(self, output: Any, values: PrfValues) -> dict[str, str] | None:
        """AuthenticationExtensionsPRFValues from the encrypted hmac-secret output."""
        if not isinstance(output, bytes):
            return None
        plain = self._protocol.decrypt(self._shared_secret, output)
        expected = SALT_LENGTH * (1 if values.second is None else 2)
        if plain is None or len(plain) != expected:
            return None
        results = {"first": base64url.encode(plain[:SALT_LENGTH])}
        if values.second is not None:
            results["second"] = base64url.encode(plain[SALT_LENGTH:])
        return results


# -- create() ------------------------------------------------------------------------------------


def check_creation(extensions: CreationExtensions, info: AuthenticatorInfo, rk: bool) -> None:
    """The errors of client extension processing at registration (L3 10.1.4, 10.1.5)."""
    prf = extensions.prf
    if prf is not None and prf.eval_by_credential is not None:
        raise WebAuthnError("NotSupportedError", "create: prf.evalByCredential is for get()")
    large_blob = extensions.large_blob
    if large_blob is None:
        return
    if large_blob.read is not None or large_blob.write is not None:
        raise WebAuthnError("NotSupportedError", "create: largeBlob read and write are for get()")
    # Only a discoverable credential can have a largeBlobKey (CTAP 2.1 section 12.3).
    if large_blob.support == "required" and not (rk and large_blobs_supported(info)):
        raise failed(ClientFailure.NO_LARGE_BLOB, "create")


@dataclass(frozen=True, slots=True)
class CreationPlan:
    requested: CreationExtensions
    inputs: dict[str, Any]  # the CTAP extension inputs of makeCredential
    hmac_secret: HmacSecret | None = None  # with hmac-secret-mc salts sent

    def outputs(
        self, extension_outputs: dict[str, Any], response: MakeCredentialResponse
    ) -> dict[str, Any]:
        """clientExtensionResults from the authenticator data's extension outputs and the
        makeCredential response (its member largeBlobKey)."""
        requested = self.requested
        results: dict[str, Any] = {}
        if requested.prf is not None:
            prf: dict[str, Any] = {"enabled": extension_outputs.get(HMAC_SECRET) is True}
            if self.hmac_secret is not None and requested.prf.eval is not None:
                values = self.hmac_secret.results(
                    extension_outputs.get(HMAC_SECRET_MC), requested.prf.eval
                )
                if values is not None:
                    prf["results"] = values
            results["prf"] = prf
        if requested.large_blob is not None:
            key = response.large_blob_key
            supported = LARGE_BLOB_KEY in self.inputs and _is_large_blob_key(key)
            results["largeBlob"] = {"supported": supported}
        if requested.cred_blob is not None:
            results["credBlob"] = extension_outputs.get(CRED_BLOB) is True
        length = extension_outputs.get(MIN_PIN_LENGTH)
        if requested.min_pin_length and isinstance(length, int) and not isinstance(length, bool):
            results["minPinLength"] = length
        return results


def _cred_protect(extensions: CreationExtensions, info: AuthenticatorInfo) -> int | None:
    """The credProtect level to send (CTAP 2.1 section 12.1, "Client extension processing")."""
    policy = extensions.credential_protection_policy
    if policy is None:
        return None
    level = CREDENTIAL_PROTECTION_POLICIES[policy]
    if CRED_PROTECT not in info.extensions:
        if extensions.enforce_credential_protection_policy and level > 1:
            raise WebAuthnError(
                "NotAllowedError", "create: the authenticator cannot enforce credProtect"
            )
        return None
    return level


async def creation_plan(
    extensions: CreationExtensions, info: AuthenticatorInfo, channel: Channel, rk: bool
) -> CreationPlan:
    inputs: dict[str, Any] = {}
    level = _cred_protect(extensions, info)
    if level is not None:
        inputs[CRED_PROTECT] = level
    hmac_secret = None
    if extensions.prf is not None and HMAC_SECRET in info.extensions:
        inputs[HMAC_SECRET] = True
        if extensions.prf.eval is not None and HMAC_SECRET_MC in info.extensions:
            hmac_secret = await HmacSecret.start(channel, info)
            if hmac_secret is not None:
                inputs[HMAC_SECRET_MC] = hmac_secret.input(extensions.prf.eval)
    # A largeBlob without a known support value is taken as "preferred".
    if extensions.large_blob is not None and rk and large_blobs_supported(info):
        inputs[LARGE_BLOB_KEY] = True
    if extensions.cred_blob is not None and CRED_BLOB in info.extensions:
        inputs[CRED_BLOB] = extensions.cred_blob
    if extensions.min_pin_length and MIN_PIN_LENGTH in info.extensions:
        inputs[MIN_PIN_LENGTH] = True
    return CreationPlan(extensions, inputs, hmac_secret)


# -- get() ---------------------------------------------------------------------------------------


def _credential_id(key: str) -> bytes | None:
    """An evalByCredential key as a credential ID: None if empty or not base64url."""
    try:
        return base64url.decode(key) if key else None
    except ValueError:
        return None


def check_request(
    extensions: RequestExtensions, allow_credentials: Sequence[CredentialDescriptor]
) -> None:
    """The errors of client extension processing at authentication (L3 10.1.4, 10.1.5)."""
    prf = extensions.prf
    if prf is not None and prf.eval_by_credential:
        if not allow_credentials:
            raise WebAuthnError(
                "NotSupportedError", "get: prf.evalByCredential needs allowCredentials"
            )
        allowed = {c.id for c in allow_credentials}
        for key in prf.eval_by_credential:
            if _credential_id(key) not in allowed:
                raise WebAuthnError(
                    "SyntaxError",
                    f"get: prf.evalByCredential key {key!r} is not in allowCredentials",
                )
    large_blob = extensions.large_blob
    if large_blob is None:
        return
    if large_blob.support is not None:
        raise WebAuthnError("NotSupportedError", "get: largeBlob.support is for create()")
    if large_blob.read is not None and large_blob.write is not None:
        raise WebAuthnError("NotSupportedError", "get: largeBlob takes read or write, not both")
    if large_blob.write is not None and len(allow_credentials) != 1:
        raise WebAuthnError(
            "NotSupportedError", "get: largeBlob.write needs exactly one allowCredentials entry"
        )


def needs_credential_choice(
    extensions: RequestExtensions, allow: Sequence[CredentialDescriptor]
) -> bool:
    """Whether the salts depend on which of several allowed credentials the authenticator has
    (evalByCredential): the client then finds it first, silently."""
    prf = extensions.prf
    return prf is not None and bool(prf.eval_by_credential) and len(allow) > 1


def needs_large_blob_write_token(extensions: RequestExtensions, info: AuthenticatorInfo) -> bool:
    """Whether a pinUvAuthToken with the lbw permission is needed: a largeBlob write to an
    authenticator with a PIN or built-in user verification (CTAP 2.1 section 6.10.2)."""
    large_blob = extensions.large_blob
    protected = info.options.get("uv") is True or info.options.get("clientPin") is True
    return (
        large_blob is not None
        and large_blob.write is not None
        and large_blobs_supported(info)
        and protected
    )


def _prf_values(prf: PrfInputs, allow: Sequence[CredentialDescriptor]) -> PrfValues | None:
    """L3 10.1.4 step 4: evalByCredential's entry for the credential that will answer (known
    when the allow list has one entry), else eval."""
    if prf.eval_by_credential and len(allow) == 1:
        for key, values in prf.eval_by_credential.items():
            if _credential_id(key) == allow[0].id:
                return values
    return prf.eval


@dataclass(frozen=True, slots=True)
class RequestPlan:
    requested: RequestExtensions
    inputs: dict[str, Any]  # the CTAP extension inputs of getAssertion
    channel: Channel
    info: AuthenticatorInfo
    prf_values: PrfValues | None = None
    hmac_secret: HmacSecret | None = None

    @property
    def work(self) -> bool:
        """Whether any client extension was asked for (else its results are empty)."""
        requested = self.requested
        return (
            requested.prf is not None or requested.large_blob is not None or requested.get_cred_blob
        )

    async def outputs(
        self,
        extension_outputs: dict[str, Any],
        response: GetAssertionResponse,
        authorize: Authorize,
    ) -> dict[str, Any]:
        """clientExtensionResults from the authenticator data's extension outputs and the
        getAssertion response (its member largeBlobKey); a largeBlob read or write
        happens here, after the assertion."""
        requested = self.requested
        results: dict[str, Any] = {}
        if requested.prf is not None:
            prf: dict[str, Any] = {}
            if self.hmac_secret is not None and self.prf_values is not None:
                values = self.hmac_secret.results(
                    extension_outputs.get(HMAC_SECRET), self.prf_values
                )
                if values is not None:
                    prf["results"] = values
            results["prf"] = prf
        large_blob = requested.large_blob
        if large_blob is not None and (large_blob.read or large_blob.write is not None):
            results["largeBlob"] = await self._large_blob(response.large_blob_key, authorize)
        blob = extension_outputs.get(CRED_BLOB)
        if requested.get_cred_blob and CRED_BLOB in self.inputs and isinstance(blob, bytes):
            results["getCredBlob"] = base64url.encode(blob)
        return results

    async def _large_blob(self, key: Any, authorize: Authorize) -> dict[str, Any]:
        large_blob = self.requested.large_blob
        assert large_blob is not None
        usable = LARGE_BLOB_KEY in self.inputs and _is_large_blob_key(key)
        array = LargeBlobArray(self.channel, self.info.max_msg_size) if usable else None
        if large_blob.write is not None:
            written = array is not None and await write_blob(
                array,
                key,
                large_blob.write,
                authorize,
                self.info.max_serialized_large_blob_array,
            )
            return {"written": written}
        blob = await read_blob(array, key) if array is not None else None
        return {} if blob is None else {"blob": base64url.encode(blob)}


async def request_plan(
    extensions: RequestExtensions,
    info: AuthenticatorInfo,
    channel: Channel,
    allow: Sequence[CredentialDescriptor],
) -> RequestPlan:
    """The CTAP inputs for the getAssertion that will carry ``allow``."""
    inputs: dict[str, Any] = {}
    prf_values = hmac_secret = None
    if extensions.prf is not None:
        prf_values = _prf_values(extensions.prf, allow)
        if prf_values is not None and HMAC_SECRET in info.extensions:
            hmac_secret = await HmacSecret.start(channel, info)
            if hmac_secret is not None:
                inputs[HMAC_SECRET] = hmac_secret.input(prf_values)
    large_blob = extensions.large_blob
    if (
        large_blob is not None
        and (large_blob.read or large_blob.write is not None)
        and large_blobs_supported(info)
    ):
        inputs[LARGE_BLOB_KEY] = True
    if extensions.get_cred_blob and CRED_BLOB in info.extensions:
        inputs[CRED_BLOB] = True  # getCredBlob is the WebAuthn name; CTAP's is credBlob
    return RequestPlan(extensions, inputs, channel, info, prf_values, hmac_secret)


def _is_large_blob_key(key: Any) -> bool:
    return isinstance(key, bytes) and len(key) == LARGE_BLOB_KEY_LENGTH
