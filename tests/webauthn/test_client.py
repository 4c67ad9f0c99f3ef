"""WebAuthnClient behaviour: the CTAP requests it builds and the errors a page would see."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from webauthn_support import AuthenticatorFactory, Recorder

from vauth import base64url
from vauth.app.keys import RandomKeySource
from vauth.app.presence import AutoPresence
from vauth.app.store import InMemoryStore
from vauth.ctap import cbor
from vauth.ctap.authenticator import Authenticator
from vauth.ctap.config import AuthenticatorConfig
from vauth.ctap.ports import Environment
from vauth.ctap.status import CtapStatus
from vauth.webauthn.client import WebAuthnClient
from vauth.webauthn.errors import WebAuthnError

ORIGIN = "https://login.example.com"
CREATION: dict[str, Any] = {
    "rp": {"id": "example.com", "name": "Example"},
    "user": {"id": base64url.encode(b"user-1"), "name": "alice", "displayName": "Alice"},
    "challenge": base64url.encode(b"c" * 32),
    "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
}


def creation(**changes: Any) -> dict[str, Any]:
    options = copy.deepcopy(CREATION)
    options.update(changes)
    return options


def request(**changes: Any) -> dict[str, Any]:
    return {"challenge": base64url.encode(b"g" * 32), "rpId": "example.com", **changes}


def sent(recorder: Recorder, command: int) -> list[dict[Any, Any]]:
    return [cbor.decode(m[1:]) for m in recorder.requests if m[0] == command]


async def raises(name: str, call: Any) -> WebAuthnError:
    with pytest.raises(WebAuthnError) as info:
        await call
    assert info.value.name == name, info.value.message
    return info.value


async def test_make_credential_request_is_built_from_the_options(
    authenticator: Authenticator,
) -> None:
    recorder = Recorder(authenticator.process)
    client = WebAuthnClient(recorder)
    await client.create(
        creation(
            authenticatorSelection={"residentKey": "required", "userVerification": "required"},
            extensions={"credentialProtectionPolicy": "userVerificationRequired"},
        ),
        ORIGIN,
    )
    (params,) = sent(recorder, 0x01)
    assert params[0x02] == {"id": "example.com", "name": "Example"}
    assert params[0x03] == {"id": b"user-1", "name": "alice", "displayName": "Alice"}
    assert params[0x04] == [{"alg": -7, "type": "public-key"}]
    assert params[0x06] == {"credProtect": 3}
    assert params[0x07] == {"rk": True, "uv": True}
    assert 0x05 not in params


@pytest.mark.parametrize(
    ("selection", "has_rk", "has_uv", "expected"),
    [
        ({}, True, True, {"uv": True}),
        ({"residentKey": "preferred"}, True, True, {"rk": True, "uv": True}),
        ({"residentKey": "preferred"}, False, True, {"uv": True}),
        ({"requireResidentKey": True}, True, False, {"rk": True}),
        ({"userVerification": "discouraged"}, True, True, None),
        ({"userVerification": "preferred"}, True, False, None),
    ],
)
async def test_rk_and_uv_options(
    new_authenticator: AuthenticatorFactory,
    selection: dict[str, Any],
    has_rk: bool,
    has_uv: bool,
    expected: dict[str, bool] | None,
) -> None:
    authenticator = new_authenticator(has_user_verification=has_uv)
    recorder = Recorder(authenticator.process)
    client = WebAuthnClient(recorder, has_resident_key=has_rk)
    response = await client.create(
        creation(authenticatorSelection=selection, extensions={"credProps": True}), ORIGIN
    )
    (params,) = sent(recorder, 0x01)
    assert params.get(0x07) == expected
    rk = bool(expected and expected.get("rk"))
    assert response["clientExtensionResults"] == {"credProps": {"rk": rk}}


async def test_cred_props_is_reported_only_when_asked(client: WebAuthnClient) -> None:
    response = await client.create(creation(), ORIGIN)
    assert response["clientExtensionResults"] == {}


async def test_exclude_credentials_is_invalid_state_error(client: WebAuthnClient) -> None:
    first = await client.create(creation(), ORIGIN)
    excluded = creation(excludeCredentials=[{"type": "public-key", "id": first["id"]}])
    error = await raises("InvalidStateError", client.create(excluded, ORIGIN))
    assert "CREDENTIAL_EXCLUDED" in error.message


async def test_exclude_credentials_of_another_rp_do_not_matter(client: WebAuthnClient) -> None:
    first = await client.create(creation(), ORIGIN)
    other = creation(
        rp={"id": "other.example", "name": "Other"},
        excludeCredentials=[{"type": "public-key", "id": first["id"]}],
    )
    response = await client.create(other, "https://other.example")
    assert response["id"] != first["id"]


async def test_unsupported_algorithm_is_not_allowed_error(client: WebAuthnClient) -> None:
    """Chromium: no common algorithm is shown to the person; the page gets NotAllowedError
    (vauth.webauthn.errors, the table)."""
    options = creation(pubKeyCredParams=[{"type": "public-key", "alg": -36}])
    error = await raises("NotAllowedError", client.create(options, ORIGIN))
    assert "UNSUPPORTED_ALGORITHM" in error.message


async def test_only_unknown_credential_types_is_not_supported_error(
    client: WebAuthnClient,
) -> None:
    options = creation(pubKeyCredParams=[{"type": "password", "alg": -7}])
    await raises("NotSupportedError", client.create(options, ORIGIN))


async def test_empty_pub_key_cred_params_means_es256_and_rs256(
    authenticator: Authenticator,
) -> None:
    recorder = Recorder(authenticator.process)
    response = await WebAuthnClient(recorder).create(creation(pubKeyCredParams=[]), ORIGIN)
    (params,) = sent(recorder, 0x01)
    assert params[0x04] == [{"alg": -7, "type": "public-key"}, {"alg": -257, "type": "public-key"}]
    assert response["response"]["publicKeyAlgorithm"] == -7


async def test_required_resident_key_without_support_is_not_allowed_error(
    new_authenticator: AuthenticatorFactory,
) -> None:
    """No authenticator can satisfy the request: Chromium's NotAllowedError (issue 21)."""
    client = WebAuthnClient(new_authenticator(has_resident_key=False).process)
    options = creation(authenticatorSelection={"residentKey": "required"})
    await raises("NotAllowedError", client.create(options, ORIGIN))


async def test_required_user_verification_without_uv_is_not_allowed_error(
    new_authenticator: AuthenticatorFactory,
) -> None:
    client = WebAuthnClient(new_authenticator(has_user_verification=False).process)
    options = creation(authenticatorSelection={"userVerification": "required"})
    await raises("NotAllowedError", client.create(options, ORIGIN))
    await raises("NotAllowedError", client.get(request(userVerification="required"), ORIGIN))


async def test_user_declining_is_not_allowed_error(authenticator: Authenticator) -> None:
    presence = authenticator.env.presence
    assert isinstance(presence, AutoPresence)
    presence.consenting = False
    error = await raises(
        "NotAllowedError", WebAuthnClient(authenticator.process).create(creation(), ORIGIN)
    )
    assert CtapStatus.OPERATION_DENIED.name in error.message


async def test_foreign_rp_id_is_security_error_before_the_authenticator(
    authenticator: Authenticator,
) -> None:
    recorder = Recorder(authenticator.process)
    client = WebAuthnClient(recorder)
    options = creation(rp={"id": "evil.example", "name": "Evil"})
    error = await raises("SecurityError", client.create(options, ORIGIN))
    assert "'evil.example'" in error.message
    assert "'https://login.example.com'" in error.message
    await raises("SecurityError", client.get(request(rpId="evil.example"), ORIGIN))
    await raises("SecurityError", client.create(creation(), "http://login.example.com"))
    assert recorder.requests == []


async def test_default_rp_id_is_the_origin_host(authenticator: Authenticator) -> None:
    recorder = Recorder(authenticator.process)
    client = WebAuthnClient(recorder)
    await client.create(creation(rp={"name": "Example"}), ORIGIN)
    (params,) = sent(recorder, 0x01)
    assert params[0x02]["id"] == "login.example.com"


async def test_get_info_is_asked_once(authenticator: Authenticator) -> None:
    recorder = Recorder(authenticator.process)
    client = WebAuthnClient(recorder)
    created = await client.create(creation(), ORIGIN)
    allow = [{"type": "public-key", "id": created["id"]}]
    await client.get(request(allowCredentials=allow), ORIGIN)
    await client.get(request(allowCredentials=allow), ORIGIN)
    assert [m for m in recorder.requests if m[0] == 0x04] == [b"\x04"]
    assert (await client.info()).max_credential_count_in_list == 64


async def test_get_request_and_uv_option(authenticator: Authenticator) -> None:
    recorder = Recorder(authenticator.process)
    client = WebAuthnClient(recorder)
    created = await client.create(creation(), ORIGIN)
    allow = [{"type": "public-key", "id": created["id"]}]
    await client.get(request(allowCredentials=allow, userVerification="discouraged"), ORIGIN)
    await client.get(request(allowCredentials=allow), ORIGIN)
    first, second = sent(recorder, 0x02)
    assert first[0x01] == "example.com"
    assert first[0x03] == [{"id": base64url.decode(created["id"]), "type": "public-key"}]
    assert 0x05 not in first
    assert second[0x05] == {"uv": True}


async def test_get_with_unknown_credential_is_not_allowed_error(client: WebAuthnClient) -> None:
    allow = [{"type": "public-key", "id": base64url.encode(b"\x00" * 32)}]
    error = await raises("NotAllowedError", client.get(request(allowCredentials=allow), ORIGIN))
    assert "NO_CREDENTIALS" in error.message


async def test_get_with_only_unusable_allow_credentials_does_not_become_discovery(
    client: WebAuthnClient,
) -> None:
    await client.create(creation(authenticatorSelection={"residentKey": "required"}), ORIGIN)
    allow = [{"type": "password", "id": "AAAA"}]
    await raises("NotAllowedError", client.get(request(allowCredentials=allow), ORIGIN))


class SteppingClock:
    """Each reading is a millisecond later, so creation times never tie."""

    def __init__(self) -> None:
        self.now = 1_700_000_000_000

    def now_ms(self) -> int:
        self.now += 1
        return self.now

    def monotonic(self) -> float:
        return self.now / 1000


async def test_discoverable_get_picks_the_most_recent_credential() -> None:
    env = Environment(InMemoryStore(), AutoPresence(), SteppingClock(), RandomKeySource())
    authenticator = Authenticator(env, AuthenticatorConfig())
    recorder = Recorder(authenticator.process)
    client = WebAuthnClient(recorder)
    rk = {"residentKey": "required"}
    await client.create(creation(authenticatorSelection=rk), ORIGIN)
    user2 = {"id": base64url.encode(b"user-2"), "name": "bob", "displayName": "Bob"}
    second = await client.create(creation(user=user2, authenticatorSelection=rk), ORIGIN)
    response = await client.get(request(), ORIGIN)
    assert response["id"] == second["id"]
    assert base64url.decode(response["response"]["userHandle"]) == b"user-2"
    assert [m[0] for m in recorder.requests].count(0x08) == 0  # no getNextAssertion


async def test_cred_protect_required_hides_the_credential_without_uv(
    client: WebAuthnClient,
) -> None:
    created = await client.create(
        creation(extensions={"credentialProtectionPolicy": "userVerificationRequired"}), ORIGIN
    )
    allow = [{"type": "public-key", "id": created["id"]}]
    await raises(
        "NotAllowedError",
        client.get(request(allowCredentials=allow, userVerification="discouraged"), ORIGIN),
    )
    response = await client.get(request(allowCredentials=allow), ORIGIN)  # preferred: with UV
    assert response["id"] == created["id"]


async def test_enforced_cred_protect_without_authenticator_support_is_not_allowed(
    new_authenticator: AuthenticatorFactory,
) -> None:
    authenticator = new_authenticator(extensions=frozenset())
    recorder = Recorder(authenticator.process)
    client = WebAuthnClient(recorder)
    policy = "userVerificationOptionalWithCredentialIDList"
    enforced = {"credentialProtectionPolicy": policy, "enforceCredentialProtectionPolicy": True}
    await raises("NotAllowedError", client.create(creation(extensions=enforced), ORIGIN))
    await client.create(creation(extensions={"credentialProtectionPolicy": policy}), ORIGIN)
    (params,) = sent(recorder, 0x01)
    assert 0x06 not in params  # not enforced: dropped for an authenticator without credProtect


async def test_authenticator_attachment_mismatch_is_not_allowed(client: WebAuthnClient) -> None:
    options = creation(authenticatorSelection={"authenticatorAttachment": "platform"})
    await raises("NotAllowedError", client.create(options, ORIGIN))


async def test_malformed_authenticator_answers_are_not_allowed_error() -> None:
    """Chromium drops an authenticator whose answer it cannot read: NotAllowedError."""

    async def garbage(message: bytes) -> bytes:
        return (
            b"\x00" + cbor.encode({0x07: 64, 0x04: {"rk": True, "up": True}})
            if (message == b"\x04")
            else b"\x00\xff"
        )

    await raises("NotAllowedError", WebAuthnClient(garbage).create(creation(), ORIGIN))
