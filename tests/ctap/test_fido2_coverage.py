"""The peer audit of issue 10: every CTAP element vauth implements, driven by python-fido2's own
objects (Fido2Client and its extension processors, Ctap2, ClientPin, Config), so that a name or
a key that vauth's core and vauth's client share by mistake cannot pass. The elements the other
peer test files already drive are not repeated here; see the matrix in the issue."""

from __future__ import annotations

import asyncio
import hmac
import os
from typing import Any

import pytest
from fido2.client import DefaultClientDataCollector, Fido2Client, UserInteraction
from fido2.ctap import CtapError
from fido2.ctap2 import Config, Ctap2
from fido2.ctap2.extensions import (
    CredBlobExtension,
    CredPropsExtension,
    CredProtectExtension,
    HmacSecretExtension,
    MinPinLengthExtension,
)
from fido2.ctap2.pin import ClientPin
from fido2.utils import websafe_decode
from fido2.webauthn import (
    AuthenticatorData,
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialCreationOptions,
    PublicKeyCredentialDescriptor,
    PublicKeyCredentialParameters,
    PublicKeyCredentialRequestOptions,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialUserEntity,
)

from tests.conftest import RP, cdh, user
from vauth import VirtualAuthenticator
from vauth.ctap import cbor
from vauth.ctap.config import MAX_CREDENTIAL_COUNT_IN_LIST, MAX_CREDENTIAL_ID_LENGTH
from vauth.ctap.credential import Credential
from vauth.testing.doubles import InMemoryStore, VauthCtapDevice

ERR = CtapError.ERR
PERM = ClientPin.PERMISSION
RP_ID = "example.com"
ORIGIN = f"https://{RP_ID}"
PIN = "1234"
ES256 = [{"type": "public-key", "alg": -7}]


class PinEntry(UserInteraction):
    """The user of a security key without built-in UV: types the PIN when asked."""

    def request_pin(self, permissions: ClientPin.PERMISSION, rp_id: str | None) -> str:
        return PIN


def client_for(va: VirtualAuthenticator, **kw: Any) -> Fido2Client:
    return Fido2Client(
        VauthCtapDevice(va), DefaultClientDataCollector(ORIGIN), user_interaction=PinEntry(), **kw
    )


def register(
    client: Fido2Client, name: str, extensions: dict[str, Any], rk: str = "required"
) -> Any:
    return client.make_credential(
        PublicKeyCredentialCreationOptions(
            rp=PublicKeyCredentialRpEntity(id=RP_ID, name="Example"),
            user=PublicKeyCredentialUserEntity(id=name.encode(), name=name, display_name=name),
            challenge=os.urandom(32),
            pub_key_cred_params=[PublicKeyCredentialParameters(type="public-key", alg=-7)],
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=rk, user_verification="required"
            ),
            extensions=extensions,
        )
    )


def authenticate(
    client: Fido2Client, credential_id: bytes | None, extensions: dict[str, Any]
) -> Any:
    allow = (
        [PublicKeyCredentialDescriptor(type="public-key", id=credential_id)]
        if credential_id is not None
        else None
    )
    return client.get_assertion(
        PublicKeyCredentialRequestOptions(
            challenge=os.urandom(32),
            rp_id=RP_ID,
            allow_credentials=allow,
            user_verification="required",
            extensions=extensions,
        )
    )


def made_extensions(registration: Any) -> dict[str, Any]:
    return dict(registration.response.attestation_object.auth_data.extensions or {})


def stored(store: InMemoryStore) -> list[Credential]:
    return list(asyncio.run(store.all()))


@pytest.fixture
def store() -> InMemoryStore:
    """The authenticator's credential store, made here so that a test reads it directly."""
    return InMemoryStore()


@pytest.fixture(params=["built-in-uv", "pin"])
def va(request: pytest.FixtureRequest, store: InMemoryStore) -> VirtualAuthenticator:
    """Fido2Client gets its pinUvAuthToken by built-in UV (clientPIN 0x06) or by PIN (0x09)."""
    if request.param == "built-in-uv":
        return VirtualAuthenticator(store=store)
    authenticator = VirtualAuthenticator(has_user_verification=False, store=store)
    ClientPin(Ctap2(VauthCtapDevice(authenticator))).set_pin(PIN)
    return authenticator


# -- makeCredential extensions through Fido2Client's extension processors -------------------


@pytest.mark.parametrize(
    ("policy", "level"),
    [
        ("userVerificationOptional", 1),
        ("userVerificationOptionalWithCredentialIDList", 2),
        ("userVerificationRequired", 3),
    ],
)
def test_cred_protect(
    va: VirtualAuthenticator, store: InMemoryStore, policy: str, level: int
) -> None:
    """CTAP 2.1 section 12.1: CredProtectExtension sends credProtect: <1..3>; the authenticator
    data says the level it kept, and the credential keeps it."""
    client = client_for(va, extensions=[CredProtectExtension()])
    made = register(
        client,
        "alice",
        {"credentialProtectionPolicy": policy, "enforceCredentialProtectionPolicy": True},
    )
    assert made_extensions(made) == {"credProtect": level}
    (credential,) = stored(store)
    assert credential.cred_protect == level
    response = authenticate(client, made.raw_id, {}).get_response(0)
    assert response.raw_id == made.raw_id


def test_min_pin_length_for_rp_ids_set_through_config() -> None:
    """CTAP 2.1 sections 12.4 and 6.11.4: Config.set_min_pin_length(rp_ids=...) lists the RP IDs;
    MinPinLengthExtension sends minPinLength: true; only a listed RP ID is told the length."""
    va = VirtualAuthenticator(has_user_verification=False)
    ctap = Ctap2(VauthCtapDevice(va))
    client_pin = ClientPin(ctap)
    client_pin.set_pin(PIN)
    client = client_for(va, extensions=[MinPinLengthExtension()])
    assert made_extensions(register(client, "alice", {"minPinLength": True})) == {}
    token = client_pin.get_pin_token(PIN, PERM.AUTHENTICATOR_CFG)
    Config(ctap, client_pin.protocol, token).set_min_pin_length(rp_ids=[RP_ID])
    made = register(client, "bob", {"minPinLength": True})
    assert made_extensions(made) == {"minPinLength": 4}
    assert made_extensions(register(client, "carol", {})) == {}


@pytest.mark.parametrize("version", [1, 2])
def test_hmac_secret_as_hmac_create_and_get_secret(version: int) -> None:
    """CTAP 2.1 section 12.5 (and 2.2 section 12.7, hmac-secret-mc) through python-fido2's
    HmacSecretExtension with the legacy hmacCreateSecret/hmacGetSecret inputs, under each
    PIN/UV auth protocol: the outputs are HMAC-SHA-256(CredRandomWithUV, salt)."""
    store = InMemoryStore()
    va = VirtualAuthenticator(store=store)
    for other in [v for v in list(va.authenticator.pin_protocols) if v != version]:
        del va.authenticator.pin_protocols[other]  # getInfo offers only ``version``
    client = client_for(va, extensions=[HmacSecretExtension(allow_hmac_secret=True)])
    salt1, salt2 = os.urandom(32), os.urandom(32)
    made = register(client, "alice", {"hmacCreateSecret": True, "hmacGetSecret": {"salt1": salt1}})
    results = dict(made.client_extension_results)
    assert results["hmacCreateSecret"] is True
    (credential,) = stored(store)
    key = credential.cred_random_with_uv
    assert key is not None
    assert websafe_decode(results["hmacGetSecret"]["output1"]) == hmac.digest(key, salt1, "sha256")
    got = authenticate(client, made.raw_id, {"hmacGetSecret": {"salt1": salt1, "salt2": salt2}})
    outputs = dict(got.get_response(0).client_extension_results)["hmacGetSecret"]
    assert websafe_decode(outputs["output1"]) == hmac.digest(key, salt1, "sha256")
    assert websafe_decode(outputs["output2"]) == hmac.digest(key, salt2, "sha256")


def test_cred_props_and_cred_blob_together(va: VirtualAuthenticator) -> None:
    """credProps (WebAuthn L3 10.1.3, the client's alone) beside credBlob (CTAP 2.1 section
    12.2): a discoverable credential keeps its blob, a non-discoverable one does not."""
    client = client_for(va, extensions=[CredPropsExtension(), CredBlobExtension()])
    made = register(client, "alice", {"credProps": True, "credBlob": b"blob"})
    assert dict(made.client_extension_results)["credProps"] == {"rk": True}
    assert made_extensions(made) == {"credBlob": True}
    plain = register(client, "bob", {"credProps": True, "credBlob": b"blob"}, rk="discouraged")
    assert dict(plain.client_extension_results)["credProps"] == {"rk": False}
    assert made_extensions(plain) == {"credBlob": False}
    for credential_id, blob in ((made.raw_id, b"blob"), (plain.raw_id, b"")):
        got = authenticate(client, credential_id, {"getCredBlob": True}).get_response(0)
        assert AuthenticatorData(got.response.authenticator_data).extensions == {"credBlob": blob}


# -- getAssertion / getNextAssertion ----------------------------------------------------------


def test_several_accounts_through_get_next_assertion(va: VirtualAuthenticator) -> None:
    """CTAP 2.1 sections 6.2.2 (numberOfCredentials) and 6.3 (getNextAssertion), as
    Fido2Client's AssertionSelection reads them: every account, with its user, after UV."""
    client = client_for(va)
    for name in ("alice", "bob", "carol"):
        register(client, name, {})
    selection = authenticate(client, None, {})
    assertions = selection.get_assertions()
    assert len(assertions) == 3
    assert {a.user["id"] for a in assertions} == {b"alice", b"bob", b"carol"}
    assert {a.user["name"] for a in assertions} == {"alice", "bob", "carol"}
    for index in range(3):
        response = selection.get_response(index).response
        assert AuthenticatorData(response.authenticator_data).is_user_verified()


def test_a_ctap2_0_platform_uses_get_pin_token() -> None:
    """CTAP 2.1 section 6.5.5.7.1 (getPinToken, 0x05) as a CTAP 2.0 platform meets it: with no
    pinUvAuthToken option, Fido2Client asks for a token without permissions and authenticates
    makeCredential and getAssertion with it (the default permissions mc and ga)."""
    va = VirtualAuthenticator(protocol="ctap2", has_user_verification=False)
    ClientPin(Ctap2(VauthCtapDevice(va))).set_pin(PIN)
    sub_commands: list[int] = []
    process = va.process

    def recording(request: bytes) -> bytes:
        if request[0] == Ctap2.CMD.CLIENT_PIN:
            sub_commands.append(cbor.decode(request[1:])[2])
        return process(request)

    va.process = recording  # type: ignore[method-assign]
    client = client_for(va)
    made = register(client, "alice", {})
    assert made.response.attestation_object.auth_data.is_user_verified()
    response = authenticate(client, made.raw_id, {}).get_response(0).response
    assert AuthenticatorData(response.authenticator_data).is_user_verified()
    assert ClientPin.CMD.GET_TOKEN_USING_PIN_LEGACY in sub_commands
    assert ClientPin.CMD.GET_TOKEN_USING_PIN not in sub_commands


# -- getInfo through python-fido2's Info -------------------------------------------------------


def test_get_info_members_as_python_fido2_reads_them() -> None:
    """CTAP 2.1 section 6.4: the members python-fido2's Info parses by their integer keys."""
    va = VirtualAuthenticator()
    info = Ctap2(VauthCtapDevice(va)).info
    config = va.authenticator.config
    assert info.aaguid == config.aaguid
    assert info.max_creds_in_list == MAX_CREDENTIAL_COUNT_IN_LIST
    assert info.max_cred_id_length == MAX_CREDENTIAL_ID_LENGTH
    assert info.pin_uv_protocols == [2, 1]
    assert info.firmware_version == config.firmware_version
    assert info.max_rpids_for_min_pin == config.max_rp_ids_for_set_min_pin_length
    assert info.force_pin_change is False and info.min_pin_length == 4
    assert info.options["setMinPINLength"] is True and info.options["authnrCfg"] is True
    assert "ep" not in info.options and "bioEnroll" not in info.options


# -- what vauth does not implement: refused or ignored as the specification says -------------


def test_enterprise_attestation_is_not_offered() -> None:
    """CTAP 2.1 section 6.1.2 step 4: without enterprise attestation (no "ep" in getInfo), an
    enterpriseAttestation parameter is CTAP1_ERR_INVALID_PARAMETER; section 6.11.1: Config's
    enableEnterpriseAttestation is refused too."""
    ctap = Ctap2(VauthCtapDevice(VirtualAuthenticator()))
    with pytest.raises(CtapError) as exc:
        ctap.make_credential(cdh(), RP, user(), ES256, enterprise_attestation=1)
    assert exc.value.code == ERR.INVALID_PARAMETER
    client_pin = ClientPin(ctap)
    client_pin.set_pin(PIN)
    token = client_pin.get_pin_token(PIN, PERM.AUTHENTICATOR_CFG)
    with pytest.raises(CtapError) as exc:
        Config(ctap, client_pin.protocol, token).enable_enterprise_attestation()
    assert exc.value.code == ERR.INVALID_SUBCOMMAND


@pytest.mark.parametrize(
    "extension",
    [
        {"thirdPartyPayment": True},  # CTAP 2.2 section 12.9, not offered
        {"pinComplexityPolicy": True},  # CTAP 2.2 section 12.8, not offered
        {"getCredBlob": True},  # a WebAuthn name, never a CTAP identifier
        {"credProps": True},  # a WebAuthn client extension, never sent to an authenticator
    ],
    ids=lambda e: next(iter(e)),
)
def test_unknown_extensions_are_ignored(extension: dict[str, Any]) -> None:
    """CTAP 2.1 section 6.1.2 (and 6.2.2): an extension the authenticator does not support is
    ignored, at makeCredential and getAssertion alike; no output appears for it."""
    ctap = Ctap2(VauthCtapDevice(VirtualAuthenticator()))
    made = ctap.make_credential(cdh(), RP, user(), ES256, extensions=extension)
    assert made.auth_data.extensions is None
    allow = [{"type": "public-key", "id": made.auth_data.credential_data.credential_id}]
    got = ctap.get_assertion(RP_ID, cdh(), allow, extensions=extension)
    assert got.auth_data.extensions is None


def test_bio_enrollment_is_not_a_command() -> None:
    """CTAP 2.1 section 6.7: without bioEnroll in getInfo, authenticatorBioEnrollment (0x09)
    and its prototype (0x40) are CTAP1_ERR_INVALID_COMMAND."""
    ctap = Ctap2(VauthCtapDevice(VirtualAuthenticator()))
    for command in (Ctap2.CMD.BIO_ENROLLMENT, Ctap2.CMD.BIO_ENROLLMENT_PRE):
        with pytest.raises(CtapError) as exc:
            ctap.send_cbor(command, {1: 1, 2: 1})
        assert exc.value.code == ERR.INVALID_COMMAND
