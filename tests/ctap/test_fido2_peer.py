"""The core driven by python-fido2's Ctap2 through the CtapDevice adapter, verified by fido2."""

from __future__ import annotations

import asyncio

import pytest
from fido2.attestation import NoneAttestation, PackedAttestation
from fido2.cose import CoseKey
from fido2.ctap import CtapError
from fido2.ctap2 import Ctap2
from fido2.webauthn import AuthenticatorData

from tests.conftest import RP, cdh, user
from vauth import VirtualAuthenticator
from vauth.testing.doubles import FakeClock, InMemoryStore, ScriptedPresence, VauthCtapDevice

ES256, EDDSA, ES384, RS256 = -7, -8, -35, -257
ALL_ALGORITHMS = [ES256, EDDSA, ES384, RS256]
UP, UV, BE, BS, AT, ED = 0x01, 0x04, 0x08, 0x10, 0x40, 0x80


def params(*algs: int) -> list[dict[str, object]]:
    return [{"type": "public-key", "alg": alg} for alg in algs]


def make(ctap: Ctap2, alg: int = ES256, rk: bool = True, name: str = "alice", **kw: object):
    """A credential; a discoverable one with built-in UV, as CTAP 2.1 requires of a protected
    authenticator (makeCredUvNotRqd covers non-discoverable credentials only)."""
    options = {"rk": rk, "uv": True} if rk else {"rk": False}
    return ctap.make_credential(cdh(), RP, user(name), params(alg), options=options, **kw)


def test_get_info_is_truthful(ctap: Ctap2) -> None:
    info = ctap.info
    assert info.versions == ["U2F_V2", "FIDO_2_0", "FIDO_2_1"]
    assert info.options["rk"] is True and info.options["up"] is True and info.options["uv"]
    assert [a["alg"] for a in info.algorithms] == ALL_ALGORITHMS
    assert info.extensions == [
        "credBlob",
        "credProtect",
        "hmac-secret",
        "hmac-secret-mc",
        "largeBlobKey",
        "minPinLength",
    ]
    assert info.max_cred_blob_length == 32 and info.max_large_blob == 4096
    assert info.options["largeBlobs"] is True
    assert info.max_msg_size == 7609
    assert info.transports == ["usb"]
    assert info.remaining_disc_creds == 1_000_000
    make(ctap)
    assert Ctap2(ctap.device).info.remaining_disc_creds == 999_999


def test_ctap2_0_protocol_hides_2_1() -> None:
    ctap = Ctap2(VauthCtapDevice(VirtualAuthenticator(protocol="ctap2")))
    assert ctap.info.versions == ["U2F_V2", "FIDO_2_0"]
    with pytest.raises(CtapError) as exc:
        ctap.selection()
    assert exc.value.code == CtapError.ERR.INVALID_COMMAND


@pytest.mark.parametrize("alg", ALL_ALGORITHMS)
@pytest.mark.parametrize("attestation", ["none", "packed-self", "packed"])
@pytest.mark.parametrize("rk", [True, False])
def test_register_and_assert_every_algorithm(alg: int, attestation: str, rk: bool) -> None:
    va = VirtualAuthenticator(attestation=attestation)
    ctap = Ctap2(VauthCtapDevice(va))
    client_data_hash = cdh()
    att = ctap.make_credential(
        client_data_hash, RP, user(), params(alg), options={"rk": rk, "uv": True}
    )
    auth_data = att.auth_data
    assert (
        auth_data.rp_id_hash
        == AuthenticatorData.create(
            __import__("hashlib").sha256(b"example.com").digest(), 0, 0
        ).rp_id_hash
    )
    assert auth_data.flags == UP | UV | AT
    cred = auth_data.credential_data
    assert cred is not None and cred.public_key[3] == alg
    assert cred.aaguid == bytes.fromhex("7661757468000000a000000000000001")
    if attestation == "none":
        assert att.fmt == "none" and att.att_stmt == {}
        NoneAttestation().verify(att.att_stmt, auth_data, client_data_hash)
    else:
        assert att.fmt == "packed"
        result = PackedAttestation().verify(att.att_stmt, auth_data, client_data_hash)
        if attestation == "packed":
            assert len(att.att_stmt["x5c"]) == 1 and att.att_stmt["alg"] == ES256
            assert result.trust_path  # x5c chain, checked against the CA below
        else:
            assert att.att_stmt["alg"] == alg and "x5c" not in att.att_stmt
    descriptor = {"type": "public-key", "id": cred.credential_id}
    client_data_hash = cdh()
    assertion = ctap.get_assertion("example.com", client_data_hash, [descriptor])
    assertion.verify(client_data_hash, CoseKey.parse(cred.public_key))
    assert assertion.auth_data.flags == UP
    assert assertion.credential["id"] == cred.credential_id
    if rk:
        assert assertion.user == {"id": user()["id"]}
    else:
        assert assertion.user is None


def test_first_supported_algorithm_wins(ctap: Ctap2) -> None:
    att = ctap.make_credential(cdh(), RP, user(), params(-999, EDDSA, ES256))
    assert att.auth_data.credential_data.public_key[3] == EDDSA


def test_no_supported_algorithm(ctap: Ctap2) -> None:
    with pytest.raises(CtapError) as exc:
        ctap.make_credential(cdh(), RP, user(), params(-999, -65535))
    assert exc.value.code == CtapError.ERR.UNSUPPORTED_ALGORITHM


def test_non_discoverable_credentials_use_no_storage(va: VirtualAuthenticator, ctap) -> None:
    att = make(ctap, rk=False)
    assert va.get_credentials() == []
    cred_id = att.auth_data.credential_data.credential_id
    # Not discoverable ...
    with pytest.raises(CtapError) as exc:
        ctap.get_assertion("example.com", cdh())
    assert exc.value.code == CtapError.ERR.NO_CREDENTIALS
    # ... but usable with its ID, for its own rpId only.
    ctap.get_assertion("example.com", cdh(), [{"type": "public-key", "id": cred_id}])
    with pytest.raises(CtapError) as exc:
        ctap.get_assertion("evil.example", cdh(), [{"type": "public-key", "id": cred_id}])
    assert exc.value.code == CtapError.ERR.NO_CREDENTIALS


def test_credential_id_is_bound_to_its_authenticator(ctap: Ctap2) -> None:
    cred_id = make(ctap, rk=False).auth_data.credential_data.credential_id
    other = Ctap2(VauthCtapDevice(VirtualAuthenticator()))
    with pytest.raises(CtapError) as exc:
        other.get_assertion("example.com", cdh(), [{"type": "public-key", "id": cred_id}])
    assert exc.value.code == CtapError.ERR.NO_CREDENTIALS
    tampered = cred_id[:-1] + bytes([cred_id[-1] ^ 1])
    with pytest.raises(CtapError):
        ctap.get_assertion("example.com", cdh(), [{"type": "public-key", "id": tampered}])


def test_rp_id_scoping_of_discovery(ctap: Ctap2) -> None:
    make(ctap, name="alice")
    ctap.make_credential(
        cdh(), {"id": "other.org"}, user("bob"), params(ES256), options={"rk": True, "uv": True}
    )
    assertion = ctap.get_assertion("other.org", cdh())
    assert assertion.user["id"] == user("bob")["id"]
    assert assertion.number_of_credentials is None


def test_discovery_with_several_accounts_newest_first(va: VirtualAuthenticator) -> None:
    clock = FakeClock()
    va = VirtualAuthenticator(clock=clock)
    ctap = Ctap2(VauthCtapDevice(va))
    keys = {}
    for name in ("alice", "bob", "carol"):
        keys[name] = CoseKey.parse(make(ctap, name=name).auth_data.credential_data.public_key)
        clock.advance(1)
    client_data_hash = cdh()
    assertions = ctap.get_assertions("example.com", client_data_hash, options={"uv": True})
    assert assertions[0].number_of_credentials == 3
    names = [a.user["name"] for a in assertions]
    assert names == ["carol", "bob", "alice"]
    for assertion in assertions:
        assertion.verify(client_data_hash, keys[assertion.user["name"]])
        assert assertion.auth_data.flags == UP | UV
    with pytest.raises(CtapError) as exc:
        ctap.get_next_assertion()
    assert exc.value.code == CtapError.ERR.NOT_ALLOWED


def test_get_next_assertion_state_is_cleared_by_other_commands(ctap: Ctap2) -> None:
    make(ctap, name="alice")
    make(ctap, name="bob")
    assert ctap.get_assertion("example.com", cdh()).number_of_credentials == 2
    ctap.get_info()
    with pytest.raises(CtapError) as exc:
        ctap.get_next_assertion()
    assert exc.value.code == CtapError.ERR.NOT_ALLOWED


def test_get_next_assertion_timer_expires() -> None:
    clock = FakeClock()
    ctap = Ctap2(VauthCtapDevice(VirtualAuthenticator(clock=clock)))
    make(ctap, name="alice")
    make(ctap, name="bob")
    ctap.get_assertion("example.com", cdh())
    clock.advance(31)
    with pytest.raises(CtapError) as exc:
        ctap.get_next_assertion()
    assert exc.value.code == CtapError.ERR.NOT_ALLOWED


def test_same_user_replaces_resident_credential(va: VirtualAuthenticator, ctap: Ctap2) -> None:
    make(ctap)
    second = make(ctap).auth_data.credential_data.credential_id
    creds = va.get_credentials()
    assert len(creds) == 1
    assert (
        creds[0]["credentialId"]
        == __import__("base64").urlsafe_b64encode(second).rstrip(b"=").decode()
    )


def test_exclude_list_after_presence() -> None:
    presence = ScriptedPresence([True, True, False])
    va = VirtualAuthenticator(presence=presence)
    ctap = Ctap2(VauthCtapDevice(va))
    cred_id = make(ctap, rk=False).auth_data.credential_data.credential_id
    exclude = [{"type": "public-key", "id": cred_id}]
    with pytest.raises(CtapError) as exc:
        make(ctap, exclude_list=exclude)
    assert exc.value.code == CtapError.ERR.CREDENTIAL_EXCLUDED
    assert presence.requests[-1].excluded is True
    with pytest.raises(CtapError) as exc:  # the user declines: no information
        make(ctap, exclude_list=exclude)
    assert exc.value.code == CtapError.ERR.OPERATION_DENIED


def test_exclude_list_of_another_rp_does_not_exclude(ctap: Ctap2) -> None:
    cred_id = make(ctap, rk=False).auth_data.credential_data.credential_id
    ctap.make_credential(
        cdh(),
        {"id": "other.org"},
        user(),
        params(ES256),
        exclude_list=[{"type": "public-key", "id": cred_id}],
    )


def test_up_false_probe_is_silent() -> None:
    presence = ScriptedPresence([True])
    ctap = Ctap2(VauthCtapDevice(VirtualAuthenticator(presence=presence)))
    cred_id = make(ctap).auth_data.credential_data.credential_id
    probe = ctap.get_assertion(
        "example.com", cdh(), [{"type": "public-key", "id": cred_id}], options={"up": False}
    )
    assert probe.auth_data.flags & UP == 0
    assert len(presence.requests) == 1  # only the registration asked the user


def test_denied_presence(ctap: Ctap2) -> None:
    ctap = Ctap2(VauthCtapDevice(VirtualAuthenticator(is_user_consenting=False)))
    with pytest.raises(CtapError) as exc:
        make(ctap)
    assert exc.value.code == CtapError.ERR.OPERATION_DENIED


def test_uv_requested_but_not_verified(va: VirtualAuthenticator, ctap: Ctap2) -> None:
    make(ctap)
    va.set_user_verified(False)
    with pytest.raises(CtapError) as exc:
        ctap.get_assertion("example.com", cdh(), options={"uv": True})
    assert exc.value.code == CtapError.ERR.OPERATION_DENIED
    assert ctap.get_assertion("example.com", cdh()).auth_data.flags == UP


def test_uv_option_without_built_in_uv() -> None:
    ctap = Ctap2(VauthCtapDevice(VirtualAuthenticator(has_user_verification=False)))
    assert "uv" not in ctap.info.options
    with pytest.raises(CtapError) as exc:
        ctap.make_credential(cdh(), RP, user(), params(ES256), options={"uv": True})
    assert exc.value.code == CtapError.ERR.INVALID_OPTION


def test_rk_without_resident_key_support() -> None:
    ctap = Ctap2(VauthCtapDevice(VirtualAuthenticator(has_resident_key=False)))
    with pytest.raises(CtapError) as exc:
        make(ctap, rk=True)
    assert exc.value.code == CtapError.ERR.UNSUPPORTED_OPTION


def test_rk_option_in_get_assertion_is_unsupported(ctap: Ctap2) -> None:
    make(ctap)
    with pytest.raises(CtapError) as exc:
        ctap.get_assertion("example.com", cdh(), options={"rk": True})
    assert exc.value.code == CtapError.ERR.UNSUPPORTED_OPTION


def test_up_false_in_make_credential_is_invalid(ctap: Ctap2) -> None:
    with pytest.raises(CtapError) as exc:
        ctap.make_credential(cdh(), RP, user(), params(ES256), options={"up": False})
    assert exc.value.code == CtapError.ERR.INVALID_OPTION


class TestSignCount:
    def test_device_bound_counts_strictly_up(self, ctap: Ctap2) -> None:
        for rk in (True, False):
            cred_id = make(ctap, rk=rk).auth_data.credential_data.credential_id
            allow = [{"type": "public-key", "id": cred_id}]
            counts = [
                ctap.get_assertion("example.com", cdh(), allow).auth_data.counter for _ in range(5)
            ]
            assert counts == sorted(set(counts)) and counts[0] > 0

    def test_backup_eligible_is_zero_by_default(self) -> None:
        va = VirtualAuthenticator(default_backup_eligibility=True, default_backup_state=True)
        ctap = Ctap2(VauthCtapDevice(va))
        att = make(ctap)
        assert att.auth_data.flags == UP | UV | AT | BE | BS
        assert att.auth_data.counter == 0
        for _ in range(3):
            assertion = ctap.get_assertion("example.com", cdh())
            assert assertion.auth_data.counter == 0
            assert assertion.auth_data.flags == UP | BE | BS

    def test_backup_eligible_counter_on_request(self) -> None:
        va = VirtualAuthenticator(
            default_backup_eligibility=True, backup_sign_count_policy="counter"
        )
        ctap = Ctap2(VauthCtapDevice(va))
        make(ctap)
        counts = [ctap.get_assertion("example.com", cdh()).auth_data.counter for _ in range(3)]
        assert counts == [2, 3, 4]
        assert va.get_credentials()[0]["signCount"] == 4


class TestCredProtect:
    @pytest.mark.parametrize("level", [1, 2, 3])
    def test_output_and_discovery(self, va: VirtualAuthenticator, ctap: Ctap2, level: int) -> None:
        att = make(ctap, extensions={"credProtect": level})
        assert att.auth_data.flags & ED
        assert att.auth_data.extensions == {"credProtect": level}
        allow = [{"type": "public-key", "id": att.auth_data.credential_data.credential_id}]
        discoverable_without_uv = level == 1
        usable_with_list_without_uv = level in (1, 2)
        try:
            ctap.get_assertion("example.com", cdh())
            found = True
        except CtapError as exc:
            assert exc.code == CtapError.ERR.NO_CREDENTIALS
            found = False
        assert found is discoverable_without_uv
        try:
            ctap.get_assertion("example.com", cdh(), allow)
            found = True
        except CtapError as exc:
            assert exc.code == CtapError.ERR.NO_CREDENTIALS
            found = False
        assert found is usable_with_list_without_uv
        # With user verification every level is usable, by list and by discovery.
        ctap.get_assertion("example.com", cdh(), options={"uv": True})
        ctap.get_assertion("example.com", cdh(), allow, options={"uv": True})

    def test_level_survives_in_non_discoverable_id(self, ctap: Ctap2) -> None:
        att = make(ctap, rk=False, extensions={"credProtect": 3})
        allow = [{"type": "public-key", "id": att.auth_data.credential_data.credential_id}]
        with pytest.raises(CtapError):
            ctap.get_assertion("example.com", cdh(), allow)
        ctap.get_assertion("example.com", cdh(), allow, options={"uv": True})

    def test_level_3_hides_from_exclude_list_without_uv(self, ctap: Ctap2) -> None:
        att = make(ctap, extensions={"credProtect": 3})
        exclude = [{"type": "public-key", "id": att.auth_data.credential_data.credential_id}]
        make(ctap, name="bob", rk=False, exclude_list=exclude)  # not excluded: it is hidden
        with pytest.raises(CtapError) as exc:
            ctap.make_credential(
                cdh(), RP, user("carol"), params(ES256), exclude_list=exclude, options={"uv": True}
            )
        assert exc.value.code == CtapError.ERR.CREDENTIAL_EXCLUDED


class TestReset:
    def test_reset_within_window_wipes_everything(self) -> None:
        clock = FakeClock()
        va = VirtualAuthenticator(clock=clock)
        ctap = Ctap2(VauthCtapDevice(va))
        make(ctap)
        wrapped = make(ctap, name="bob", rk=False).auth_data.credential_data.credential_id
        clock.advance(5)
        ctap.reset()
        assert va.get_credentials() == []
        with pytest.raises(CtapError) as exc:
            ctap.get_assertion("example.com", cdh(), [{"type": "public-key", "id": wrapped}])
        assert exc.value.code == CtapError.ERR.NO_CREDENTIALS

    def test_reset_outside_window_is_refused_until_power_cycle(self) -> None:
        clock = FakeClock()
        va = VirtualAuthenticator(clock=clock)
        ctap = Ctap2(VauthCtapDevice(va))
        make(ctap)
        clock.advance(11)
        with pytest.raises(CtapError) as exc:
            ctap.reset()
        assert exc.value.code == CtapError.ERR.NOT_ALLOWED
        assert len(va.get_credentials()) == 1
        va.power_cycle()
        ctap.reset()
        assert va.get_credentials() == []

    def test_reset_needs_presence(self) -> None:
        ctap = Ctap2(VauthCtapDevice(VirtualAuthenticator(is_user_consenting=False)))
        with pytest.raises(CtapError) as exc:
            ctap.reset()
        assert exc.value.code == CtapError.ERR.OPERATION_DENIED


def test_selection(ctap: Ctap2) -> None:
    ctap.selection()
    denied = Ctap2(VauthCtapDevice(VirtualAuthenticator(is_user_consenting=False)))
    with pytest.raises(CtapError) as exc:
        denied.selection()
    assert exc.value.code == CtapError.ERR.OPERATION_DENIED


def test_single_account_with_uv_returns_only_the_user_id(ctap: Ctap2) -> None:
    make(ctap)
    assertion = ctap.get_assertion("example.com", cdh(), options={"uv": True})
    assert assertion.user == {"id": user()["id"]}


def test_several_accounts_without_uv_return_only_ids(ctap: Ctap2) -> None:
    make(ctap, name="alice")
    make(ctap, name="bob")
    assertions = ctap.get_assertions("example.com", cdh())
    assert [set(a.user) for a in assertions] == [{"id"}, {"id"}]


def test_newest_first_even_within_one_millisecond() -> None:
    ctap = Ctap2(VauthCtapDevice(VirtualAuthenticator(clock=FakeClock())))  # time stands still
    for name in ("alice", "bob", "carol"):
        make(ctap, name=name)
    assertions = ctap.get_assertions("example.com", cdh(), options={"uv": True})
    assert [a.user["name"] for a in assertions] == ["carol", "bob", "alice"]


def test_silent_probe_does_not_count_as_a_use() -> None:
    clock, store = FakeClock(), InMemoryStore()
    ctap = Ctap2(VauthCtapDevice(VirtualAuthenticator(clock=clock, store=store)))
    cred_id = make(ctap).auth_data.credential_data.credential_id
    allow = [{"type": "public-key", "id": cred_id}]
    clock.advance(60)
    ctap.get_assertion("example.com", cdh(), allow, options={"up": False})
    assert asyncio.run(store.get(cred_id)).last_used is None
    ctap.get_assertion("example.com", cdh(), allow)
    assert asyncio.run(store.get(cred_id)).last_used == clock.now_ms()


def test_the_user_picks_an_account_on_the_authenticator() -> None:
    from vauth.ctap.ports import PresenceResponse

    presence = ScriptedPresence([True, True, True, PresenceResponse(True, True, selected=2)])
    ctap = Ctap2(VauthCtapDevice(VirtualAuthenticator(presence=presence, clock=FakeClock())))
    for name in ("alice", "bob", "carol"):
        make(ctap, name=name)
    assertion = ctap.get_assertion("example.com", cdh(), options={"uv": True})
    assert presence.requests[-1].accounts == (
        ("carol", "carol"),
        ("bob", "bob"),
        ("alice", "alice"),
    )
    assert assertion.user["id"] == user("alice")["id"]
    assert assertion.user_selected is True and assertion.number_of_credentials is None
