"""The public Python API: WebDriver-shaped credential commands, seeds, sync and async use."""

from __future__ import annotations

import asyncio
import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from fido2.ctap import CtapError
from fido2.ctap2 import Ctap2

from tests.conftest import RP, cdh, user
from vauth import VirtualAuthenticator
from vauth.ctap import cbor
from vauth.testing.doubles import InMemoryStore, VauthCtapDevice


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pkcs8(key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) -> str:
    return b64(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def params(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "credentialId": b64(b"credential-1"),
        "isResidentCredential": True,
        "rpId": "example.com",
        "privateKey": pkcs8(ec.generate_private_key(ec.SECP256R1())),
        "userHandle": b64(b"user-1"),
        "signCount": 7,
        "userName": "alice",
        "userDisplayName": "Alice",
    }
    base.update(overrides)
    return base


def test_added_credential_signs_and_counts_on(va: VirtualAuthenticator) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    va.add_credential(params(privateKey=pkcs8(key)))
    ctap = Ctap2(VauthCtapDevice(va))
    client_data_hash = cdh()
    assertion = ctap.get_assertion("example.com", client_data_hash)
    assert assertion.credential["id"] == b"credential-1"
    assert assertion.user == {"id": b"user-1"}
    assert assertion.auth_data.counter == 8
    key.public_key().verify(
        assertion.signature, assertion.auth_data + client_data_hash, ec.ECDSA(hashes.SHA256())
    )
    [listed] = va.get_credentials()
    assert listed["signCount"] == 8
    assert listed["credentialId"] == b64(b"credential-1")
    assert listed["privateKey"] == pkcs8(key)
    assert listed["userName"] == "alice" and listed["isResidentCredential"] is True


def test_non_resident_added_credential_needs_its_id(va: VirtualAuthenticator) -> None:
    va.add_credential(
        params(
            isResidentCredential=False,
            userHandle=None,
            privateKey=pkcs8(ed25519.Ed25519PrivateKey.generate()),
        )
    )
    ctap = Ctap2(VauthCtapDevice(va))
    with pytest.raises(CtapError):
        ctap.get_assertion("example.com", cdh())
    allow = [{"type": "public-key", "id": b"credential-1"}]
    assert ctap.get_assertion("example.com", cdh(), allow).user is None
    assert va.get_credentials()[0]["isResidentCredential"] is False


def test_get_credentials_round_trips_through_add(va: VirtualAuthenticator) -> None:
    ctap = Ctap2(VauthCtapDevice(va))
    ctap.make_credential(
        cdh(), RP, user(), [{"type": "public-key", "alg": -7}], options={"rk": True, "uv": True}
    )
    exported = va.get_credentials()
    other = VirtualAuthenticator()
    for credential in exported:
        other.add_credential(credential)
    assert other.get_credentials() == exported


def test_remove_credentials(va: VirtualAuthenticator) -> None:
    va.add_credential(params())
    va.add_credential(params(credentialId=b64(b"credential-2"), userHandle=b64(b"user-2")))
    va.remove_credential(b64(b"credential-1"))
    assert [c["credentialId"] for c in va.get_credentials()] == [b64(b"credential-2")]
    with pytest.raises(KeyError):
        va.remove_credential(b64(b"credential-1"))
    va.remove_all_credentials()
    assert va.get_credentials() == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"credentialId": "***"}, "credentialId"),
        ({"privateKey": b64(b"not a key")}, "privateKey"),
        ({"userHandle": None}, "userHandle"),
        ({"signCount": -1}, "signCount"),
        ({"rpId": ""}, "rpId"),
        ({"backupState": "yes"}, "backupState"),
    ],
)
def test_bad_credential_parameters_name_the_field(
    va: VirtualAuthenticator, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        va.add_credential(params(**overrides))
    assert va.get_credentials() == []


def test_missing_credential_parameter(va: VirtualAuthenticator) -> None:
    incomplete = params()
    del incomplete["rpId"]
    with pytest.raises(ValueError, match="rpId is missing"):
        va.add_credential(incomplete)


def test_seed_makes_runs_reproducible() -> None:
    def run(seed: int) -> bytes:
        va = VirtualAuthenticator(seed=seed)
        request = b"\x01" + cbor.encode(
            {
                1: hashlib.sha256(b"x").digest(),
                2: RP,
                3: user(),
                4: [{"alg": -7, "type": "public-key"}],
                7: {"rk": False},
            }
        )
        return va.process(request)

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_seeded_rsa_and_eddsa_are_reproducible() -> None:
    def key(seed: int, alg: int) -> dict[int, object]:
        ctap = Ctap2(VauthCtapDevice(VirtualAuthenticator(seed=seed)))
        att = ctap.make_credential(cdh(), RP, user(), [{"type": "public-key", "alg": alg}])
        return dict(att.auth_data.credential_data.public_key)

    assert key(5, -257) == key(5, -257)
    assert key(5, -8) == key(5, -8) != key(6, -8)


async def test_sync_api_inside_a_running_loop_and_async_twins() -> None:
    va = VirtualAuthenticator()
    assert va.process(b"\x04")[0] == 0  # still works though a loop is running here
    assert (await va.aprocess(b"\x04"))[0] == 0
    assert asyncio.get_running_loop().is_running()


def test_closed_authenticator_refuses_work() -> None:
    va = VirtualAuthenticator()
    va.close()
    with pytest.raises(RuntimeError, match="closed"):
        va.process(b"\x04")


def test_configuration_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="transport"):
        VirtualAuthenticator(transport="carrier-pigeon")
    with pytest.raises(ValueError, match="protocol"):
        VirtualAuthenticator(protocol="ctap3")
    with pytest.raises(ValueError, match="attestation"):
        VirtualAuthenticator(attestation="fancy")
    with pytest.raises(ValueError, match="unsupported extensions: hmac-secretish"):
        VirtualAuthenticator(extensions=["credProtect", "hmac-secretish"])
    with pytest.raises(ValueError, match="aaguid"):
        VirtualAuthenticator(aaguid="not-a-uuid")


def test_aaguid_as_uuid_string() -> None:
    va = VirtualAuthenticator(aaguid="01234567-89ab-cdef-0123-456789abcdef")
    info = Ctap2(VauthCtapDevice(va)).info
    assert info.aaguid == bytes.fromhex("0123456789abcdef0123456789abcdef")


def test_extensions_can_be_switched_off() -> None:
    va = VirtualAuthenticator(extensions=[])
    assert Ctap2(VauthCtapDevice(va)).info.extensions == []


def test_private_keys_stay_out_of_repr() -> None:
    store = InMemoryStore()
    VirtualAuthenticator(store=store).add_credential(params())
    credential = asyncio.run(store.all())[0]
    assert credential.private_key.hex() not in repr(credential)
    assert "privateKey" not in repr(credential)


def test_pytest_plugin_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_uses_fixture(virtual_authenticator, vauth_ctap_device):
            from fido2.ctap2 import Ctap2
            assert Ctap2(vauth_ctap_device).info.versions[-1] == "FIDO_2_1"
            assert virtual_authenticator.get_credentials() == []
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"rpId": "co.uk"}, "public suffix"),  # WebAuthn L3 5.1.3 step 7: no RP can claim it
        ({"rpId": "127.0.0.1"}, "IP address"),
        ({"signCount": 2**40}, "32 bits"),  # WebAuthn L3 6.1: signCount is a 32-bit integer
    ],
)
def test_add_credential_refuses_what_an_export_would_refuse(
    va: VirtualAuthenticator, overrides: dict[str, object], reason: str
) -> None:
    """W3C WebDriver 11.3 Credential Parameters have one parser (vault/webdriver.py), for "Add
    Credential" and for imports alike: what one takes, the export of it carries."""
    with pytest.raises(ValueError, match=reason):
        va.add_credential(params(**overrides))
    assert va.get_credentials() == []


def test_added_credentials_round_trip_through_a_webdriver_export(
    va: VirtualAuthenticator,
) -> None:
    va.add_credential(params(signCount=2**32 - 1))
    exported = va.export_credentials("webdriver", plaintext=True)
    with VirtualAuthenticator() as other:
        assert other.import_credentials(exported).skipped == []
        assert other.get_credentials()[0]["signCount"] == 2**32 - 1
