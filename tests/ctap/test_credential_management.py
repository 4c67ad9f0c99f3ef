"""authenticatorCredentialManagement (CTAP 2.1 section 6.8), driven by python-fido2's
CredentialManagement and ClientPin over both PIN/UV auth protocols."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections.abc import Mapping
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from fido2 import cbor
from fido2.cose import CoseKey
from fido2.ctap import CtapError
from fido2.ctap2 import CredentialManagement, Ctap2
from fido2.ctap2.pin import ClientPin, PinProtocol, PinProtocolV1, PinProtocolV2
from fido2.utils import websafe_encode

from tests.conftest import cdh, user
from vauth import VirtualAuthenticator
from vauth.ctap.credential import Credential
from vauth.testing.doubles import VauthCtapDevice

ERR = CtapError.ERR
PERM = ClientPin.PERMISSION
CMD = CredentialManagement.CMD
RES = CredentialManagement.RESULT
ES256 = [{"type": "public-key", "alg": -7}]
PIN = "1234"
COM = {"id": "example.com", "name": "Example"}
ORG = {"id": "example.org", "name": "Example Org"}
NET = {"id": "example.net"}  # no name


def rp_hash(rp_id: str) -> bytes:
    return hashlib.sha256(rp_id.encode()).digest()


def advertise_preview(ctap: Ctap2) -> Ctap2:
    """Make python-fido2 pick the 0x41 prototype command, which it uses only for
    authenticators that list credentialMgmtPreview and FIDO_2_1_PRE."""
    info = ctap.info
    options = {k: v for k, v in info.options.items() if k != "credMgmt"}
    options["credentialMgmtPreview"] = True
    versions = [*info.versions, "FIDO_2_1_PRE"]
    ctap._info = dataclasses.replace(info, options=options, versions=versions)
    return ctap


def device(**kw: Any) -> tuple[VirtualAuthenticator, Ctap2]:
    va = VirtualAuthenticator(**kw)
    ctap = Ctap2(VauthCtapDevice(va))
    assert ctap.info.options["credMgmt"] is True
    return va, ctap


@pytest.fixture(params=[PinProtocolV1, PinProtocolV2], ids=["v1", "v2"])
def protocol(request: pytest.FixtureRequest) -> PinProtocol:
    return request.param()


@pytest.fixture
def ctap() -> Ctap2:
    _va, ctap = device()
    ClientPin(ctap).set_pin(PIN)
    return ctap


def manager(
    ctap: Ctap2,
    protocol: PinProtocol,
    permissions: int = PERM.CREDENTIAL_MGMT,
    rp_id: str | None = None,
) -> CredentialManagement:
    token = ClientPin(ctap, protocol).get_pin_token(PIN, permissions, rp_id)
    return CredentialManagement(ctap, protocol, token)


def make(
    ctap: Ctap2, rp: dict[str, str], name: str, rk: bool = True, **kw: Any
) -> tuple[bytes, Mapping[int, Any]]:
    """A credential made with built-in UV; its ID and attested COSE public key."""
    options = {"rk": True, "uv": True} if rk else {"rk": False}
    att = ctap.make_credential(cdh(), rp, user(name), ES256, options=options, **kw)
    data = att.auth_data.credential_data
    assert data is not None
    return data.credential_id, data.public_key


def add_stored(ctap: Ctap2, rp_id: str, credential_id: bytes, resident: bool) -> Credential:
    """A credential through WebDriver's Add Credential: a non-resident one is stored too."""
    va: VirtualAuthenticator = ctap.device.authenticator
    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        Encoding.DER, PrivateFormat.PKCS8, NoEncryption()
    )
    va.add_credential(
        {
            "credentialId": websafe_encode(credential_id),
            "isResidentCredential": resident,
            "rpId": rp_id,
            "privateKey": websafe_encode(key),
            "userHandle": websafe_encode(b"stored-user"),
            "userName": "stored",
            "signCount": 0,
        }
    )
    stored = asyncio.run(va.device.store.get(credential_id))
    assert stored is not None and stored.discoverable is resident
    return stored


def code(exc: pytest.ExceptionInfo[CtapError]) -> ERR:
    return exc.value.code


def descriptor(credential_id: bytes) -> dict[str, Any]:
    return {"type": "public-key", "id": credential_id}


# -- getCredsMetadata ---------------------------------------------------------------------------


def test_metadata_counts_discoverable_credentials_only(ctap: Ctap2, protocol: PinProtocol) -> None:
    cm = manager(ctap, protocol)
    assert cm.get_metadata() == {RES.EXISTING_CRED_COUNT: 0, RES.MAX_REMAINING_COUNT: 1_000_000}
    make(ctap, COM, "alice")
    make(ctap, COM, "bob")
    make(ctap, ORG, "carol")
    make(ctap, ORG, "dave", rk=False)  # not discoverable: not counted
    add_stored(ctap, "example.net", b"stored-non-resident", resident=False)  # nor this one
    assert cm.get_metadata() == {RES.EXISTING_CRED_COUNT: 3, RES.MAX_REMAINING_COUNT: 999_997}


# -- enumeration ------------------------------------------------------------------------------


def test_enumerate_rps_and_credentials(ctap: Ctap2, protocol: PinProtocol) -> None:
    alice_id, alice_key = make(ctap, COM, "alice")
    bob_id, bob_key = make(ctap, COM, "bob")
    carol_id, carol_key = make(ctap, ORG, "carol", extensions={"credProtect": 2})
    make(ctap, NET, "erin")
    make(ctap, ORG, "dave", rk=False)
    cm = manager(ctap, protocol)

    rps = cm.enumerate_rps()
    assert [r[RES.RP] for r in rps] == [COM, ORG, NET]
    assert [r[RES.RP_ID_HASH] for r in rps] == [rp_hash(r["id"]) for r in (COM, ORG, NET)]
    assert rps[0][RES.TOTAL_RPS] == 3
    assert all(RES.TOTAL_RPS not in r for r in rps[1:])

    com = cm.enumerate_creds(rp_hash("example.com"))
    assert com[0][RES.TOTAL_CREDENTIALS] == 2 and RES.TOTAL_CREDENTIALS not in com[1]
    assert [c[RES.USER] for c in com] == [user("alice"), user("bob")]
    assert [c[RES.CREDENTIAL_ID] for c in com] == [descriptor(alice_id), descriptor(bob_id)]
    assert [c[RES.PUBLIC_KEY] for c in com] == [alice_key, bob_key]
    assert [c[RES.CRED_PROTECT] for c in com] == [1, 1]
    assert all(RES.LARGE_BLOB_KEY not in c for c in com)

    (carol,) = cm.enumerate_creds(rp_hash("example.org"))  # dave is not discoverable
    assert carol[RES.TOTAL_CREDENTIALS] == 1
    assert carol[RES.USER] == user("carol")
    assert carol[RES.CREDENTIAL_ID] == descriptor(carol_id)
    assert carol[RES.PUBLIC_KEY] == carol_key
    assert carol[RES.CRED_PROTECT] == 2


def test_enumerated_public_key_verifies_an_assertion(ctap: Ctap2, protocol: PinProtocol) -> None:
    credential_id, _ = make(ctap, ORG, "carol", extensions={"credProtect": 2})
    (entry,) = manager(ctap, protocol).enumerate_creds(rp_hash("example.org"))
    client_data_hash = cdh()
    assertion = ctap.get_assertion("example.org", client_data_hash, options={"uv": True})
    assert assertion.credential["id"] == credential_id
    key = CoseKey.parse(entry[RES.PUBLIC_KEY])
    key.verify(bytes(assertion.auth_data) + client_data_hash, assertion.signature)
    with pytest.raises(Exception):  # noqa: B017 - the signature is bound to the data
        key.verify(bytes(assertion.auth_data) + cdh(), assertion.signature)


def test_empty_enumerations(ctap: Ctap2, protocol: PinProtocol) -> None:
    cm = manager(ctap, protocol)
    with pytest.raises(CtapError) as exc:
        cm.enumerate_rps_begin()
    assert code(exc) == ERR.NO_CREDENTIALS
    make(ctap, COM, "alice")
    make(ctap, ORG, "dave", rk=False)
    with pytest.raises(CtapError) as exc:
        cm.enumerate_creds_begin(rp_hash("example.org"))  # only a non-discoverable one
    assert code(exc) == ERR.NO_CREDENTIALS
    with pytest.raises(CtapError) as exc:
        cm.enumerate_creds_begin(rp_hash("nowhere.example"))
    assert code(exc) == ERR.NO_CREDENTIALS
    assert len(cm.enumerate_rps()) == 1


def test_get_next_runs_out(ctap: Ctap2, protocol: PinProtocol) -> None:
    make(ctap, COM, "alice")
    make(ctap, COM, "bob")
    make(ctap, ORG, "carol")
    cm = manager(ctap, protocol)
    assert cm.enumerate_rps_begin()[RES.TOTAL_RPS] == 2
    assert cm.enumerate_rps_next()[RES.RP] == ORG
    with pytest.raises(CtapError) as exc:
        cm.enumerate_rps_next()
    assert code(exc) == ERR.NOT_ALLOWED
    assert cm.enumerate_creds_begin(rp_hash("example.com"))[RES.USER] == user("alice")
    assert cm.enumerate_creds_next()[RES.USER] == user("bob")
    with pytest.raises(CtapError) as exc:
        cm.enumerate_creds_next()
    assert code(exc) == ERR.NOT_ALLOWED


def test_get_next_without_begin_or_after_another_command(
    ctap: Ctap2, protocol: PinProtocol
) -> None:
    make(ctap, COM, "alice")
    make(ctap, COM, "bob")
    make(ctap, ORG, "carol")
    cm = manager(ctap, protocol)

    def refused(call: Any) -> None:
        with pytest.raises(CtapError) as exc:
            call()
        assert code(exc) == ERR.NOT_ALLOWED

    refused(cm.enumerate_rps_next)
    refused(cm.enumerate_creds_next)
    # An unrelated command in between ends the enumeration.
    cm.enumerate_rps_begin()
    ctap.get_info()
    refused(cm.enumerate_rps_next)
    cm.enumerate_creds_begin(rp_hash("example.com"))
    ClientPin(ctap, protocol).get_pin_retries()
    refused(cm.enumerate_creds_next)
    # So does another credentialManagement subcommand, or the other enumeration's GetNext.
    cm.enumerate_creds_begin(rp_hash("example.com"))
    cm.get_metadata()
    refused(cm.enumerate_creds_next)
    cm.enumerate_rps_begin()
    refused(cm.enumerate_creds_next)
    refused(cm.enumerate_rps_next)
    cm.enumerate_creds_begin(rp_hash("example.com"))
    refused(cm.enumerate_rps_next)
    refused(cm.enumerate_creds_next)
    # Uninterrupted, GetNext works.
    cm.enumerate_creds_begin(rp_hash("example.com"))
    assert cm.enumerate_creds_next()[RES.USER] == user("bob")


def test_get_next_assertion_does_not_survive_a_credential_management_get_next(
    ctap: Ctap2, protocol: PinProtocol
) -> None:
    make(ctap, COM, "alice")
    make(ctap, COM, "bob")
    cm = manager(ctap, protocol)
    assertion = ctap.get_assertion("example.com", cdh(), options={"uv": True})
    assert assertion.number_of_credentials == 2
    with pytest.raises(CtapError):
        cm.enumerate_rps_next()
    with pytest.raises(CtapError) as exc:
        ctap.get_next_assertion()
    assert code(exc) == ERR.NOT_ALLOWED


# -- deleteCredential -------------------------------------------------------------------------


def test_delete_credential(ctap: Ctap2, protocol: PinProtocol) -> None:
    alice_id, _ = make(ctap, COM, "alice")
    bob_id, _ = make(ctap, COM, "bob")
    carol_id, _ = make(ctap, ORG, "carol")
    cm = manager(ctap, protocol)
    cm.delete_cred(descriptor(alice_id))
    assert cm.get_metadata()[RES.EXISTING_CRED_COUNT] == 2
    assert [c[RES.CREDENTIAL_ID] for c in cm.enumerate_creds(rp_hash("example.com"))] == [
        descriptor(bob_id)
    ]
    # getAssertion no longer finds it, by ID or among the RP's discoverable credentials.
    with pytest.raises(CtapError) as exc:
        ctap.get_assertion("example.com", cdh(), allow_list=[descriptor(alice_id)])
    assert code(exc) == ERR.NO_CREDENTIALS
    assertion = ctap.get_assertion("example.com", cdh(), options={"uv": True})
    assert assertion.credential["id"] == bob_id and assertion.number_of_credentials is None
    # Deleting it again, or an ID never issued, finds nothing.
    for unknown in (alice_id, b"\x00" * 32):
        with pytest.raises(CtapError) as exc:
            cm.delete_cred(descriptor(unknown))
        assert code(exc) == ERR.NO_CREDENTIALS
    # The RP's last credential gone, the RP is gone from the enumeration.
    cm.delete_cred(descriptor(carol_id))
    assert [r[RES.RP] for r in cm.enumerate_rps()] == [COM]
    assert Ctap2(ctap.device).info.remaining_disc_creds == 999_999


def test_non_discoverable_credentials_are_not_managed(ctap: Ctap2, protocol: PinProtocol) -> None:
    dave_id, _ = make(ctap, ORG, "dave", rk=False)
    add_stored(ctap, "example.net", b"stored-non-resident", resident=False)
    cm = manager(ctap, protocol)
    with pytest.raises(CtapError) as exc:
        cm.enumerate_rps_begin()
    assert code(exc) == ERR.NO_CREDENTIALS
    with pytest.raises(CtapError) as exc:
        cm.enumerate_creds_begin(rp_hash("example.net"))
    assert code(exc) == ERR.NO_CREDENTIALS
    for credential_id in (dave_id, b"stored-non-resident"):
        with pytest.raises(CtapError) as exc:
            cm.delete_cred(descriptor(credential_id))
        assert code(exc) == ERR.NO_CREDENTIALS
    assert ctap.get_assertion("example.org", cdh(), allow_list=[descriptor(dave_id)])
    stored = [descriptor(b"stored-non-resident")]
    assert ctap.get_assertion("example.net", cdh(), allow_list=stored)


def test_large_blob_key_is_returned_when_set(ctap: Ctap2, protocol: PinProtocol) -> None:
    stored = add_stored(ctap, "example.net", b"resident-1", resident=True)
    add_stored(ctap, "example.net", b"resident-2", resident=True)
    stored.large_blob_key = b"\x42" * 32
    first, second = manager(ctap, protocol).enumerate_creds(rp_hash("example.net"))
    assert first[RES.CREDENTIAL_ID] == descriptor(b"resident-1")
    assert first[RES.LARGE_BLOB_KEY] == b"\x42" * 32
    assert first[RES.USER] == {"id": b"stored-user", "name": "stored"}
    assert RES.LARGE_BLOB_KEY not in second


# -- updateUserInformation --------------------------------------------------------------------


def test_update_user_information(ctap: Ctap2, protocol: PinProtocol) -> None:
    alice_id, _ = make(ctap, COM, "alice")
    make(ctap, COM, "bob")
    cm = manager(ctap, protocol)
    new = {"id": user("alice")["id"], "name": "alice@new", "displayName": "Alice New"}
    cm.update_user_info(descriptor(alice_id), new)
    assert cm.enumerate_creds(rp_hash("example.com"))[0][RES.USER] == new
    # With UV and several accounts, getAssertion names the users: the new name shows.
    assertion = ctap.get_assertion("example.com", cdh(), options={"uv": True})
    users = [assertion.user, ctap.get_next_assertion().user]
    assert new in users and user("bob") in users
    # Fields left out are removed.
    cm.update_user_info(descriptor(alice_id), {"id": new["id"], "name": "only-name"})
    assert cm.enumerate_creds(rp_hash("example.com"))[0][RES.USER] == {
        "id": new["id"],
        "name": "only-name",
    }


def test_update_user_information_refusals(ctap: Ctap2, protocol: PinProtocol) -> None:
    alice_id, _ = make(ctap, COM, "alice")
    cm = manager(ctap, protocol)
    with pytest.raises(CtapError) as exc:
        cm.update_user_info(descriptor(alice_id), {"id": b"someone-else", "name": "mallory"})
    assert code(exc) == ERR.INVALID_PARAMETER
    with pytest.raises(CtapError) as exc:
        cm.update_user_info(descriptor(b"\x01" * 32), {"id": user("alice")["id"], "name": "x"})
    assert code(exc) == ERR.NO_CREDENTIALS
    assert cm.enumerate_creds(rp_hash("example.com"))[0][RES.USER] == user("alice")


# -- authorisation ----------------------------------------------------------------------------


def test_token_without_cm_permission(ctap: Ctap2, protocol: PinProtocol) -> None:
    make(ctap, COM, "alice")
    cm = manager(ctap, protocol, PERM.GET_ASSERTION, "example.com")
    for call in (cm.get_metadata, cm.enumerate_rps_begin):
        with pytest.raises(CtapError) as exc:
            call()
        assert code(exc) == ERR.PIN_AUTH_INVALID
    with pytest.raises(CtapError) as exc:
        cm.enumerate_creds_begin(rp_hash("example.com"))
    assert code(exc) == ERR.PIN_AUTH_INVALID


def test_tampered_or_misdirected_pin_uv_auth_param(ctap: Ctap2, protocol: PinProtocol) -> None:
    make(ctap, COM, "alice")
    token = ClientPin(ctap, protocol).get_pin_token(PIN, PERM.CREDENTIAL_MGMT)
    good = protocol.authenticate(token, bytes([CMD.GET_CREDS_METADATA]))
    tampered = bytes([good[0] ^ 1]) + good[1:]
    with pytest.raises(CtapError) as exc:
        ctap.credential_mgmt(CMD.GET_CREDS_METADATA, None, protocol.VERSION, tampered)
    assert code(exc) == ERR.PIN_AUTH_INVALID
    # A param made for one subcommand does not authorise another.
    with pytest.raises(CtapError) as exc:
        ctap.credential_mgmt(CMD.ENUMERATE_RPS_BEGIN, None, protocol.VERSION, good)
    assert code(exc) == ERR.PIN_AUTH_INVALID
    # Nor for other subCommandParams.
    params = {1: rp_hash("example.org")}
    made_for_org = protocol.authenticate(
        token, bytes([CMD.ENUMERATE_CREDS_BEGIN]) + cbor.encode(params)
    )
    with pytest.raises(CtapError) as exc:
        ctap.credential_mgmt(
            CMD.ENUMERATE_CREDS_BEGIN, {1: rp_hash("example.com")}, protocol.VERSION, made_for_org
        )
    assert code(exc) == ERR.PIN_AUTH_INVALID
    # The untampered one works.
    metadata = ctap.credential_mgmt(CMD.GET_CREDS_METADATA, None, protocol.VERSION, good)
    assert metadata[RES.EXISTING_CRED_COUNT] == 1


def test_missing_pin_uv_auth_param_or_protocol(ctap: Ctap2, protocol: PinProtocol) -> None:
    make(ctap, COM, "alice")
    token = ClientPin(ctap, protocol).get_pin_token(PIN, PERM.CREDENTIAL_MGMT)
    for sub_command, params in [
        (CMD.GET_CREDS_METADATA, None),
        (CMD.ENUMERATE_RPS_BEGIN, None),
        (CMD.ENUMERATE_CREDS_BEGIN, {1: rp_hash("example.com")}),
        (CMD.DELETE_CREDENTIAL, {2: descriptor(b"\x00" * 32)}),
        (CMD.UPDATE_USER_INFO, {2: descriptor(b"\x00" * 32), 3: user("alice")}),
    ]:
        with pytest.raises(CtapError) as exc:
            ctap.credential_mgmt(sub_command, params)
        assert code(exc) == ERR.PUAT_REQUIRED, sub_command
        with pytest.raises(CtapError) as exc:
            ctap.credential_mgmt(sub_command, params, None, protocol.authenticate(token, b"x"))
        assert code(exc) == ERR.MISSING_PARAMETER, sub_command
    with pytest.raises(CtapError) as exc:
        ctap.credential_mgmt(CMD.GET_CREDS_METADATA, None, 3, b"\x00" * 32)
    assert code(exc) == ERR.INVALID_PARAMETER


def test_malformed_requests(ctap: Ctap2, protocol: PinProtocol) -> None:
    token = ClientPin(ctap, protocol).get_pin_token(PIN, PERM.CREDENTIAL_MGMT)

    def status(sub_command: int, params: dict[int, Any] | None) -> ERR:
        with pytest.raises(CtapError) as exc:
            ctap.credential_mgmt(
                sub_command, params, protocol.VERSION, protocol.authenticate(token, b"-")
            )
        return code(exc)

    assert status(0x08, None) == ERR.INVALID_SUBCOMMAND
    assert status(CMD.ENUMERATE_CREDS_BEGIN, None) == ERR.MISSING_PARAMETER
    assert status(CMD.ENUMERATE_CREDS_BEGIN, {2: b"x"}) == ERR.MISSING_PARAMETER
    assert status(CMD.ENUMERATE_CREDS_BEGIN, {1: "example.com"}) == ERR.CBOR_UNEXPECTED_TYPE
    assert status(CMD.DELETE_CREDENTIAL, {1: rp_hash("a")}) == ERR.MISSING_PARAMETER
    assert status(CMD.DELETE_CREDENTIAL, {2: {"type": "public-key"}}) == ERR.MISSING_PARAMETER
    assert status(CMD.UPDATE_USER_INFO, {2: descriptor(b"i")}) == ERR.MISSING_PARAMETER
    assert status(CMD.UPDATE_USER_INFO, {2: descriptor(b"i"), 3: {"name": "x"}}) == (
        ERR.MISSING_PARAMETER
    )
    with pytest.raises(CtapError) as exc:
        ctap.send_cbor(Ctap2.CMD.CREDENTIAL_MGMT, {2: {}})
    assert code(exc) == ERR.MISSING_PARAMETER


def test_rp_bound_token(ctap: Ctap2, protocol: PinProtocol) -> None:
    alice_id, _ = make(ctap, COM, "alice")
    carol_id, _ = make(ctap, ORG, "carol")
    cm = manager(ctap, protocol, PERM.CREDENTIAL_MGMT, "example.com")

    def refused(call: Any, *args: Any) -> None:
        with pytest.raises(CtapError) as exc:
            call(*args)
        assert code(exc) == ERR.PIN_AUTH_INVALID

    # Not for what spans every RP.
    refused(cm.get_metadata)
    refused(cm.enumerate_rps_begin)
    # Not for another RP's credentials.
    refused(cm.enumerate_creds_begin, rp_hash("example.org"))
    refused(cm.delete_cred, descriptor(carol_id))
    refused(cm.update_user_info, descriptor(carol_id), {"id": user("carol")["id"], "name": "c"})
    # Its own RP's, yes.
    assert cm.enumerate_creds(rp_hash("example.com"))[0][RES.USER] == user("alice")
    cm.update_user_info(descriptor(alice_id), {"id": user("alice")["id"], "name": "a2"})
    cm.delete_cred(descriptor(alice_id))
    unbound = manager(ctap, protocol)
    assert [r[RES.RP] for r in unbound.enumerate_rps()] == [ORG]


def test_mc_and_cm_token_is_spent_by_make_credential(ctap: Ctap2, protocol: PinProtocol) -> None:
    """A token with mc and cm for example.com manages that RP only, and a makeCredential that
    uses it clears its permissions (lbw aside), cm included."""
    make(ctap, COM, "alice")
    token = ClientPin(ctap, protocol).get_pin_token(
        PIN, PERM.MAKE_CREDENTIAL | PERM.CREDENTIAL_MGMT, "example.com"
    )
    cm = CredentialManagement(ctap, protocol, token)
    with pytest.raises(CtapError) as exc:
        cm.get_metadata()
    assert code(exc) == ERR.PIN_AUTH_INVALID
    assert [c[RES.USER] for c in cm.enumerate_creds(rp_hash("example.com"))] == [user("alice")]
    client_data_hash = cdh()
    ctap.make_credential(
        client_data_hash,
        COM,
        user("bob"),
        ES256,
        options={"rk": True},
        pin_uv_param=protocol.authenticate(token, client_data_hash),
        pin_uv_protocol=protocol.VERSION,
    )
    with pytest.raises(CtapError) as exc:
        cm.enumerate_creds_begin(rp_hash("example.com"))
    assert code(exc) == ERR.PIN_AUTH_INVALID
    assert len(manager(ctap, protocol).enumerate_creds(rp_hash("example.com"))) == 2


# -- the 0x41 prototype command ------------------------------------------------------------


def test_preview_command_0x41(protocol: PinProtocol) -> None:
    va, ctap = device()
    ClientPin(ctap).set_pin(PIN)
    alice_id, _ = make(ctap, COM, "alice")
    make(ctap, ORG, "carol")
    sent: list[int] = []
    process = va.process

    def recording(request: bytes) -> bytes:
        sent.append(request[0])
        return process(request)

    va.process = recording  # type: ignore[method-assign]
    cm = manager(advertise_preview(ctap), protocol)
    assert cm.get_metadata()[RES.EXISTING_CRED_COUNT] == 2
    assert [r[RES.RP] for r in cm.enumerate_rps()] == [COM, ORG]
    cm.delete_cred(descriptor(alice_id))
    assert cm.get_metadata()[RES.EXISTING_CRED_COUNT] == 1
    assert 0x41 in sent and 0x0A not in sent


def test_ctap2_0_mode_has_no_credential_management() -> None:
    ctap = Ctap2(VauthCtapDevice(VirtualAuthenticator(protocol="ctap2")))
    assert "credMgmt" not in ctap.info.options
    for command in (Ctap2.CMD.CREDENTIAL_MGMT, Ctap2.CMD.CREDENTIAL_MGMT_PRE):
        with pytest.raises(CtapError) as exc:
            ctap.send_cbor(command, {1: CMD.GET_CREDS_METADATA})
        assert code(exc) == ERR.INVALID_COMMAND
