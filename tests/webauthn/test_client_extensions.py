"""WebAuthn client extensions end to end: prf, largeBlob, credBlob/getCredBlob, minPinLength
through ``VirtualAuthenticator`` (built-in UV, and a PIN without it), checked against
python-fido2 as an independent peer where it has the same extension."""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import pytest
from fido2.client import DefaultClientDataCollector, Fido2Client
from fido2.ctap2 import Ctap2
from fido2.ctap2 import blob as fido2_blob
from fido2.ctap2.config import Config
from fido2.ctap2.extensions import _prf_salt
from fido2.ctap2.pin import ClientPin
from fido2.webauthn import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialCreationOptions,
    PublicKeyCredentialDescriptor,
    PublicKeyCredentialParameters,
    PublicKeyCredentialRequestOptions,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialType,
    PublicKeyCredentialUserEntity,
    UserVerificationRequirement,
)
from webauthn_support import Recorder, make_authenticator

from vauth import VirtualAuthenticator, base64url
from vauth.ctap import cbor
from vauth.testing.doubles import VauthCtapDevice
from vauth.webauthn.client import WebAuthnClient
from vauth.webauthn.errors import WebAuthnError
from vauth.webauthn.extensions import prf_salt
from vauth.webauthn.options import parse_creation_options, parse_request_options

RP_ID = "example.com"
ORIGIN = "https://login.example.com"
PIN = "1234"


def b64(data: bytes) -> str:
    return base64url.encode(data)


def creation(
    user_id: bytes = b"user-1", resident_key: str = "required", **extensions: Any
) -> dict[str, Any]:
    return {
        "rp": {"id": RP_ID, "name": "Example"},
        "user": {"id": b64(user_id), "name": "alice", "displayName": "Alice"},
        "challenge": b64(os.urandom(32)),
        "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
        "authenticatorSelection": {"residentKey": resident_key},
        "extensions": extensions,
    }


def request(*credential_ids: str, **extensions: Any) -> dict[str, Any]:
    return {
        "challenge": b64(os.urandom(32)),
        "rpId": RP_ID,
        "allowCredentials": [{"type": "public-key", "id": i} for i in credential_ids],
        "extensions": extensions,
    }


def prf_eval(first: bytes, second: bytes | None = None) -> dict[str, Any]:
    values = {"first": b64(first)}
    if second is not None:
        values["second"] = b64(second)
    return {"eval": values}


def results(response: dict[str, Any]) -> dict[str, Any]:
    outputs = response["clientExtensionResults"]
    assert isinstance(outputs, dict)
    return outputs


def prf_first(va: VirtualAuthenticator, credential_id: str, **prf: Any) -> str:
    output = results(va.get(request(credential_id, prf=prf), ORIGIN))["prf"]
    first = output["results"]["first"]
    assert len(base64url.decode(first)) == 32
    return str(first)


def peer_get(
    va: VirtualAuthenticator, credential: str, extensions: dict[str, Any]
) -> dict[str, Any]:
    """clientExtensionResults (as JSON) of python-fido2's Fido2Client doing get() on ``va``."""
    peer = Fido2Client(VauthCtapDevice(va), DefaultClientDataCollector(ORIGIN))
    options = PublicKeyCredentialRequestOptions(
        challenge=os.urandom(32),
        rp_id=RP_ID,
        allow_credentials=[
            PublicKeyCredentialDescriptor(
                type=PublicKeyCredentialType.PUBLIC_KEY, id=base64url.decode(credential)
            )
        ],
        user_verification=UserVerificationRequirement.REQUIRED,
        extensions=extensions,
    )
    response = peer.get_assertion(options).get_response(0)
    results = json.loads(json.dumps(dict(response)))["clientExtensionResults"]
    assert isinstance(results, dict)
    return results


def name_of(error: pytest.ExceptionInfo[WebAuthnError]) -> str:
    return error.value.name


@pytest.fixture(params=["uv", "pin"])
def va(request: pytest.FixtureRequest) -> VirtualAuthenticator:
    """Built-in user verification, or none and a PIN (the client then uses pinUvAuthTokens)."""
    if request.param == "uv":
        return VirtualAuthenticator()
    return VirtualAuthenticator(has_user_verification=False, pin=PIN)


def test_the_authenticator_offers_the_ctap_extensions() -> None:
    info = cbor.decode(VirtualAuthenticator().process(b"\x04")[1:])
    assert {"hmac-secret", "hmac-secret-mc", "largeBlobKey", "credBlob", "minPinLength"} <= set(
        info[0x02]
    )
    assert info[0x04]["largeBlobs"] is True


# -- prf ------------------------------------------------------------------------------------------


class TestPrf:
    def test_create_enables_and_evaluates_as_get_does(self, va: VirtualAuthenticator) -> None:
        created = va.create(creation(prf=prf_eval(b"salt-a", b"salt-b")), ORIGIN)
        prf = results(created)["prf"]
        assert prf["enabled"] is True
        assert set(prf["results"]) == {"first", "second"}
        got = results(va.get(request(created["id"], prf=prf_eval(b"salt-a", b"salt-b")), ORIGIN))
        assert got["prf"]["results"] == prf["results"]

    def test_create_without_inputs_only_enables(self, va: VirtualAuthenticator) -> None:
        assert results(va.create(creation(prf={}), ORIGIN))["prf"] == {"enabled": True}

    def test_stable_across_gets_and_different_per_input(self, va: VirtualAuthenticator) -> None:
        credential = va.create(creation(prf={}), ORIGIN)["id"]
        a1 = prf_first(va, credential, **prf_eval(b"a"))
        a2 = prf_first(va, credential, **prf_eval(b"a"))
        b = prf_first(va, credential, **prf_eval(b"b"))
        assert a1 == a2
        assert a1 != b
        both = results(va.get(request(credential, prf=prf_eval(b"a", b"b")), ORIGIN))["prf"]
        assert both["results"] == {"first": a1, "second": b}

    def test_different_per_credential(self) -> None:
        va = VirtualAuthenticator()
        one = va.create(creation(b"user-1", prf={}), ORIGIN)["id"]
        two = va.create(creation(b"user-2", prf={}), ORIGIN)["id"]
        assert prf_first(va, one, **prf_eval(b"x")) != prf_first(va, two, **prf_eval(b"x"))

    def test_discoverable_get_uses_eval(self) -> None:
        va = VirtualAuthenticator()
        credential = va.create(creation(prf={}), ORIGIN)["id"]
        discovered = va.get(request(prf=prf_eval(b"x")), ORIGIN)
        assert discovered["id"] == credential
        assert results(discovered)["prf"]["results"]["first"] == prf_first(
            va, credential, **prf_eval(b"x")
        )

    def test_matches_python_fido2_client(self) -> None:
        va = VirtualAuthenticator()
        credential = va.create(creation(prf={}), ORIGIN)["id"]
        ours = prf_first(va, credential, **prf_eval(b"shared input"))
        peer = peer_get(va, credential, {"prf": {"eval": {"first": b64(b"shared input")}}})
        assert peer["prf"]["results"]["first"] == ours

    def test_salt_is_the_specified_hash(self) -> None:
        assert prf_salt(b"abc") == hashlib.sha256(b"WebAuthn PRF\x00abc").digest()
        assert prf_salt(b"abc") == _prf_salt(b"abc")

    def test_eval_by_credential_picks_the_found_credential(self) -> None:
        va, other = VirtualAuthenticator(), VirtualAuthenticator()
        ours = va.create(creation(resident_key="discouraged", prf={}), ORIGIN)["id"]
        foreign = other.create(creation(resident_key="discouraged", prf={}), ORIGIN)["id"]
        recorder = Recorder(va.aprocess)
        client = WebAuthnClient(recorder)
        by_credential = {
            foreign: {"first": b64(b"for the other one")},
            ours: {"first": b64(b"for ours")},
        }
        options = request(foreign, ours, prf={"evalByCredential": by_credential})
        response = _run(client.get(options, ORIGIN))
        assert response["id"] == ours
        expected = prf_first(va, ours, **prf_eval(b"for ours"))
        assert results(response)["prf"]["results"]["first"] == expected
        # The credential was found with silent probes, one credential each.
        assertions = [cbor.decode(m[1:]) for m in recorder.requests if m[0] == 0x02]
        probes = [a[0x03] for a in assertions if a.get(0x05) == {"up": False}]
        assert [[d["id"] for d in p] for p in probes] == [
            [base64url.decode(foreign)],
            [base64url.decode(ours)],
        ]
        assert [d["id"] for d in assertions[-1][0x03]] == [base64url.decode(ours)]

    def test_eval_by_credential_falls_back_to_eval(self) -> None:
        va = VirtualAuthenticator()
        credential = va.create(creation(prf={}), ORIGIN)["id"]
        other = b64(b"some other credential")
        prf = {"eval": {"first": b64(b"general")}, "evalByCredential": {other: {"first": "AA"}}}
        output = results(va.get(request(credential, other, prf=prf), ORIGIN))["prf"]
        assert output["results"]["first"] == prf_first(va, credential, **prf_eval(b"general"))

    def test_eval_by_credential_needs_allow_credentials(self) -> None:
        va = VirtualAuthenticator()
        va.create(creation(prf={}), ORIGIN)
        prf = {"evalByCredential": {b64(b"x"): {"first": b64(b"y")}}}
        with pytest.raises(WebAuthnError) as error:
            va.get(request(prf=prf), ORIGIN)
        assert name_of(error) == "NotSupportedError"

    @pytest.mark.parametrize("key", ["", "not*base64url", b64(b"not allowed")])
    def test_eval_by_credential_key_outside_allow_credentials(self, key: str) -> None:
        va = VirtualAuthenticator()
        credential = va.create(creation(prf={}), ORIGIN)["id"]
        prf = {"evalByCredential": {credential: {"first": "AA"}, key: {"first": "AA"}}}
        with pytest.raises(WebAuthnError) as error:
            va.get(request(credential, prf=prf), ORIGIN)
        assert name_of(error) == "SyntaxError"

    def test_eval_by_credential_at_create(self) -> None:
        options = creation(prf={"evalByCredential": {b64(b"x"): {"first": "AA"}}})
        with pytest.raises(WebAuthnError) as error:
            VirtualAuthenticator().create(options, ORIGIN)
        assert name_of(error) == "NotSupportedError"

    def test_without_hmac_secret(self) -> None:
        va = VirtualAuthenticator(extensions=["credProps"])
        created = va.create(creation(prf=prf_eval(b"x")), ORIGIN)
        assert results(created)["prf"] == {"enabled": False}
        got = va.get(request(created["id"], prf=prf_eval(b"x")), ORIGIN)
        assert results(got)["prf"] == {}

    def test_without_hmac_secret_mc_create_has_no_results(self) -> None:
        authenticator = make_authenticator(extensions=frozenset({"hmac-secret"}))
        client = WebAuthnClient(authenticator.process)
        created = _run(client.create(creation(prf=prf_eval(b"x")), ORIGIN))
        assert results(created)["prf"] == {"enabled": True}
        got = _run(client.get(request(created["id"], prf=prf_eval(b"x")), ORIGIN))
        assert len(base64url.decode(results(got)["prf"]["results"]["first"])) == 32


# -- largeBlob ------------------------------------------------------------------------------------


def write(va: VirtualAuthenticator, credential: str, blob: bytes) -> dict[str, Any]:
    response = va.get(request(credential, largeBlob={"write": b64(blob)}), ORIGIN)
    return dict(results(response)["largeBlob"])


def read(va: VirtualAuthenticator, credential: str) -> bytes | None:
    output = results(va.get(request(credential, largeBlob={"read": True}), ORIGIN))["largeBlob"]
    return None if "blob" not in output else base64url.decode(output["blob"])


def stored_entries(va: VirtualAuthenticator) -> list[Any]:
    return list(fido2_blob.LargeBlobs(Ctap2(VauthCtapDevice(va))).read_blob_array())


class TestLargeBlob:
    def test_write_then_read_across_two_credentials(self, va: VirtualAuthenticator) -> None:
        one, two = (
            va.create(creation(user, largeBlob={"support": "required"}), ORIGIN)
            for user in (b"user-1", b"user-2")
        )
        assert results(one)["largeBlob"] == {"supported": True}
        assert results(two)["largeBlob"] == {"supported": True}
        assert read(va, one["id"]) is None
        assert write(va, one["id"], b"first blob" * 20) == {"written": True}
        assert write(va, two["id"], b"second blob") == {"written": True}
        assert read(va, one["id"]) == b"first blob" * 20
        assert read(va, two["id"]) == b"second blob"
        # A second write replaces the credential's entry; the other one stays.
        assert write(va, one["id"], b"replaced") == {"written": True}
        assert read(va, one["id"]) == b"replaced"
        assert read(va, two["id"]) == b"second blob"
        assert len(stored_entries(va)) == 2

    def test_peer_reads_what_we_wrote_and_we_read_what_it_wrote(self) -> None:
        va = VirtualAuthenticator()
        credential = va.create(creation(largeBlob={"support": "preferred"}), ORIGIN)["id"]
        assert write(va, credential, b"from vauth") == {"written": True}
        peer_read = peer_get(va, credential, {"largeBlob": {"read": True}})
        assert base64url.decode(peer_read["largeBlob"]["blob"]) == b"from vauth"
        peer_write = peer_get(va, credential, {"largeBlob": {"write": b64(b"from python-fido2")}})
        assert peer_write["largeBlob"]["written"] is True
        assert read(va, credential) == b"from python-fido2"

    def test_fragments_through_a_small_max_msg_size(self) -> None:
        authenticator = make_authenticator(max_msg_size=256)  # 192-byte fragments
        recorder = Recorder(authenticator.process)
        client = WebAuthnClient(recorder)
        credential = _run(client.create(creation(largeBlob={}), ORIGIN))["id"]
        blob = os.urandom(1000)  # incompressible: the array spans several fragments
        written = _run(client.get(request(credential, largeBlob={"write": b64(blob)}), ORIGIN))
        assert results(written)["largeBlob"] == {"written": True}
        got = _run(client.get(request(credential, largeBlob={"read": True}), ORIGIN))
        assert base64url.decode(results(got)["largeBlob"]["blob"]) == blob
        sets = [cbor.decode(m[1:]) for m in recorder.requests if m[0] == 0x0C]
        writes = [s for s in sets if 0x02 in s]
        assert len(writes) == 6
        assert all(len(s[0x02]) == 192 for s in writes[:-1])
        assert [s[0x03] for s in writes] == [192 * i for i in range(len(writes))]
        reads = [s for s in sets if 0x01 in s]
        assert all(s[0x01] == 192 for s in reads)
        assert 0x04 in writes[0] and all(0x04 not in s for s in writes[1:])
        assert all(0x05 in s for s in writes)  # built-in UV: a pinUvAuthToken with lbw

    def test_unprotected_authenticator_writes_without_a_token(self) -> None:
        va = VirtualAuthenticator(has_user_verification=False)
        credential = va.create(creation(largeBlob={}), ORIGIN)["id"]
        assert write(va, credential, b"open") == {"written": True}
        assert read(va, credential) == b"open"

    def test_non_discoverable_credential_has_no_large_blob(self) -> None:
        va = VirtualAuthenticator()
        created = va.create(
            creation(resident_key="discouraged", largeBlob={"support": "preferred"}), ORIGIN
        )
        assert results(created)["largeBlob"] == {"supported": False}
        assert write(va, created["id"], b"x") == {"written": False}
        with pytest.raises(WebAuthnError) as error:
            va.create(
                creation(resident_key="discouraged", largeBlob={"support": "required"}), ORIGIN
            )
        assert name_of(error) == "NotAllowedError"  # as Chromium answers (webauthn/errors.py)

    def test_unsupported_authenticator(self) -> None:
        va = VirtualAuthenticator(extensions=["credProps"])
        created = va.create(creation(largeBlob={"support": "preferred"}), ORIGIN)
        assert results(created)["largeBlob"] == {"supported": False}
        assert write(va, created["id"], b"x") == {"written": False}
        assert results(va.get(request(created["id"], largeBlob={"read": True}), ORIGIN)) == {
            "largeBlob": {}
        }
        with pytest.raises(WebAuthnError) as error:
            va.create(creation(largeBlob={"support": "required"}), ORIGIN)
        assert name_of(error) == "NotAllowedError"

    @pytest.mark.parametrize(
        ("kind", "large_blob"),
        [
            ("get", {"read": True, "write": "AA"}),
            ("get", {"support": "required"}),
            ("get-two", {"write": "AA"}),
            ("create", {"read": True}),
            ("create", {"write": "AA"}),
        ],
    )
    def test_invalid_combinations(self, kind: str, large_blob: dict[str, Any]) -> None:
        va = VirtualAuthenticator()
        credential = va.create(creation(), ORIGIN)["id"]
        with pytest.raises(WebAuthnError) as error:
            if kind == "create":
                va.create(creation(b"user-2", largeBlob=large_blob), ORIGIN)
            elif kind == "get-two":
                va.get(request(credential, b64(b"other"), largeBlob=large_blob), ORIGIN)
            else:
                va.get(request(credential, largeBlob=large_blob), ORIGIN)
        assert name_of(error) == "NotSupportedError"


# -- credBlob and minPinLength ------------------------------------------------------------------


class TestCredBlob:
    def test_round_trip(self, va: VirtualAuthenticator) -> None:
        created = va.create(creation(credBlob=b64(b"32 bytes at most")), ORIGIN)
        assert results(created)["credBlob"] is True
        got = va.get(request(created["id"], getCredBlob=True), ORIGIN)
        assert results(got) == {"getCredBlob": b64(b"32 bytes at most")}

    def test_too_long_or_not_discoverable_is_not_stored(self) -> None:
        va = VirtualAuthenticator()
        long = va.create(creation(b"user-1", credBlob=b64(bytes(33))), ORIGIN)
        assert results(long)["credBlob"] is False
        assert results(va.get(request(long["id"], getCredBlob=True), ORIGIN)) == {"getCredBlob": ""}
        plain = va.create(creation(b"user-2", "discouraged", credBlob=b64(b"x")), ORIGIN)
        assert results(plain)["credBlob"] is False

    def test_ctap_inputs_on_the_wire(self) -> None:
        """CTAP 2.1 section 12.2: the client maps WebAuthn credBlob to CTAP credBlob (the bytes)
        and getCredBlob: true to CTAP credBlob: true; getCredBlob never reaches the
        authenticator, which reads credBlob from the authenticator data's extensions."""
        va = VirtualAuthenticator()
        recorder = Recorder(va.aprocess)
        client = WebAuthnClient(recorder)
        created = _run(client.create(creation(credBlob=b64(b"on the wire")), ORIGIN))
        got = _run(client.get(request(created["id"], getCredBlob=True), ORIGIN))
        assert results(got) == {"getCredBlob": b64(b"on the wire")}
        (made,) = [cbor.decode(m[1:]) for m in recorder.requests if m[0] == 0x01]
        (asked,) = [cbor.decode(m[1:]) for m in recorder.requests if m[0] == 0x02]
        assert made[0x06] == {"credBlob": b"on the wire"}
        assert asked[0x04] == {"credBlob": True}

    def test_across_clients(self) -> None:
        """What one client stores the other reads: vauth's client and python-fido2's Fido2Client
        (its CredBlobExtension) against the same authenticator."""
        va = VirtualAuthenticator()
        peer = Fido2Client(VauthCtapDevice(va), DefaultClientDataCollector(ORIGIN))
        ours = va.create(creation(b"user-1", credBlob=b64(b"from vauth")), ORIGIN)["id"]
        options = PublicKeyCredentialRequestOptions(
            challenge=os.urandom(32),
            rp_id=RP_ID,
            allow_credentials=[
                PublicKeyCredentialDescriptor(
                    type=PublicKeyCredentialType.PUBLIC_KEY, id=base64url.decode(ours)
                )
            ],
            extensions={"getCredBlob": True},
        )
        response = peer.get_assertion(options).get_response(0).response
        assert response.authenticator_data.extensions == {"credBlob": b"from vauth"}

        theirs = peer.make_credential(
            PublicKeyCredentialCreationOptions(
                rp=PublicKeyCredentialRpEntity(id=RP_ID, name="Example"),
                user=PublicKeyCredentialUserEntity(id=b"user-2", name="bob"),
                challenge=os.urandom(32),
                pub_key_cred_params=[
                    PublicKeyCredentialParameters(type=PublicKeyCredentialType.PUBLIC_KEY, alg=-7)
                ],
                authenticator_selection=AuthenticatorSelectionCriteria(resident_key="required"),
                extensions={"credBlob": b"from fido2"},
            )
        )
        got = va.get(request(b64(theirs.raw_id), getCredBlob=True), ORIGIN)
        assert results(got) == {"getCredBlob": b64(b"from fido2")}

    def test_unsupported(self) -> None:
        va = VirtualAuthenticator(extensions=["credProps"])
        created = va.create(creation(credBlob=b64(b"x")), ORIGIN)
        assert results(created) == {"credBlob": False}
        assert results(va.get(request(created["id"], getCredBlob=True), ORIGIN)) == {}


class TestMinPinLength:
    def test_told_only_to_listed_rp_ids(self) -> None:
        va = VirtualAuthenticator(pin="123456")
        assert "minPinLength" not in results(va.create(creation(minPinLength=True), ORIGIN))
        ctap = Ctap2(VauthCtapDevice(va))
        client_pin = ClientPin(ctap)
        token = client_pin.get_pin_token("123456", ClientPin.PERMISSION.AUTHENTICATOR_CFG)
        Config(ctap, client_pin.protocol, token).set_min_pin_length(
            min_pin_length=6, rp_ids=[RP_ID]
        )
        created = va.create(creation(b"user-2", minPinLength=True), ORIGIN)
        assert results(created)["minPinLength"] == 6
        # Not asked: not told.
        assert "minPinLength" not in results(va.create(creation(b"user-3"), ORIGIN))


# -- parsing and output shape ------------------------------------------------------------------


def test_outputs_are_in_webidl_member_order() -> None:
    va = VirtualAuthenticator()
    created = va.create(
        creation(prf={}, largeBlob={}, credBlob=b64(b"b"), credProps=True, minPinLength=True),
        ORIGIN,
    )
    assert list(results(created)) == ["credBlob", "credProps", "largeBlob", "prf"]


@pytest.mark.parametrize(
    ("extensions", "name", "fragment"),
    [
        ({"prf": []}, "TypeError", "options.extensions.prf"),
        ({"prf": {"eval": {}}}, "TypeError", "options.extensions.prf.eval.first is required"),
        ({"prf": {"eval": {"first": "!"}}}, "EncodingError", "options.extensions.prf.eval.first"),
        ({"prf": {"eval": {"first": "AA", "second": 1}}}, "TypeError", "prf.eval.second"),
        ({"largeBlob": {"read": "yes"}}, "TypeError", "options.extensions.largeBlob.read"),
        ({"largeBlob": {"write": "*"}}, "EncodingError", "options.extensions.largeBlob.write"),
        ({"getCredBlob": 1}, "TypeError", "options.extensions.getCredBlob"),
    ],
)
def test_request_input_errors(extensions: dict[str, Any], name: str, fragment: str) -> None:
    with pytest.raises(WebAuthnError) as error:
        parse_request_options(request(**extensions))
    assert name_of(error) == name
    assert fragment in error.value.message


@pytest.mark.parametrize(
    ("extensions", "name", "fragment"),
    [
        ({"credBlob": True}, "TypeError", "options.extensions.credBlob"),
        ({"credBlob": "%%"}, "EncodingError", "options.extensions.credBlob"),
        ({"minPinLength": "true"}, "TypeError", "options.extensions.minPinLength"),
        ({"largeBlob": "required"}, "TypeError", "options.extensions.largeBlob"),
        ({"prf": {"evalByCredential": []}}, "TypeError", "prf.evalByCredential"),
    ],
)
def test_creation_input_errors(extensions: dict[str, Any], name: str, fragment: str) -> None:
    with pytest.raises(WebAuthnError) as error:
        parse_creation_options(creation(**extensions))
    assert name_of(error) == name
    assert fragment in error.value.message


def test_parsed_inputs() -> None:
    options = parse_request_options(
        request(
            prf={
                "eval": {"first": "AQ"},
                "evalByCredential": {"Ag": {"first": "Aw", "second": ""}},
            },
            largeBlob={"read": True, "support": "unknown value"},
            getCredBlob=True,
        )
    )
    prf = options.extensions.prf
    assert prf is not None and prf.eval is not None
    assert (prf.eval.first, prf.eval.second) == (b"\x01", None)
    assert prf.eval_by_credential is not None
    assert prf.eval_by_credential["Ag"].first == b"\x03"
    assert prf.eval_by_credential["Ag"].second == b""
    assert options.extensions.large_blob is not None
    assert options.extensions.large_blob.read is True
    assert options.extensions.large_blob.support is None
    assert options.extensions.get_cred_blob is True


def _run(coro: Any) -> Any:
    import asyncio

    return asyncio.run(coro)
