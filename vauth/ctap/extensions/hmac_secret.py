"""hmac-secret (CTAP 2.1 section 12.5) and hmac-secret-mc (CTAP 2.2 section 12.7).

A credential made with hmac-secret has two 32-byte secrets, CredRandomWithUV and
CredRandomWithoutUV. The platform sends salts encrypted under a PIN/UV protocol shared secret
and gets back ``encrypt(shared secret, HMAC-SHA-256(CredRandom, salt1) [|| ... salt2])``, with
the CredRandom that matches the UV flag of the response. hmac-secret-mc does the same at
makeCredential, so a new credential's secret needs no second ceremony.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from vauth.ctap.credential import CRED_RANDOM_LENGTH as CRED_RANDOM_LENGTH
from vauth.ctap.parse import optional, required, typed
from vauth.ctap.status import CtapError, CtapStatus

if TYPE_CHECKING:
    from vauth.ctap.credential import Credential
    from vauth.ctap.pin_protocol import PinUvAuthProtocol
    from vauth.ctap.pin_uv import PinUvAuth

NAME = "hmac-secret"
MC_NAME = "hmac-secret-mc"
SALT_LENGTH = 32


class Key:
    """The hmac-secret (and hmac-secret-mc) input map's keys (CTAP 2.1 section 12.5); plain
    ints, so the codec's fast path encodes the client's input map."""

    KEY_AGREEMENT: Final = 0x01
    SALT_ENC: Final = 0x02
    SALT_AUTH: Final = 0x03
    PIN_UV_AUTH_PROTOCOL: Final = 0x04


@dataclass(frozen=True, slots=True)
class HmacSecretInput:
    """The getAssertion (or hmac-secret-mc) input map."""

    key_agreement: dict[Any, Any]
    salt_enc: bytes
    salt_auth: bytes
    pin_uv_auth_protocol: int

    @classmethod
    def from_cbor(cls, value: Any, what: str) -> HmacSecretInput:
        params = typed(value, dict, what)
        key_agreement = required(params, Key.KEY_AGREEMENT, dict, f"{what}.keyAgreement")
        salt_enc = required(params, Key.SALT_ENC, bytes, f"{what}.saltEnc")
        salt_auth = required(params, Key.SALT_AUTH, bytes, f"{what}.saltAuth")
        # Absent: protocol 1 (the only one CTAP 2.0 platforms know).
        protocol = optional(params, Key.PIN_UV_AUTH_PROTOCOL, int, f"{what}.pinUvAuthProtocol")
        return cls(key_agreement, salt_enc, salt_auth, 1 if protocol is None else protocol)


@dataclass(frozen=True, slots=True)
class Salts:
    """Salts opened under a shared secret, kept to encrypt the outputs under it again."""

    protocol: PinUvAuthProtocol
    shared_secret: bytes
    salts: tuple[bytes, ...]

    def output(self, cred_random: bytes) -> bytes:
        """encrypt(shared secret, output1 [|| output2])."""
        outputs = b"".join(hmac.digest(cred_random, salt, "sha256") for salt in self.salts)
        return self.protocol.encrypt(self.shared_secret, outputs)


def requested(extensions: dict[str, Any]) -> bool:
    """Whether makeCredential asks for hmac-secret (its value must be a boolean)."""
    if NAME not in extensions:
        return False
    return required(extensions, NAME, bool, NAME)


def open_salts(pin_uv: PinUvAuth, request: HmacSecretInput) -> Salts:
    """Steps of section 12.5: the shared secret, saltAuth, then the salts themselves."""
    protocol = pin_uv.protocol_for(request.pin_uv_auth_protocol)
    shared_secret = protocol.decapsulate(request.key_agreement)
    if not protocol.verify(shared_secret, request.salt_enc, request.salt_auth):
        raise CtapError(CtapStatus.PIN_AUTH_INVALID, "saltAuth does not verify")
    plain = protocol.decrypt(shared_secret, request.salt_enc)
    if plain is None or len(plain) not in (SALT_LENGTH, 2 * SALT_LENGTH):
        raise CtapError(CtapStatus.INVALID_PARAMETER, "the salts must be 32 or 64 bytes")
    salts = tuple(plain[i : i + SALT_LENGTH] for i in range(0, len(plain), SALT_LENGTH))
    return Salts(protocol, shared_secret, salts)


def cred_random(credential: Credential, user_verified: bool) -> bytes | None:
    """The CredRandom to use: WithUV if the response carries UV, else WithoutUV."""
    if user_verified:
        return credential.cred_random_with_uv
    return credential.cred_random_without_uv
