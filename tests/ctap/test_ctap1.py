"""CTAP1/U2F: python-fido2's Ctap1 over vauth's CTAPHID device, the APDU encodings, and U2F
credentials meeting CTAP2 (the appid path)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

import pytest
from cryptography import x509
from fido2.attestation import InvalidSignature
from fido2.cose import ES256
from fido2.ctap import CtapError
from fido2.ctap1 import ApduError, Ctap1, SignatureData
from fido2.ctap2 import Ctap2
from fido2.hid import CtapHidDevice
from fido2.hid.base import HidDescriptor

from vauth import VirtualAuthenticator
from vauth.app.presence import ScriptedPresence
from vauth.app.store import InMemoryStore
from vauth.ctap import cbor
from vauth.ctap.authenticator import Authenticator
from vauth.ctap.ctap1 import Apdu, StatusWord, process_apdu
from vauth.testing.doubles import HidLoopbackConnection, open_hid_device

TIMEOUT = 10.0
DESCRIPTOR = HidDescriptor("vauth-loopback", 0x1209, 0x0001, 64, 64, "vauth", None)
APP_ID = "https://example.com/u2f/app-id.json"
APP_PARAM = hashlib.sha256(APP_ID.encode()).digest()


def open_hid(va: VirtualAuthenticator) -> tuple[CtapHidDevice, HidLoopbackConnection]:
    return open_hid_device(va)


@pytest.fixture
def hid(va: VirtualAuthenticator) -> Iterator[CtapHidDevice]:
    device, connection = open_hid(va)
    yield device
    connection.close()


@pytest.fixture
def u2f(hid: CtapHidDevice) -> Ctap1:
    return Ctap1(hid)


def client_param(label: bytes = b"client data") -> bytes:
    return hashlib.sha256(label + os.urandom(8)).digest()


def sw(word: int) -> bytes:
    return word.to_bytes(2, "big")


# -- through python-fido2 ---------------------------------------------------------------------


def test_version(u2f: Ctap1) -> None:
    assert u2f.get_version() == "U2F_V2"


def test_register_then_authenticate(u2f: Ctap1, va: VirtualAuthenticator) -> None:
    registration_param = client_param()
    registration = u2f.register(registration_param, APP_PARAM)
    registration.verify(APP_PARAM, registration_param)  # the attestation signature
    assert len(registration.public_key) == 65 and registration.public_key[0] == 0x04
    certificate = x509.load_der_x509_certificate(registration.certificate)
    ca = x509.load_pem_x509_certificate(va.attestation_ca_pem().encode())
    certificate.verify_directly_issued_by(ca)  # the authenticator's attestation identity
    with pytest.raises(InvalidSignature):  # bound to the challenge it signed
        registration.verify(APP_PARAM, client_param())

    counters = []
    for _ in range(3):
        challenge = client_param()
        signature = u2f.authenticate(challenge, APP_PARAM, registration.key_handle)
        signature.verify(APP_PARAM, challenge, registration.public_key)
        assert signature.user_presence == 0x01
        counters.append(signature.counter)
    assert counters[0] < counters[1] < counters[2]


def test_check_only(u2f: Ctap1, va: VirtualAuthenticator) -> None:
    registration = u2f.register(client_param(), APP_PARAM)
    with pytest.raises(ApduError) as exc:  # ours: "would sign, with presence"
        u2f.authenticate(client_param(), APP_PARAM, registration.key_handle, check_only=True)
    assert exc.value.code == 0x6985
    foreign_va = VirtualAuthenticator()
    foreign_device, connection = open_hid(foreign_va)
    try:
        foreign = Ctap1(foreign_device).register(client_param(), APP_PARAM)
    finally:
        connection.close()
    for key_handle, app_param in [
        (foreign.key_handle, APP_PARAM),  # another authenticator's
        (registration.key_handle, hashlib.sha256(b"https://evil.example").digest()),
        (os.urandom(len(registration.key_handle)), APP_PARAM),
        (b"", APP_PARAM),
    ]:
        with pytest.raises(ApduError) as exc:
            u2f.authenticate(client_param(), app_param, key_handle, check_only=True)
        assert exc.value.code == 0x6A80
        with pytest.raises(ApduError) as exc:
            u2f.authenticate(client_param(), app_param, key_handle)
        assert exc.value.code == 0x6A80


def test_dont_enforce_user_presence(u2f: Ctap1) -> None:
    registration = u2f.register(client_param(), APP_PARAM)
    challenge = client_param()
    key_handle = registration.key_handle
    data = challenge + APP_PARAM + bytes([len(key_handle)]) + key_handle
    signature = SignatureData(u2f.send_apdu(ins=0x02, p1=0x08, data=data))
    assert signature.user_presence == 0x00
    signature.verify(APP_PARAM, challenge, registration.public_key)


def test_declined_presence_is_conditions_not_satisfied() -> None:
    presence = ScriptedPresence([True, False, False])
    va = VirtualAuthenticator(presence=presence)
    device, connection = open_hid(va)
    try:
        u2f = Ctap1(device)
        registration = u2f.register(client_param(), APP_PARAM)
        with pytest.raises(ApduError) as exc:
            u2f.authenticate(client_param(), APP_PARAM, registration.key_handle)
        assert exc.value.code == 0x6985
        with pytest.raises(ApduError) as exc:
            u2f.register(client_param(), APP_PARAM)
        assert exc.value.code == 0x6985
        assert [r.ceremony.value for r in presence.requests] == [
            "makeCredential",
            "getAssertion",
            "makeCredential",
        ]
        assert presence.requests[0].attestation == "fido-u2f"
    finally:
        connection.close()
        va.close()


def test_a_u2f_credential_through_ctap2_get_assertion(u2f: Ctap1, hid: CtapHidDevice) -> None:
    """The WebAuthn appid extension: the client sends the AppID as the rpId, whose SHA-256 is
    the U2F application parameter."""
    registration = u2f.register(client_param(), APP_PARAM)
    u2f_counter = u2f.authenticate(client_param(), APP_PARAM, registration.key_handle).counter
    ctap = Ctap2(hid)
    cdh = client_param()
    allow = [{"type": "public-key", "id": registration.key_handle}]
    assertion = ctap.get_assertion(APP_ID, cdh, allow_list=allow)
    assert assertion.auth_data.rp_id_hash == APP_PARAM
    assert assertion.auth_data.is_user_present()
    assertion.verify(cdh, ES256.from_ctap1(registration.public_key))
    assert assertion.auth_data.counter > u2f_counter  # one counter for both protocols
    with pytest.raises(CtapError) as exc:  # sealed for the AppID's hash, not the origin's
        ctap.get_assertion("example.com", cdh, allow_list=allow)
    assert exc.value.code == CtapError.ERR.NO_CREDENTIALS


def test_a_ctap2_credential_through_u2f(u2f: Ctap1, hid: CtapHidDevice) -> None:
    ctap = Ctap2(hid)
    rp_id_hash = hashlib.sha256(b"example.com").digest()
    user = {"id": b"u1", "name": "u1"}
    made = ctap.make_credential(
        client_param(), {"id": "example.com"}, user, [{"type": "public-key", "alg": -7}]
    )
    credential = made.auth_data.credential_data
    assert credential is not None
    public_key = b"\x04" + credential.public_key[-2] + credential.public_key[-3]
    challenge = client_param()
    signature = u2f.authenticate(challenge, rp_id_hash, credential.credential_id)
    signature.verify(rp_id_hash, challenge, public_key)

    eddsa = ctap.make_credential(
        client_param(), {"id": "example.com"}, user, [{"type": "public-key", "alg": -8}]
    ).auth_data.credential_data
    assert eddsa is not None
    with pytest.raises(ApduError) as exc:  # U2F signs with P-256 only
        u2f.authenticate(client_param(), rp_id_hash, eddsa.credential_id)
    assert exc.value.code == 0x6A80


def test_register_is_audited() -> None:
    store = InMemoryStore()
    va = VirtualAuthenticator(store=store)
    device, connection = open_hid(va)
    try:
        registration = Ctap1(device).register(client_param(), APP_PARAM)
        Ctap1(device).authenticate(client_param(), APP_PARAM, registration.key_handle)
    finally:
        connection.close()
        va.close()
    assert [(r.ceremony, r.credential_id, r.outcome) for r in store.audit] == [
        ("makeCredential", registration.key_handle, "ok"),
        ("getAssertion", registration.key_handle, "ok"),
    ]


# -- APDUs, byte by byte --------------------------------------------------------------------


@pytest.fixture
def authenticator(va: VirtualAuthenticator) -> Authenticator:
    return va.authenticator


async def test_version_in_every_encoding(authenticator: Authenticator) -> None:
    ok = b"U2F_V2" + sw(0x9000)
    for apdu in [
        "00030000",  # case 1
        "0003000000",  # case 2S
        "00030000000000",  # case 2E
        "000300000000000000",  # Lc 0 and Le, as python-fido2 sends it
    ]:
        assert await process_apdu(authenticator, bytes.fromhex(apdu)) == ok, apdu


async def test_register_in_short_and_extended_encoding(authenticator: Authenticator) -> None:
    data = client_param() + APP_PARAM
    short = bytes([0, 1, 3, 0, 64]) + data + b"\x00"  # Lc 64, Le 256
    extended = bytes([0, 1, 0, 0, 0, 0, 64]) + data  # no Le
    for apdu in (short, extended):
        response = await process_apdu(authenticator, apdu)
        assert response[-2:] == sw(0x9000) and response[0] == 0x05


@pytest.mark.parametrize(
    ("apdu", "status"),
    [
        ("000300", StatusWord.WRONG_LENGTH),  # no full header
        ("0003000001aa", StatusWord.WRONG_LENGTH),  # U2F_VERSION takes no data
        ("000100000140" + "00" * 63, StatusWord.WRONG_LENGTH),  # Lc 64, 63 bytes
        ("0001000000003f" + "00" * 63, StatusWord.WRONG_LENGTH),  # REGISTER with 63
        ("00010000000040" + "00" * 64 + "00", StatusWord.WRONG_LENGTH),  # a 1-byte extended Le
        ("000100000000", StatusWord.WRONG_LENGTH),  # a truncated extended length
        ("00020300000041" + "00" * 64 + "05", StatusWord.WRONG_LENGTH),  # handle: 5, has 0
        ("00020300000042" + "00" * 64 + "00ff", StatusWord.WRONG_LENGTH),  # handle: 0, has 1
        ("00020300000041" + "00" * 64 + "00", StatusWord.WRONG_DATA),  # an empty handle
        ("80030000", StatusWord.CLA_NOT_SUPPORTED),
        ("00040000", StatusWord.INS_NOT_SUPPORTED),
        ("00c00000", StatusWord.INS_NOT_SUPPORTED),
        ("00020500000042" + "00" * 64 + "01ff", StatusWord.WRONG_DATA),  # unknown control
    ],
)
async def test_refused_apdus(authenticator: Authenticator, apdu: str, status: StatusWord) -> None:
    assert await process_apdu(authenticator, bytes.fromhex(apdu)) == sw(status)


def test_apdu_parsing() -> None:
    assert Apdu.parse(bytes.fromhex("00020700")) == Apdu(0, 2, 7, 0, b"", None)
    assert Apdu.parse(bytes.fromhex("0002070002abcd")) == Apdu(0, 2, 7, 0, b"\xab\xcd", None)
    assert Apdu.parse(bytes.fromhex("0002070002abcd00")).ne == 256
    assert Apdu.parse(bytes.fromhex("000207000000020102")).data == b"\x01\x02"
    assert Apdu.parse(bytes.fromhex("0002070000000201020100")).ne == 256
    assert Apdu.parse(bytes.fromhex("00020700000000")).ne == 65536


async def test_always_uv_turns_u2f_off() -> None:
    va = VirtualAuthenticator(has_user_verification=False)
    assert va.process(b"\x0d" + cbor.encode({1: 0x02})) == b"\x00"  # toggleAlwaysUv
    register = bytes([0, 1, 0, 0, 0, 0, 64]) + client_param() + APP_PARAM
    assert await process_apdu(va.authenticator, register) == sw(StatusWord.COMMAND_NOT_ALLOWED)
    assert await process_apdu(va.authenticator, bytes.fromhex("00030000")) == b"U2F_V2" + sw(0x9000)


async def test_u2f_ends_a_get_next_assertion_sequence(authenticator: Authenticator) -> None:
    for name in (b"a", b"b"):
        user = {"id": name, "name": name.decode()}
        params = {
            1: client_param(),
            2: {"id": "example.com"},
            3: user,
            4: [{"type": "public-key", "alg": -7}],
            7: {"rk": True, "uv": True},
        }
        await authenticator.request(0x01, params)
    first = await authenticator.request(0x02, {1: "example.com", 2: client_param()})
    assert first[0x05] == 2
    assert await process_apdu(authenticator, bytes.fromhex("00030000")) == b"U2F_V2" + sw(0x9000)
    assert authenticator.state.assertions is not None  # U2F_VERSION is no ceremony
    await process_apdu(authenticator, bytes([0, 2, 7, 0, 0, 0, 66]) + bytes(64) + b"\x01\x00")
    assert authenticator.state.assertions is None


def test_u2f_through_the_ctap_device_adapter() -> None:
    from fido2.ctap1 import Ctap1

    from vauth.testing.doubles import VauthCtapDevice

    ctap1 = Ctap1(VauthCtapDevice(VirtualAuthenticator()))
    assert ctap1.get_version() == "U2F_V2"
    client_param = hashlib.sha256(b"client data").digest()
    registration = ctap1.register(client_param, APP_PARAM)
    registration.verify(APP_PARAM, client_param)
    signature = ctap1.authenticate(client_param, APP_PARAM, registration.key_handle)
    signature.verify(APP_PARAM, client_param, registration.public_key)
