"""clientPIN, PIN/UV auth protocols 1 and 2, driven by python-fido2's ClientPin and Config."""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from fido2.ctap import CtapError
from fido2.ctap2 import Config, Ctap2
from fido2.ctap2.pin import ClientPin, PinProtocol, PinProtocolV1, PinProtocolV2

from tests.conftest import RP, cdh, user
from vauth import VirtualAuthenticator
from vauth.ctap import cbor
from vauth.testing.doubles import FakeClock, InMemoryStore, ScriptedPresence, VauthCtapDevice

ERR = CtapError.ERR
PERM = ClientPin.PERMISSION
PROTOCOLS = [PinProtocolV1, PinProtocolV2]
ES256 = [{"type": "public-key", "alg": -7}]
UP, UV = 0x01, 0x04


def device(**kw: object) -> tuple[VirtualAuthenticator, Ctap2]:
    va = VirtualAuthenticator(**kw)  # type: ignore[arg-type]
    return va, Ctap2(VauthCtapDevice(va))


def code(exc: pytest.ExceptionInfo[CtapError]) -> ERR:
    return exc.value.code


@pytest.fixture(params=PROTOCOLS, ids=["v1", "v2"])
def protocol(request: pytest.FixtureRequest) -> PinProtocol:
    return request.param()


def test_get_info_reports_pin_support() -> None:
    _va, ctap = device()
    info = ctap.info
    assert info.pin_uv_protocols == [2, 1]
    assert info.options["clientPin"] is False
    assert info.options["pinUvAuthToken"] is True
    assert info.options["makeCredUvNotRqd"] is True
    assert info.min_pin_length == 4
    ClientPin(ctap).set_pin("1234")
    assert ctap.get_info().options["clientPin"] is True


def test_set_pin_then_token_then_uv_ceremonies(protocol: PinProtocol) -> None:
    _va, ctap = device(has_user_verification=False)
    pin = ClientPin(ctap, protocol)
    pin.set_pin("1234")
    assert pin.get_pin_retries() == (8, False)
    token = pin.get_pin_token("1234", PERM.MAKE_CREDENTIAL, "example.com")
    client_data_hash = cdh()
    att = ctap.make_credential(
        client_data_hash,
        RP,
        user(),
        ES256,
        options={"rk": True},
        pin_uv_param=protocol.authenticate(token, client_data_hash),
        pin_uv_protocol=protocol.VERSION,
    )
    assert att.auth_data.flags & (UP | UV) == UP | UV
    token = pin.get_pin_token("1234", PERM.GET_ASSERTION, "example.com")
    client_data_hash = cdh()
    assertion = ctap.get_assertion(
        "example.com",
        client_data_hash,
        pin_uv_param=protocol.authenticate(token, client_data_hash),
        pin_uv_protocol=protocol.VERSION,
    )
    assert assertion.auth_data.flags & (UP | UV) == UP | UV


def test_pin_is_kept_only_as_a_salted_slow_hash() -> None:
    store = InMemoryStore()
    _va, ctap = device(store=store)
    ClientPin(ctap).set_pin("correct horse")
    raw = asyncio.run(store.get_setting("client_pin"))
    state = cbor.decode(raw)
    assert b"correct horse" not in raw
    assert hashlib.sha256(b"correct horse").digest()[:16] not in raw
    assert len(state["salt"]) == 16 and len(state["pin_hash"]) == 32


def test_discoverable_needs_uv_on_a_protected_authenticator() -> None:
    _va, ctap = device(has_user_verification=False)
    ctap.make_credential(cdh(), RP, user(), ES256, options={"rk": True})  # no PIN: fine
    ClientPin(ctap).set_pin("1234")
    with pytest.raises(CtapError) as exc:
        ctap.make_credential(cdh(), RP, user("bob"), ES256, options={"rk": True})
    assert code(exc) == ERR.PUAT_REQUIRED
    ctap.make_credential(cdh(), RP, user("carol"), ES256)  # makeCredUvNotRqd: non-rk is fine


def test_zero_length_pin_uv_auth_param_asks_for_a_touch() -> None:
    _va, ctap = device()
    with pytest.raises(CtapError) as exc:
        ctap.make_credential(cdh(), RP, user(), ES256, pin_uv_param=b"", pin_uv_protocol=1)
    assert code(exc) == ERR.PIN_NOT_SET
    ClientPin(ctap).set_pin("1234")
    with pytest.raises(CtapError) as exc:
        ctap.make_credential(cdh(), RP, user(), ES256, pin_uv_param=b"", pin_uv_protocol=1)
    assert code(exc) == ERR.PIN_INVALID


def test_wrong_pins_then_power_cycle_then_blocked(protocol: PinProtocol) -> None:
    va, ctap = device()
    pin = ClientPin(ctap, protocol)
    pin.set_pin("1234")
    statuses = []
    for _ in range(3):
        with pytest.raises(CtapError) as exc:
            pin.get_pin_token("0000", PERM.GET_ASSERTION, "example.com")
        statuses.append(code(exc))
    assert statuses == [ERR.PIN_INVALID, ERR.PIN_INVALID, ERR.PIN_AUTH_BLOCKED]
    assert pin.get_pin_retries() == (5, True)
    with pytest.raises(CtapError) as exc:  # even the right PIN, until a power cycle
        pin.get_pin_token("1234", PERM.GET_ASSERTION, "example.com")
    assert code(exc) == ERR.PIN_AUTH_BLOCKED
    va.power_cycle()
    pin.get_pin_token("1234", PERM.GET_ASSERTION, "example.com")
    assert pin.get_pin_retries() == (8, False)
    for attempt in range(8):
        if attempt and attempt % 3 == 0:
            va.power_cycle()
        with pytest.raises(CtapError) as exc:
            pin.get_pin_token("9999", PERM.GET_ASSERTION, "example.com")
    assert code(exc) == ERR.PIN_BLOCKED
    va.power_cycle()
    with pytest.raises(CtapError) as exc:
        pin.get_pin_token("1234", PERM.GET_ASSERTION, "example.com")
    assert code(exc) == ERR.PIN_BLOCKED


def test_retries_survive_a_restart_of_the_authenticator() -> None:
    store = InMemoryStore()
    _va, ctap = device(store=store)
    pin = ClientPin(ctap)
    pin.set_pin("1234")
    with pytest.raises(CtapError):
        pin.get_pin_token("0000", PERM.GET_ASSERTION, "example.com")
    # A new authenticator over the same store: what a daemon restart does.
    again = VirtualAuthenticator(store=store)
    assert ClientPin(Ctap2(VauthCtapDevice(again))).get_pin_retries() == (7, False)


def test_change_pin(protocol: PinProtocol) -> None:
    _va, ctap = device()
    pin = ClientPin(ctap, protocol)
    pin.set_pin("1234")
    with pytest.raises(CtapError) as exc:
        pin.change_pin("0000", "5678")
    assert code(exc) == ERR.PIN_INVALID
    pin.change_pin("1234", "5678")
    with pytest.raises(CtapError):
        pin.get_pin_token("1234", PERM.GET_ASSERTION, "example.com")
    pin.get_pin_token("5678", PERM.GET_ASSERTION, "example.com")


def test_set_pin_twice_is_not_allowed() -> None:
    _va, ctap = device()
    ClientPin(ctap).set_pin("1234")
    with pytest.raises(CtapError) as exc:
        ClientPin(ctap).set_pin("5678")
    assert code(exc) == ERR.NOT_ALLOWED


def raw_set_pin(ctap: Ctap2, protocol: PinProtocol, padded: bytes) -> None:
    """setPIN with any padded PIN (python-fido2 refuses to send a PIN it deems bad)."""
    key_agreement, shared = ClientPin(ctap, protocol)._get_shared_secret()
    new_pin_enc = protocol.encrypt(shared, padded)
    ctap.client_pin(
        protocol.VERSION,
        ClientPin.CMD.SET_PIN,
        key_agreement=key_agreement,
        new_pin_enc=new_pin_enc,
        pin_uv_param=protocol.authenticate(shared, new_pin_enc),
    )


@pytest.mark.parametrize(
    ("padded", "status"),
    [
        (b"123".ljust(64, b"\x00"), ERR.PIN_POLICY_VIOLATION),  # too short
        (b"1" * 64, ERR.PIN_POLICY_VIOLATION),  # 64 bytes: no room for padding
        (b"\xff\xfe\xfd\xfc".ljust(64, b"\x00"), ERR.PIN_POLICY_VIOLATION),  # not UTF-8
        (b"1234".ljust(48, b"\x00"), ERR.INVALID_PARAMETER),  # not padded to 64 bytes
    ],
)
def test_pin_policy(protocol: PinProtocol, padded: bytes, status: ERR) -> None:
    _va, ctap = device()
    with pytest.raises(CtapError) as exc:
        raw_set_pin(ctap, protocol, padded)
    assert code(exc) == status
    raw_set_pin(ctap, protocol, b"1234".ljust(64, b"\x00"))


def test_pin_length_counts_code_points() -> None:
    _va, ctap = device()
    ClientPin(ctap).set_pin("ééé\u00e9")  # 4 code points, 8 bytes
    ClientPin(ctap).get_pin_token("ééé\u00e9", PERM.GET_ASSERTION, "example.com")


def test_pin_not_set() -> None:
    _va, ctap = device()
    with pytest.raises(CtapError) as exc:
        ClientPin(ctap).get_pin_token("1234", PERM.GET_ASSERTION, "example.com")
    assert code(exc) == ERR.PIN_NOT_SET


def test_tampered_pin_uv_auth_param(protocol: PinProtocol) -> None:
    _va, ctap = device()
    pin = ClientPin(ctap, protocol)
    pin.set_pin("1234")
    token = pin.get_pin_token("1234", PERM.MAKE_CREDENTIAL, "example.com")
    client_data_hash = cdh()
    param = bytearray(protocol.authenticate(token, client_data_hash))
    param[0] ^= 1
    with pytest.raises(CtapError) as exc:
        ctap.make_credential(
            client_data_hash,
            RP,
            user(),
            ES256,
            pin_uv_param=bytes(param),
            pin_uv_protocol=protocol.VERSION,
        )
    assert code(exc) == ERR.PIN_AUTH_INVALID


def test_token_is_bound_to_its_protocol() -> None:
    _va, ctap = device()
    ClientPin(ctap, PinProtocolV2()).set_pin("1234")
    token = ClientPin(ctap, PinProtocolV2()).get_pin_token(
        "1234", PERM.MAKE_CREDENTIAL, "example.com"
    )
    client_data_hash = cdh()
    param = PinProtocolV1().authenticate(token, client_data_hash)
    with pytest.raises(CtapError) as exc:
        ctap.make_credential(
            client_data_hash, RP, user(), ES256, pin_uv_param=param, pin_uv_protocol=1
        )
    assert code(exc) == ERR.PIN_AUTH_INVALID


def test_permissions_and_rp_binding() -> None:
    _va, ctap = device()
    pin = ClientPin(ctap)
    pin.set_pin("1234")
    protocol = pin.protocol

    def mc(token: bytes, rp_id: str) -> None:
        client_data_hash = cdh()
        ctap.make_credential(
            client_data_hash,
            {"id": rp_id},
            user(),
            ES256,
            pin_uv_param=protocol.authenticate(token, client_data_hash),
            pin_uv_protocol=protocol.VERSION,
        )

    ga_only = pin.get_pin_token("1234", PERM.GET_ASSERTION, "example.com")
    with pytest.raises(CtapError) as exc:
        mc(ga_only, "example.com")
    assert code(exc) == ERR.PIN_AUTH_INVALID
    bound = pin.get_pin_token("1234", PERM.MAKE_CREDENTIAL, "example.com")
    with pytest.raises(CtapError) as exc:
        mc(bound, "other.org")
    assert code(exc) == ERR.PIN_AUTH_INVALID
    mc(bound, "example.com")


def test_token_permissions_are_spent_by_a_ceremony_not_by_a_probe() -> None:
    _va, ctap = device()
    pin = ClientPin(ctap)
    pin.set_pin("1234")
    ctap.make_credential(cdh(), RP, user(), ES256, options={"rk": True, "uv": True})
    token = pin.get_pin_token("1234", PERM.GET_ASSERTION, "example.com")
    client_data_hash = cdh()
    param = pin.protocol.authenticate(token, client_data_hash)
    version = pin.protocol.VERSION
    probe = ctap.get_assertion(
        "example.com",
        client_data_hash,
        options={"up": False},
        pin_uv_param=param,
        pin_uv_protocol=version,
    )
    assert probe.auth_data.flags & (UP | UV) == UV
    real = ctap.get_assertion(
        "example.com", client_data_hash, pin_uv_param=param, pin_uv_protocol=version
    )
    assert real.auth_data.flags & (UP | UV) == UP | UV
    with pytest.raises(CtapError) as exc:
        ctap.get_assertion(
            "example.com", client_data_hash, pin_uv_param=param, pin_uv_protocol=version
        )
    assert code(exc) == ERR.PIN_AUTH_INVALID


def test_unused_token_expires_after_30_seconds() -> None:
    clock = FakeClock()
    _va, ctap = device(clock=clock)
    pin = ClientPin(ctap)
    pin.set_pin("1234")
    token = pin.get_pin_token("1234", PERM.MAKE_CREDENTIAL, "example.com")
    clock.advance(31)
    client_data_hash = cdh()
    with pytest.raises(CtapError) as exc:
        ctap.make_credential(
            client_data_hash,
            RP,
            user(),
            ES256,
            pin_uv_param=pin.protocol.authenticate(token, client_data_hash),
            pin_uv_protocol=pin.protocol.VERSION,
        )
    assert code(exc) == ERR.PIN_AUTH_INVALID


def test_a_new_token_invalidates_the_old_one() -> None:
    _va, ctap = device()
    pin = ClientPin(ctap)
    pin.set_pin("1234")
    old = pin.get_pin_token("1234", PERM.MAKE_CREDENTIAL, "example.com")
    pin.get_pin_token("1234", PERM.MAKE_CREDENTIAL, "example.com")
    client_data_hash = cdh()
    with pytest.raises(CtapError) as exc:
        ctap.make_credential(
            client_data_hash,
            RP,
            user(),
            ES256,
            pin_uv_param=pin.protocol.authenticate(old, client_data_hash),
            pin_uv_protocol=pin.protocol.VERSION,
        )
    assert code(exc) == ERR.PIN_AUTH_INVALID


def test_replayed_requests_are_refused(protocol: PinProtocol) -> None:
    """A recorded getPinToken request meets a new key-agreement key after a wrong PIN or a
    power cycle; a recorded setPIN meets a PIN that is already set."""
    va, ctap = device()
    pin = ClientPin(ctap, protocol)
    key_agreement, shared = pin._get_shared_secret()
    new_pin_enc = protocol.encrypt(shared, b"1234".ljust(64, b"\x00"))
    set_pin = dict(
        key_agreement=key_agreement,
        new_pin_enc=new_pin_enc,
        pin_uv_param=protocol.authenticate(shared, new_pin_enc),
    )
    ctap.client_pin(protocol.VERSION, ClientPin.CMD.SET_PIN, **set_pin)
    with pytest.raises(CtapError) as exc:
        ctap.client_pin(protocol.VERSION, ClientPin.CMD.SET_PIN, **set_pin)
    assert code(exc) == ERR.NOT_ALLOWED

    key_agreement, shared = pin._get_shared_secret()
    pin_hash_enc = protocol.encrypt(shared, hashlib.sha256(b"1234").digest()[:16])
    request = dict(
        key_agreement=key_agreement,
        pin_hash_enc=pin_hash_enc,
        permissions=PERM.GET_ASSERTION,
        permissions_rpid="example.com",
    )
    ctap.client_pin(protocol.VERSION, ClientPin.CMD.GET_TOKEN_USING_PIN, **request)
    va.power_cycle()
    with pytest.raises(CtapError) as exc:
        ctap.client_pin(protocol.VERSION, ClientPin.CMD.GET_TOKEN_USING_PIN, **request)
    assert code(exc) == ERR.PIN_INVALID

    pin.get_pin_token("1234", PERM.GET_ASSERTION, "example.com")  # clears the failure count
    key_agreement, shared = pin._get_shared_secret()
    request["key_agreement"] = key_agreement
    request["pin_hash_enc"] = protocol.encrypt(shared, hashlib.sha256(b"1234").digest()[:16])
    with pytest.raises(CtapError):
        pin.get_pin_token("0000", PERM.GET_ASSERTION, "example.com")  # a wrong PIN ...
    with pytest.raises(CtapError) as exc:  # ... makes a request recorded before it useless
        ctap.client_pin(protocol.VERSION, ClientPin.CMD.GET_TOKEN_USING_PIN, **request)
    assert code(exc) == ERR.PIN_INVALID


def test_bad_key_agreement_and_parameters() -> None:
    _va, ctap = device()
    ClientPin(ctap).set_pin("1234")
    bogus = {1: 2, 3: -25, -1: 1, -2: b"\x01" * 32, -3: b"\x02" * 32}  # not on the curve
    with pytest.raises(CtapError) as exc:
        ctap.client_pin(
            2,
            ClientPin.CMD.GET_TOKEN_USING_PIN,
            key_agreement=bogus,
            pin_hash_enc=b"\x00" * 32,
            permissions=PERM.GET_ASSERTION,
            permissions_rpid="example.com",
        )
    assert code(exc) == ERR.INVALID_PARAMETER
    with pytest.raises(CtapError) as exc:
        ctap.client_pin(3, ClientPin.CMD.GET_KEY_AGREEMENT)
    assert code(exc) == ERR.INVALID_PARAMETER
    with pytest.raises(CtapError) as exc:
        ctap.client_pin(2, 0x42)
    assert code(exc) == ERR.INVALID_SUBCOMMAND
    pin = ClientPin(ctap)
    with pytest.raises(CtapError) as exc:  # mc/ga need an rpId
        pin.get_pin_token("1234", PERM.MAKE_CREDENTIAL)
    assert code(exc) == ERR.MISSING_PARAMETER
    with pytest.raises(CtapError) as exc:  # bioEnrollment is not offered
        pin.get_pin_token("1234", PERM.BIO_ENROLL)
    assert code(exc) == ERR.UNAUTHORIZED_PERMISSION


def test_uv_token_and_uv_retries() -> None:
    presence = ScriptedPresence([(True), False, True])
    _va, ctap = device(presence=presence)
    pin = ClientPin(ctap)
    token = pin.get_uv_token(PERM.MAKE_CREDENTIAL, "example.com")
    client_data_hash = cdh()
    att = ctap.make_credential(
        client_data_hash,
        RP,
        user(),
        ES256,
        options={"rk": True},
        pin_uv_param=pin.protocol.authenticate(token, client_data_hash),
        pin_uv_protocol=pin.protocol.VERSION,
    )
    assert att.auth_data.flags & (UP | UV) == UP | UV
    assert len(presence.requests) == 1  # the UV touch served as the presence too
    with pytest.raises(CtapError) as exc:
        pin.get_uv_token(PERM.GET_ASSERTION, "example.com")
    assert code(exc) == ERR.OPERATION_DENIED
    assert pin.get_uv_retries() == 8


def test_failed_built_in_uv_counts_down() -> None:
    from vauth.ctap.ports import PresenceResponse

    presence = ScriptedPresence([PresenceResponse(True, False)] * 8)
    _va, ctap = device(presence=presence)
    pin = ClientPin(ctap)
    for expected in [ERR.UV_INVALID] * 7 + [ERR.UV_BLOCKED]:
        with pytest.raises(CtapError) as exc:
            pin.get_uv_token(PERM.GET_ASSERTION, "example.com")
        assert code(exc) == expected
    assert pin.get_uv_retries() == 0


class TestConfig:
    def config(self, ctap: Ctap2, pin: str = "1234") -> Config:
        client_pin = ClientPin(ctap)
        token = client_pin.get_pin_token(pin, PERM.AUTHENTICATOR_CFG)
        return Config(ctap, client_pin.protocol, token)

    def test_needs_a_token_with_acfg(self) -> None:
        _va, ctap = device()
        ClientPin(ctap).set_pin("1234")
        with pytest.raises(CtapError) as exc:
            Config(ctap).toggle_always_uv()
        assert code(exc) == ERR.PUAT_REQUIRED
        client_pin = ClientPin(ctap)
        token = client_pin.get_pin_token("1234", PERM.GET_ASSERTION, "example.com")
        with pytest.raises(CtapError) as exc:
            Config(ctap, client_pin.protocol, token).toggle_always_uv()
        assert code(exc) == ERR.PIN_AUTH_INVALID

    def test_toggle_always_uv(self) -> None:
        _va, ctap = device(has_user_verification=False)
        ClientPin(ctap).set_pin("1234")
        ctap.make_credential(cdh(), RP, user(), ES256)
        self.config(ctap).toggle_always_uv()
        info = ctap.get_info()
        assert info.options["alwaysUv"] is True and info.options["makeCredUvNotRqd"] is False
        with pytest.raises(CtapError) as exc:
            ctap.make_credential(cdh(), RP, user(), ES256)
        assert code(exc) == ERR.PUAT_REQUIRED
        self.config(ctap).toggle_always_uv()
        assert ctap.get_info().options["alwaysUv"] is False

    def test_set_min_pin_length_forces_a_change(self) -> None:
        _va, ctap = device()
        ClientPin(ctap).set_pin("1234")
        self.config(ctap).set_min_pin_length(6, rp_ids=["example.com"])
        info = ctap.get_info()
        assert info.min_pin_length == 6 and info.force_pin_change is True
        with pytest.raises(CtapError) as exc:
            ClientPin(ctap).get_pin_token("1234", PERM.GET_ASSERTION, "example.com")
        assert code(exc) == ERR.PIN_POLICY_VIOLATION
        with pytest.raises(CtapError) as exc:
            ClientPin(ctap).change_pin("1234", "12345")
        assert code(exc) == ERR.PIN_POLICY_VIOLATION
        ClientPin(ctap).change_pin("1234", "123456")
        assert ctap.get_info().force_pin_change is False
        with pytest.raises(CtapError) as exc:  # never lower
            self.config(ctap, "123456").set_min_pin_length(4)
        assert code(exc) == ERR.PIN_POLICY_VIOLATION

    def test_force_change_pin_needs_a_different_pin(self) -> None:
        _va, ctap = device()
        ClientPin(ctap).set_pin("1234")
        self.config(ctap).set_min_pin_length(force_change_pin=True)
        with pytest.raises(CtapError) as exc:
            ClientPin(ctap).change_pin("1234", "1234")
        assert code(exc) == ERR.PIN_POLICY_VIOLATION
        ClientPin(ctap).change_pin("1234", "4321")


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=["v1", "v2"])
def test_force_pin_change_answers_each_token_subcommand_as_specified(
    protocol: type[PinProtocol],
) -> None:
    """CTAP 2.1 6.5.5.7.1 (getPinToken, 0x05): a correct PIN under forcePINChange restores the
    retries (step 8), then is answered CTAP2_ERR_PIN_INVALID (step 9); 6.5.5.7.2
    (getPinUvAuthTokenUsingPinWithPermissions, 0x09) answers CTAP2_ERR_PIN_POLICY_VIOLATION.
    forcePINChange is set through python-fido2's Config (6.11.4, forceChangePin) and read from
    getInfo 0x0C."""
    _va, ctap = device()
    ClientPin(ctap, protocol()).set_pin("1234")
    TestConfig().config(ctap).set_min_pin_length(force_change_pin=True)
    assert ctap.get_info().force_pin_change is True
    pin = ClientPin(ctap, protocol())
    with pytest.raises(CtapError) as exc:  # a wrong PIN spends a retry, as always
        pin.get_pin_token("9999")
    assert code(exc) == ERR.PIN_INVALID
    assert pin.get_pin_retries() == (7, False)
    # ClientPin.get_pin_token without permissions sends 0x05. A correct PIN is never a
    # mismatch: the retries go back to 8 and three of them do not block until a power cycle.
    for _ in range(4):
        with pytest.raises(CtapError) as exc:
            pin.get_pin_token("1234")
        assert code(exc) == ERR.PIN_INVALID
        assert pin.get_pin_retries() == (8, False)
    # The same raw, through Ctap2.client_pin, so the subcommand is beyond doubt.
    key_agreement, shared = pin._get_shared_secret()
    pin_hash_enc = pin.protocol.encrypt(shared, hashlib.sha256(b"1234").digest()[:16])
    with pytest.raises(CtapError) as exc:
        ctap.client_pin(
            pin.protocol.VERSION, 0x05, key_agreement=key_agreement, pin_hash_enc=pin_hash_enc
        )
    assert code(exc) == ERR.PIN_INVALID
    with pytest.raises(CtapError) as exc:  # 0x09
        pin.get_pin_token("1234", PERM.GET_ASSERTION, "example.com")
    assert code(exc) == ERR.PIN_POLICY_VIOLATION
    assert pin.get_pin_retries() == (8, False)
    pin.change_pin("1234", "4321")
    assert ctap.get_info().force_pin_change is False
    assert pin.get_pin_token("4321")  # 0x05 works again


def test_reset_forgets_the_pin() -> None:
    _va, ctap = device()
    ClientPin(ctap).set_pin("1234")
    ctap.reset()
    assert ctap.get_info().options["clientPin"] is False
    ClientPin(ctap).set_pin("5678")
