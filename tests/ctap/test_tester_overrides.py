"""What a tester controls beyond WebDriver (CDP WebAuthn's setResponseOverrideBits, a chosen
failure, sign counters, extension switches, events), driven by python-fido2's Ctap2 and checked
with python-fido2's own parsing and signature verification.

CDP WebAuthn domain (https://chromedevtools.github.io/devtools-protocol/tot/WebAuthn/):
"setResponseOverrideBits: Resets parameters isBogusSignature, isBadUV, isBadUP to false if they
are not present." CTAP 2.1 section 6.1 (authenticatorData flags: bit 0 UP, bit 2 UV).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from fido2.cose import CoseKey
from fido2.ctap import CtapError
from fido2.ctap2 import Ctap2
from fido2.webauthn import AuthenticatorData

from tests.conftest import RP, cdh, user
from vauth import VirtualAuthenticator
from vauth.base64url import encode
from vauth.testing.doubles import VauthCtapDevice

ES256 = [{"type": "public-key", "alg": -7}]
UP, UV = 0x01, 0x04


def make(ctap: Ctap2, name: str = "alice") -> Any:
    return ctap.make_credential(cdh(), RP, user(name), ES256, options={"rk": True, "uv": True})


def assertion(ctap: Ctap2, client_data_hash: bytes, uv: bool = True) -> Any:
    return ctap.get_assertion(RP["id"], client_data_hash, options={"uv": uv})


def test_bogus_signature_is_one_zero_byte_and_does_not_verify(
    va: VirtualAuthenticator, ctap: Ctap2
) -> None:
    made = make(ctap)
    public_key = CoseKey.parse(made.auth_data.credential_data.public_key)
    va.set_response_override_bits(is_bogus_signature=True)
    hash_ = cdh()
    bogus = assertion(ctap, hash_)
    assert bogus.signature == b"\x00"  # as Chromium's virtual authenticator sends it
    with pytest.raises(InvalidSignature):
        public_key.verify(bytes(bogus.auth_data) + hash_, bogus.signature)
    va.set_response_override_bits()  # CDP: the bits left out are reset to false
    hash_ = cdh()
    good = assertion(ctap, hash_)
    public_key.verify(bytes(good.auth_data) + hash_, good.signature)


def test_bad_uv_and_bad_up_clear_the_flags_of_both_ceremonies(
    va: VirtualAuthenticator, ctap: Ctap2
) -> None:
    assert make(ctap).auth_data.flags & (UP | UV) == UP | UV
    va.set_response_override_bits(is_bad_uv=True)
    assert make(ctap, "bob").auth_data.flags & (UP | UV) == UP
    assert assertion(ctap, cdh()).auth_data.flags & (UP | UV) == UP
    va.set_response_override_bits(is_bad_up=True)
    assert assertion(ctap, cdh()).auth_data.flags & (UP | UV) == UV
    va.set_response_override_bits(is_bad_uv=True, is_bad_up=True)
    assert assertion(ctap, cdh()).auth_data.flags & (UP | UV) == 0


def test_bogus_signature_also_spoils_a_packed_attestation() -> None:
    va = VirtualAuthenticator(attestation="packed-self")
    ctap = Ctap2(VauthCtapDevice(va))
    va.set_response_override_bits(is_bogus_signature=True)
    made = make(ctap)
    assert made.att_stmt["sig"] == b"\x00"


def test_fail_next_fails_the_next_operation_once_with_the_chosen_status(
    va: VirtualAuthenticator, ctap: Ctap2
) -> None:
    make(ctap)
    va.fail_next("NO_CREDENTIALS")
    with pytest.raises(CtapError) as exc:
        assertion(ctap, cdh())
    assert exc.value.code == CtapError.ERR.NO_CREDENTIALS
    assertion(ctap, cdh())  # once only
    va.fail_next(0x27)  # OPERATION_DENIED, by number
    with pytest.raises(CtapError) as exc:
        make(ctap, "bob")
    assert exc.value.code == CtapError.ERR.OPERATION_DENIED


@pytest.mark.parametrize("status", ["NOT_A_STATUS", 0x0100, "OK", 0])
def test_fail_next_refuses_what_is_not_an_error_status(
    va: VirtualAuthenticator, status: object
) -> None:
    with pytest.raises(ValueError, match="status"):
        va.fail_next(status)  # type: ignore[arg-type]


def test_sign_count_minus_one_means_no_counter(va: VirtualAuthenticator, ctap: Ctap2) -> None:
    """CDP setCredentialProperties: signCount -1, the credential has no counter; reports 0."""
    made = make(ctap)
    credential_id = encode(made.auth_data.credential_data.credential_id)
    assert assertion(ctap, cdh()).auth_data.counter == 2
    va.set_credential_properties(credential_id, sign_count=41)
    assert assertion(ctap, cdh()).auth_data.counter == 42
    va.set_credential_properties(credential_id, sign_count=-1)
    assert assertion(ctap, cdh()).auth_data.counter == 0
    assert assertion(ctap, cdh()).auth_data.counter == 0
    assert va.get_credential(credential_id)["signCount"] == 0
    with pytest.raises(ValueError, match="signCount"):
        va.set_credential_properties(credential_id, sign_count=-2)


def test_user_name_and_display_name_are_set(va: VirtualAuthenticator, ctap: Ctap2) -> None:
    made = make(ctap)
    credential_id = encode(made.auth_data.credential_data.credential_id)
    va.set_credential_properties(credential_id, user_name="carol", user_display_name="Carol C")
    one = va.get_credential(credential_id)
    assert (one["userName"], one["userDisplayName"]) == ("carol", "Carol C")
    assert one == va.get_credentials()[0]
    with pytest.raises(KeyError):
        va.get_credential(encode(b"unknown"))


@pytest.mark.parametrize(
    ("options", "absent"),
    [
        ({"has_prf": False}, {"hmac-secret", "hmac-secret-mc"}),
        ({"has_hmac_secret_mc": False}, {"hmac-secret-mc"}),
        ({"has_large_blob": False}, {"largeBlobKey"}),
        ({"has_cred_blob": False}, {"credBlob"}),
        ({"has_min_pin_length": False}, {"minPinLength"}),
    ],
)
def test_extension_switches_shape_get_info(options: dict[str, bool], absent: set[str]) -> None:
    info = Ctap2(VauthCtapDevice(VirtualAuthenticator(**options))).info  # type: ignore[arg-type]
    assert not absent & set(info.extensions)
    assert set(info.extensions) | absent == {
        "credBlob",
        "credProtect",
        "hmac-secret",
        "hmac-secret-mc",
        "largeBlobKey",
        "minPinLength",
    }


def test_extension_switches_turn_on_over_extensions() -> None:
    va = VirtualAuthenticator(extensions=[], has_prf=True, has_large_blob=True)
    assert set(Ctap2(VauthCtapDevice(va)).info.extensions) == {
        "hmac-secret",
        "hmac-secret-mc",
        "largeBlobKey",
    }


def test_ctap2_version_chooses_the_protocol() -> None:
    info = Ctap2(VauthCtapDevice(VirtualAuthenticator(ctap2_version="ctap2_0"))).info
    assert info.versions == ["U2F_V2", "FIDO_2_0"]
    with pytest.raises(ValueError, match="ctap2Version"):
        VirtualAuthenticator(ctap2_version="ctap2_2")


def test_events_reach_python_callbacks(va: VirtualAuthenticator, ctap: Ctap2) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    unsubscribe = va.on(lambda name, params: seen.append((name, params)))
    made = make(ctap)
    credential_id = encode(made.auth_data.credential_data.credential_id)
    got = assertion(ctap, cdh())
    assert [name for name, _ in seen] == ["credentialAdded", "credentialAsserted"]
    added, asserted = seen[0][1]["credential"], seen[1][1]["credential"]
    assert added["credentialId"] == asserted["credentialId"] == credential_id
    assert added["isResidentCredential"] is True and added["rpId"] == RP["id"]
    assert added["userName"] == "alice" and added["privateKey"]
    assert asserted["signCount"] == AuthenticatorData(bytes(got.auth_data)).counter
    user_id = encode(user()["id"])  # type: ignore[arg-type]
    assert va.signal_current_user_details(RP["id"], user_id, "alice2", "Alice Two") == 1
    assert seen[2][0] == "credentialUpdated"
    assert seen[2][1]["credential"]["userName"] == "alice2"
    assert va.signal_unknown_credential(RP["id"], credential_id)
    assert seen[3] == (
        "credentialDeleted",
        {"authenticatorId": None, "credentialId": credential_id},
    )
    assert va.get_credentials() == []
    unsubscribe()
    make(ctap, "bob")
    assert len(seen) == 4


def test_a_failing_callback_does_not_break_the_authenticator(
    va: VirtualAuthenticator, ctap: Ctap2
) -> None:
    def broken(name: str, params: dict[str, Any]) -> None:
        raise RuntimeError("a tester's bug")

    va.on(broken)
    assert make(ctap).auth_data.flags & UP


async def test_presence_simulation_off_waits_until_it_is_on_again() -> None:
    """CDP automaticPresenceSimulation false: nothing answers for the user."""
    va = VirtualAuthenticator(automatic_presence_simulation=False)
    options = {
        "challenge": encode(b"c" * 16),
        "rp": {"id": "example.com", "name": "Example"},
        "user": {"id": encode(b"u"), "name": "a", "displayName": "a"},
        "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
    }
    waiting = asyncio.ensure_future(va.acreate(options, "https://example.com"))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    va.set_automatic_presence_simulation(True)
    response = await asyncio.wait_for(waiting, 5)
    assert response["type"] == "public-key"
    va.close()


def test_hmac_secret_alone_does_not_turn_on_hmac_secret_mc() -> None:
    """As Chromium: hasHmacSecret without hasHmacSecretMc gives no PRF result at creation."""
    va = VirtualAuthenticator(extensions=[], has_hmac_secret=True)
    assert Ctap2(VauthCtapDevice(va)).info.extensions == ["hmac-secret"]


def test_from_cdp_takes_cdp_defaults_and_refuses_unknown_options() -> None:
    va = VirtualAuthenticator.from_cdp({"protocol": "ctap2", "transport": "usb"})
    info = Ctap2(VauthCtapDevice(va)).info
    assert info.versions == ["U2F_V2", "FIDO_2_0"]  # CDP: ctap2Version defaults to ctap2_0
    assert info.options["rk"] is False and "uv" not in info.options
    assert info.extensions == ["credProtect"]
    with pytest.raises(ValueError, match="hasTeleport"):
        VirtualAuthenticator.from_cdp({"hasTeleport": True})
    u2f = VirtualAuthenticator.from_cdp({"protocol": "u2f"})  # CTAP1 only, as CDP's "u2f"
    made = u2f.create(
        {
            "challenge": "AAAAAAAAAAAAAAAAAAAAAA",
            "rp": {"id": "example.com", "name": "Example"},
            "user": {"id": "dXNlcg", "name": "user", "displayName": "User"},
            "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
        },
        "https://example.com",
    )
    assert made["response"]["transports"] == ["usb"] and u2f.get_credentials()


async def test_presence_simulation_off_gives_up_after_its_wait() -> None:
    va = VirtualAuthenticator(automatic_presence_simulation=False)
    va.tester.auto_presence().wait_s = 0.1
    options = {
        "challenge": encode(b"c" * 16),
        "rp": {"id": "example.com", "name": "Example"},
        "user": {"id": encode(b"u"), "name": "a", "displayName": "a"},
        "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
    }
    with pytest.raises(Exception) as refused:
        await va.acreate(options, "https://example.com")
    assert getattr(refused.value, "name", None) == "NotAllowedError"
    va.close()


def test_events_nobody_listens_to_are_not_built(
    va: VirtualAuthenticator, ctap: Ctap2, monkeypatch: pytest.MonkeyPatch
) -> None:
    """credentialAdded / credentialAsserted carry the private key (CDP's Credential): with no
    listener nothing is built, so no ceremony serialises the key into a dict nobody reads (and
    the hot path does not pay for it). Once someone listens, every event is built again."""
    from vauth.app import tester

    built: list[str] = []
    parameters = tester.webdriver.parameters

    def counting(credential: Any) -> dict[str, Any]:
        built.append(encode(credential.credential_id))
        return parameters(credential)

    monkeypatch.setattr(tester.webdriver, "parameters", counting)
    make(ctap)
    assertion(ctap, cdh())
    assert built == []
    seen: list[str] = []
    va.on(lambda name, params: seen.append(name))
    made = make(ctap, "bob")
    assertion(ctap, cdh())
    assert seen == ["credentialAdded", "credentialAsserted"]
    assert built[0] == encode(made.auth_data.credential_data.credential_id)
    assert len(built) == 2
