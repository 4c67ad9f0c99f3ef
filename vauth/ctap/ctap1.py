"""CTAP1/U2F raw messages (FIDO U2F Raw Message Formats v1.2; CTAP 2.1 section 10), the APDUs
that CTAPHID_MSG carries: U2F_REGISTER, U2F_AUTHENTICATE and U2F_VERSION.

A key handle is a CTAP2 non-discoverable credential ID (``vauth.ctap.credential_id``) sealed for
the application parameter. So a U2F credential is usable through CTAP2 getAssertion by an RP
whose rpIdHash is that application parameter (the WebAuthn ``appid`` extension), and an ES256
credential made through CTAP2 is usable here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

from vauth.ctap.cose import Algorithm, CoseKey
from vauth.ctap.credential import Credential
from vauth.ctap.credential_id import NONCE_LENGTH
from vauth.ctap.extensions import cred_protect
from vauth.ctap.lookup import find_credential, next_sign_count
from vauth.ctap.ports import Ceremony, PresenceRequest

if TYPE_CHECKING:
    from vauth.ctap.authenticator import Authenticator

logger = logging.getLogger(__name__)

U2F_VERSION = b"U2F_V2"
REGISTER_RESERVED_BYTE = 0x05  # "reserved byte [...] for legacy reasons"
PARAMETER_LENGTH = 32  # challenge and application parameters: SHA-256 hashes
USER_PRESENT = 0x01
U2F_ATTESTATION = "fido-u2f"


class StatusWord(IntEnum):
    """ISO 7816-4 status words as U2F uses them (raw message formats section 3.3)."""

    NO_ERROR = 0x9000
    WRONG_LENGTH = 0x6700
    CONDITIONS_NOT_SATISFIED = 0x6985
    COMMAND_NOT_ALLOWED = 0x6986
    WRONG_DATA = 0x6A80
    INS_NOT_SUPPORTED = 0x6D00
    CLA_NOT_SUPPORTED = 0x6E00
    NO_PRECISE_DIAGNOSIS = 0x6F00


class Instruction(IntEnum):
    REGISTER = 0x01
    AUTHENTICATE = 0x02
    VERSION = 0x03


class Control(IntEnum):
    """U2F_AUTHENTICATE's control byte (P1), raw message formats section 5.1."""

    ENFORCE_USER_PRESENCE_AND_SIGN = 0x03
    CHECK_ONLY = 0x07
    DONT_ENFORCE_USER_PRESENCE_AND_SIGN = 0x08


class ApduError(Exception):
    """Raised anywhere in this module; only :func:`process_apdu` turns it into a status word."""

    def __init__(self, status_word: StatusWord, detail: str = "") -> None:
        self.status_word = status_word
        self.detail = detail
        super().__init__(status_word.name + (f": {detail}" if detail else ""))


@dataclass(frozen=True, slots=True)
class Apdu:
    """A command APDU, short or extended encoding (ISO 7816-4 section 5.1)."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes
    ne: int | None  # Le decoded (0 means the maximum), None when absent

    @classmethod
    def parse(cls, apdu: bytes) -> Apdu:
        if len(apdu) < 4:
            raise ApduError(StatusWord.WRONG_LENGTH, "shorter than an APDU header")
        cla, ins, p1, p2 = apdu[:4]
        body = apdu[4:]
        if not body:  # case 1
            return cls(cla, ins, p1, p2, b"", None)
        if len(body) == 1:  # case 2S
            return cls(cla, ins, p1, p2, b"", body[0] or 256)
        if body[0]:  # cases 3S and 4S: Lc in one byte
            data, rest = body[1 : 1 + body[0]], body[1 + body[0] :]
            if len(data) != body[0] or len(rest) > 1:
                raise ApduError(StatusWord.WRONG_LENGTH, "short APDU length mismatch")
            return cls(cla, ins, p1, p2, data, (rest[0] or 256) if rest else None)
        if len(body) < 3:
            raise ApduError(StatusWord.WRONG_LENGTH, "truncated extended length")
        if len(body) == 3:  # case 2E
            return cls(cla, ins, p1, p2, b"", int.from_bytes(body[1:3], "big") or 65536)
        length = int.from_bytes(body[1:3], "big")  # cases 3E and 4E
        data, rest = body[3 : 3 + length], body[3 + length :]
        if len(data) != length or len(rest) not in (0, 2):
            raise ApduError(StatusWord.WRONG_LENGTH, "extended APDU length mismatch")
        return cls(cla, ins, p1, p2, data, (int.from_bytes(rest, "big") or 65536) if rest else None)


@dataclass(frozen=True, slots=True)
class RegisterRequest:
    """U2F_REGISTER request message (raw message formats section 4.1)."""

    challenge_parameter: bytes
    application_parameter: bytes

    @classmethod
    def from_apdu(cls, apdu: Apdu) -> RegisterRequest:
        if len(apdu.data) != 2 * PARAMETER_LENGTH:
            raise ApduError(StatusWord.WRONG_LENGTH, "U2F_REGISTER takes 64 bytes")
        return cls(apdu.data[:PARAMETER_LENGTH], apdu.data[PARAMETER_LENGTH:])


@dataclass(frozen=True, slots=True)
class AuthenticateRequest:
    """U2F_AUTHENTICATE request message (raw message formats section 5.1)."""

    control: Control
    challenge_parameter: bytes
    application_parameter: bytes
    key_handle: bytes

    @classmethod
    def from_apdu(cls, apdu: Apdu) -> AuthenticateRequest:
        data = apdu.data
        fixed = 2 * PARAMETER_LENGTH + 1
        if len(data) < fixed or len(data) != fixed + data[fixed - 1]:
            raise ApduError(StatusWord.WRONG_LENGTH, "U2F_AUTHENTICATE length mismatch")
        try:
            control = Control(apdu.p1)
        except ValueError:
            raise ApduError(StatusWord.WRONG_DATA, f"control byte 0x{apdu.p1:02x}") from None
        return cls(
            control,
            data[:PARAMETER_LENGTH],
            data[PARAMETER_LENGTH : 2 * PARAMETER_LENGTH],
            data[fixed:],
        )


async def process_apdu(authenticator: Authenticator, apdu: bytes) -> bytes:
    """One command APDU -> response data || SW1 SW2. Never raises."""
    try:
        data = await handle(authenticator, Apdu.parse(bytes(apdu)))
    except ApduError as exc:
        logger.debug("U2F request refused: %s", exc)
        return exc.status_word.to_bytes(2, "big")
    except Exception:
        logger.exception("unexpected error while processing a U2F request")
        return StatusWord.NO_PRECISE_DIAGNOSIS.to_bytes(2, "big")
    return data + StatusWord.NO_ERROR.to_bytes(2, "big")


async def handle(authenticator: Authenticator, apdu: Apdu) -> bytes:
    if apdu.cla != 0x00:
        raise ApduError(StatusWord.CLA_NOT_SUPPORTED)
    if apdu.ins == Instruction.VERSION:
        if apdu.data:
            raise ApduError(StatusWord.WRONG_LENGTH, "U2F_VERSION takes no data")
        return U2F_VERSION
    if apdu.ins == Instruction.REGISTER:
        request = RegisterRequest.from_apdu(apdu)
        await _check_allowed(authenticator)
        return await register(authenticator, request)
    if apdu.ins == Instruction.AUTHENTICATE:
        authenticate_request = AuthenticateRequest.from_apdu(apdu)
        await _check_allowed(authenticator)
        return await authenticate(authenticator, authenticate_request)
    raise ApduError(StatusWord.INS_NOT_SUPPORTED, f"INS 0x{apdu.ins:02x}")


async def _check_allowed(authenticator: Authenticator) -> None:
    """With alwaysUv on, U2F (which cannot verify the user) is off (CTAP 2.1 section 7.2.2).
    Any U2F ceremony also ends the CTAP2 state that spans commands."""
    authenticator.state.clear()
    if (await authenticator.pin_state()).always_uv:
        raise ApduError(StatusWord.COMMAND_NOT_ALLOWED, "alwaysUv is on")


async def register(authenticator: Authenticator, request: RegisterRequest) -> bytes:
    """U2F_REGISTER (raw message formats section 4): a new ES256 key sealed into its handle,
    attested by the authenticator's attestation key."""
    env = authenticator.env
    presence = await env.presence.confirm(
        PresenceRequest(Ceremony.MAKE_CREDENTIAL, discoverable=False, attestation=U2F_ATTESTATION)
    )
    if not presence.present:
        await _audit(authenticator, Ceremony.MAKE_CREDENTIAL, None, "OPERATION_DENIED")
        raise ApduError(StatusWord.CONDITIONS_NOT_SATISFIED, "user declined")
    key = env.keys.generate_key(Algorithm.ES256)
    keep = authenticator.config.keep_non_discoverable  # a tester's: stored whole, as Chromium's
    key_handle = (
        env.keys.new_credential_id()
        if keep
        else (await authenticator.wrapper()).wrap(
            request.application_parameter,
            key,
            int(cred_protect.CredProtect.UV_OPTIONAL),
            False,
            env.keys.random_bytes(NONCE_LENGTH),
        )
    )
    credential = Credential(
        credential_id=key_handle,
        rp_id="",  # U2F names no site, only its hash
        rp_id_hash=request.application_parameter,
        user_handle=None,
        private_key=b"",
        algorithm=int(Algorithm.ES256),
        discoverable=False,
        created=env.clock.now_ms(),
        sealed=not keep,
        stored=keep,
    )
    if keep:
        credential._key = key
        await env.store.put(credential)
        await next_sign_count(env.store, credential)  # Chromium counts the registration
    else:
        await env.store.note_sealed(credential)
    user_public_key = uncompressed_point(key)
    identity = await authenticator.attestation_identity()
    signature = identity.key.sign(
        b"\x00"
        + request.application_parameter
        + request.challenge_parameter
        + key_handle
        + user_public_key
    )
    await _audit(authenticator, Ceremony.MAKE_CREDENTIAL, key_handle, "ok")
    return (
        bytes([REGISTER_RESERVED_BYTE])
        + user_public_key
        + bytes([len(key_handle)])
        + key_handle
        + identity.chain[0]
        + signature
    )


async def authenticate(authenticator: Authenticator, request: AuthenticateRequest) -> bytes:
    """U2F_AUTHENTICATE (raw message formats section 5): a key handle of ours for this
    application parameter signs, with user presence unless told not to enforce it."""
    app_param = request.application_parameter
    credential = await find_credential(authenticator, "", app_param, request.key_handle)
    if (
        credential is None
        or credential.algorithm != Algorithm.ES256
        or not cred_protect.usable(credential.cred_protect, False, True)
    ):
        raise ApduError(StatusWord.WRONG_DATA, "not a key handle of ours for this application")
    if request.control is Control.CHECK_ONLY:
        raise ApduError(StatusWord.CONDITIONS_NOT_SATISFIED, "check-only: the key handle is ours")
    user_presence = 0x00
    if request.control is Control.ENFORCE_USER_PRESENCE_AND_SIGN:
        presence = await authenticator.env.presence.confirm(
            PresenceRequest(
                Ceremony.GET_ASSERTION, rp_id=credential.rp_id or None, credential_count=1
            )
        )
        if not presence.present:
            await _audit(
                authenticator, Ceremony.GET_ASSERTION, credential.credential_id, "OPERATION_DENIED"
            )
            raise ApduError(StatusWord.CONDITIONS_NOT_SATISFIED, "user declined")
        user_presence = USER_PRESENT
    counter = await next_sign_count(authenticator.store, credential) & 0xFFFFFFFF
    signed = bytes([user_presence]) + counter.to_bytes(4, "big")
    signature = credential.key.sign(app_param + signed + request.challenge_parameter)
    if (credential.stored or credential.sealed) and user_presence:
        credential.last_used = authenticator.env.clock.now_ms()
        await authenticator.env.store.touch(credential.credential_id, credential.last_used)
    if user_presence:
        await _audit(authenticator, Ceremony.GET_ASSERTION, credential.credential_id, "ok")
    return signed + signature


def uncompressed_point(key: CoseKey) -> bytes:
    """The public key as U2F sends it: 0x04 || x || y (SEC 1 section 2.3.3)."""
    cose = key.cose_public_key()
    x: bytes = cose[-2]
    y: bytes = cose[-3]
    return b"\x04" + x + y


async def _audit(
    authenticator: Authenticator, ceremony: Ceremony, credential_id: bytes | None, outcome: str
) -> None:
    """Into the audit log, like CTAP2 ceremonies (a U2F request names no RP, only its hash)."""
    await authenticator.record_use(ceremony.value, None, credential_id, outcome)
