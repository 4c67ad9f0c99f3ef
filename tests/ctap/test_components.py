"""The core's state components and the narrow context each handler gets, built on the core with
fakes (no facade, no vault); and the typed clientPIN / authenticatorConfig requests the dispatcher
parses first, driven by python-fido2."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from typing import Any

import pytest
from fido2.ctap import CtapError as Fido2CtapError
from fido2.ctap2 import Ctap2

from vauth import VirtualAuthenticator
from vauth.ctap import cbor
from vauth.ctap.authenticator import Authenticator
from vauth.ctap.commands import reset
from vauth.ctap.commands.get_assertion import AssertionExtensions
from vauth.ctap.config import AuthenticatorConfig
from vauth.ctap.cose import Algorithm
from vauth.ctap.dispatch import ROUTES
from vauth.ctap.large_blob_array import EMPTY_ARRAY
from vauth.ctap.messages.client_pin import ClientPinRequest, ClientPinResponse, Subcommand
from vauth.ctap.messages.command import Command
from vauth.ctap.messages.config import ConfigRequest, SetMinPinLengthParams
from vauth.ctap.messages.credential_management import CredentialManagementRequest
from vauth.ctap.messages.credential_management import Subcommand as CmSubcommand
from vauth.ctap.pin_state import GA, MC, PinState
from vauth.ctap.pin_uv import PinUvAuth
from vauth.ctap.ports import Environment
from vauth.ctap.secrets import Secrets
from vauth.ctap.settings import Setting
from vauth.ctap.state import CommandState, LargeBlobWrite, PendingAssertions, PendingWrite, Power
from vauth.ctap.status import CtapError, CtapStatus
from vauth.testing.doubles import (
    FakeClock,
    InMemoryStore,
    ScriptedKeySource,
    ScriptedPresence,
    VauthCtapDevice,
)

RP_ID_HASH = bytes(32)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def core(presence: ScriptedPresence | None = None) -> Authenticator:
    env = Environment(
        InMemoryStore(), presence or ScriptedPresence([]), FakeClock(), ScriptedKeySource()
    )
    return Authenticator(env)


# -- the narrow contexts -------------------------------------------------------------------------


@pytest.mark.parametrize("command", list(ROUTES), ids=lambda c: c.name)
def test_each_handler_gets_only_the_components_it_declares(command: Command) -> None:
    """Each handler's context is a frozen, slotted view over a few shared components: it has
    no ``env``, no ``__dict__`` to grow, and the same objects the authenticator holds."""
    authenticator = core()
    context = authenticator.context(command)
    route = ROUTES[command]
    assert type(context) is route.context
    params = type(context).__dataclass_params__
    assert params.frozen and not hasattr(context, "__dict__")
    names = {f.name for f in dataclasses.fields(context)}
    assert names < set(authenticator.components)  # never all of them
    assert not hasattr(context, "env") and not hasattr(context, "authenticator")
    for name in names:
        assert getattr(context, name) is authenticator.components[name]


def test_state_components_survive_a_power_cycle_in_place() -> None:
    """Contexts are built once; a power cycle renews state inside the components they share."""
    authenticator = core()
    context = authenticator.context(Command.CLIENT_PIN)
    keys_before = {v: p.get_public_key() for v, p in authenticator.pin_uv.protocols.items()}
    authenticator.pin_uv.consecutive_pin_failures = 3
    authenticator.large_blob_write.pending = PendingWrite(100, bytearray(b"x"))
    authenticator.power_cycle()
    assert context.pin_uv is authenticator.pin_uv
    assert context.pin_uv.consecutive_pin_failures == 0
    assert authenticator.large_blob_write.pending is None
    keys_after = {v: p.get_public_key() for v, p in context.pin_uv.protocols.items()}
    assert all(keys_after[v] != keys_before[v] for v in keys_before)  # new key agreement


# -- authenticatorReset on fakes (CTAP 2.1 section 6.6) -----------------------------------------


def reset_context(presence: ScriptedPresence) -> tuple[reset.Context, FakeClock]:
    store, clock, keys, config = (
        InMemoryStore(),
        FakeClock(),
        ScriptedKeySource(),
        AuthenticatorConfig(),
    )
    return (
        reset.Context(
            config=config,
            store=store,
            presence=presence,
            clock=clock,
            power=Power(clock.monotonic()),
            secrets=Secrets(store, keys, config),
            pin_uv=PinUvAuth(store, clock, keys, config),
            large_blob_write=LargeBlobWrite(PendingWrite(100, bytearray(b"half"))),
        ),
        clock,
    )


def test_reset_after_the_window_is_refused_without_asking_the_user() -> None:
    """Section 6.6 step 1: "If this command is received more than 10 seconds after power-up,
    return CTAP2_ERR_NOT_ALLOWED"."""
    presence = ScriptedPresence([True])
    ctx, clock = reset_context(presence)
    clock.advance(10.5)
    with pytest.raises(CtapError) as exc:
        run(reset.handle(ctx, {}))
    assert exc.value.status is CtapStatus.NOT_ALLOWED
    assert presence.requests == []


def test_reset_forgets_keys_pin_and_large_blobs() -> None:
    """Section 6.6: with user presence, every credential, the PIN and the large-blob array go;
    a sealed credential ID made before no longer opens."""
    ctx, _clock = reset_context(ScriptedPresence([True]))
    key = ScriptedKeySource().generate_key(Algorithm.ES256)
    sealed = run(ctx.secrets.wrapper()).wrap(RP_ID_HASH, key, 1, False, bytes(12))
    pin = run(ctx.pin_uv.pin_state())
    pin.set_pin(b"1234", bytes(16), bytes(32))
    run(ctx.pin_uv.save_pin_state())
    run(reset.handle(ctx, {}))
    assert run(ctx.secrets.wrapper()).unwrap(RP_ID_HASH, sealed) is None
    assert not run(PinState.load(ctx.store)).is_set
    assert ctx.large_blob_write.pending is None
    assert run(ctx.store.get_setting(Setting.LARGE_BLOB_ARRAY)) == EMPTY_ARRAY


# -- PinUvAuth on fakes (section 6.5.2.1, the pinUvAuthToken) -----------------------------------


def test_a_token_verifies_only_for_its_permissions_and_expires_unused() -> None:
    store, clock, keys = InMemoryStore(), FakeClock(), ScriptedKeySource()
    pin_uv = PinUvAuth(store, clock, keys, AuthenticatorConfig())
    protocol = pin_uv.protocols[2]
    pin_uv.token.begin(2, MC, "example.com", False, clock.monotonic())
    param = protocol.authenticate(protocol.token, b"message")
    pin_uv.verify_token(2, b"message", param, MC, "example.com")
    with pytest.raises(CtapError) as exc:
        pin_uv.verify_token(2, b"message", param, GA, "example.com")
    assert exc.value.status is CtapStatus.PIN_AUTH_INVALID
    pin_uv.token.begin(2, MC, None, False, clock.monotonic())
    clock.advance(31)  # "initial usage time limit": 30 s unused and the token is gone
    with pytest.raises(CtapError):
        pin_uv.verify_token(2, b"message", param, MC)


# -- the typed requests, parsed first --------------------------------------------------------------


def test_client_pin_refuses_a_member_of_the_wrong_type_before_acting() -> None:
    """CTAP 2.1 section 6 ("parse first"): a parameter of the wrong CBOR type is
    CTAP2_ERR_CBOR_UNEXPECTED_TYPE, even one the subcommand would not read. python-fido2 sends
    getPinRetries with keyAgreement as an integer."""
    ctap = Ctap2(VauthCtapDevice(VirtualAuthenticator()))
    with pytest.raises(Fido2CtapError) as exc:
        ctap.client_pin(2, Subcommand.GET_PIN_RETRIES, key_agreement=5)  # type: ignore[arg-type]
    assert exc.value.code is Fido2CtapError.ERR.CBOR_UNEXPECTED_TYPE
    assert ctap.client_pin(2, Subcommand.GET_PIN_RETRIES)[3] == 8  # pinRetries, untouched


def test_client_pin_request_names_a_missing_subcommand() -> None:
    with pytest.raises(CtapError) as exc:
        ClientPinRequest.from_cbor({0x01: 2})
    assert exc.value.status is CtapStatus.MISSING_PARAMETER and "subCommand" in exc.value.detail


def test_client_pin_messages_round_trip_in_canonical_order() -> None:
    request = ClientPinRequest(
        sub_command=9,
        pin_uv_auth_protocol=2,
        key_agreement={1: 2},
        pin_hash_enc=b"h",
        permissions=3,
        rp_id="example.com",
    )
    assert ClientPinRequest.from_cbor(cbor.decode(cbor.encode(request.to_cbor()))) == request
    response = ClientPinResponse({1: 2}, b"t", 8, False, 8).to_cbor()
    assert cbor.encode_ordered(response) == cbor.encode(response)


def test_config_parses_set_min_pin_length_strictly() -> None:
    """Section 6.11.4: minPinLengthRPIDs is an array of text strings."""
    assert ConfigRequest.from_cbor({0x01: 3, 0x02: {0x01: 6}}).sub_command_params == {1: 6}
    assert SetMinPinLengthParams.from_cbor({0x01: 6, 0x02: ["a.example"], 0x03: True}) == (
        SetMinPinLengthParams(6, ("a.example",), True)
    )
    with pytest.raises(CtapError) as exc:
        SetMinPinLengthParams.from_cbor({0x02: ["a.example", 7]})
    assert exc.value.status is CtapStatus.CBOR_UNEXPECTED_TYPE
    assert "minPinLengthRPIDs" in exc.value.detail


def test_setting_names_on_disk_never_change() -> None:
    """The registry's values are what existing vaults hold: renaming one would orphan data."""
    assert {s.name: s.value for s in Setting} == {
        "CLIENT_PIN": "client_pin",
        "CREDENTIAL_WRAP_KEY": "credential_wrap_key",
        "ATTESTATION_CA_KEY": "attestation_ca_key",
        "ATTESTATION_CA_CERTIFICATE": "attestation_ca_certificate",
        "ATTESTATION_KEY": "attestation_key",
        "ATTESTATION_CERTIFICATE": "attestation_certificate",
        "LARGE_BLOB_ARRAY": "large_blob_array",
    }


# -- the command state: one rule, "clear on anything else" ------------------------------------


def _fill(state: CommandState) -> None:
    state.assertions = PendingAssertions(b"", b"", [], 0, False, 0.0, AssertionExtensions())
    state.rps = [({"id": "a.example"}, bytes(32)), ({"id": "b.example"}, bytes(32))]
    state.credentials = []


def _held(state: CommandState) -> set[str]:
    return {n for n in ("assertions", "rps", "credentials") if getattr(state, n) is not None}


@pytest.mark.parametrize(
    ("command", "request_", "kept"),
    [
        (Command.GET_INFO, {}, set()),
        (Command.CLIENT_PIN, {0x02: Subcommand.GET_PIN_RETRIES}, set()),
        (Command.GET_NEXT_ASSERTION, {}, {"assertions"}),
        (Command.CREDENTIAL_MANAGEMENT, {0x01: CmSubcommand.ENUMERATE_RPS_GET_NEXT_RP}, {"rps"}),
        (
            Command.CREDENTIAL_MANAGEMENT,
            CredentialManagementRequest(CmSubcommand.ENUMERATE_RPS_GET_NEXT_RP),
            {"rps"},
        ),
        (
            Command.CREDENTIAL_MANAGEMENT,
            CredentialManagementRequest(CmSubcommand.GET_CREDS_METADATA),
            set(),
        ),
    ],
    ids=["getInfo", "clientPIN", "getNextAssertion", "getNextRP", "getNextRP-typed", "metadata"],
)
def test_any_command_but_a_continuation_clears_the_command_state(
    command: Command, request_: Any, kept: set[str]
) -> None:
    """CTAP 2.1 sections 6.3 and 6.8.3: getNextAssertion and the enumerations' GetNext only
    straight after what they continue; any other command ends them (held in one object). A
    typed request from a client in this process continues an enumeration like its map does."""
    authenticator = core()
    _fill(authenticator.state)
    with contextlib.suppress(CtapError):  # whether the command succeeds is not the point
        run(authenticator.handle(command, request_))
    assert _held(authenticator.state) == kept
