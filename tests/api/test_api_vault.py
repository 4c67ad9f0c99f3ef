"""The vault-backed authenticator (id "vault") behind the API."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import webauthn
from api_support import ORIGIN, RP_ID, Api, serve
from webauthn.helpers.structs import AuthenticatorSelectionCriteria, ResidentKeyRequirement

from vauth import base64url
from vauth.app.device import Device
from vauth.app.operations import VaultAdmin
from vauth.app.presence import AutoPresence
from vauth.app.service import Prompts, Service
from vauth.ctap.ports import Ceremony
from vauth.daemon.api.openapi import OPENAPI
from vauth.vault import Vault
from vauth.vault.kdf import KdfParams

PASSPHRASE = "correct horse battery staple"
BASE = "/webauthn/authenticator/vault"


@pytest.fixture
async def vault_service(tmp_path: Path) -> AsyncIterator[Service]:
    """The vault's device as `vauth serve --presence auto` makes it (issue 19 finding 6: a
    daemon whose ceremonies need no person, so only the refusals below protect the vault)."""
    path = tmp_path / "vault.db"
    kdf = KdfParams(os.urandom(16), opslimit=1, memlimit=8 << 20)
    Vault.open(path, PASSPHRASE, kdf=kdf).close()
    device = await Device.open_vault(path, PASSPHRASE, AutoPresence())
    service = Service(device, Prompts(), "auto")
    yield service
    service.close()


@pytest.fixture
async def vault_api(vault_service: Service) -> AsyncIterator[Api]:
    async with serve(vault_service) as url, aiohttp.ClientSession() as session:
        yield Api(session, url)


async def test_vault_credentials_keep_their_private_keys(vault_api: Api) -> None:
    credential_id = await _vault_passkey(vault_api)
    (listed,) = await vault_api.ok("GET", f"{BASE}/credentials")
    assert listed["credentialId"] == credential_id
    assert listed["rpId"] == RP_ID
    assert "privateKey" not in listed


async def test_vault_authenticator_cannot_be_removed(
    vault_api: Api, vault_service: Service
) -> None:
    status, body = await vault_api.call("DELETE", BASE)
    assert (status, body["error"]) == (400, "invalid argument")
    assert "vault" in vault_service.authenticators


async def test_locked_vault_is_423(vault_api: Api, vault_service: Service) -> None:
    await VaultAdmin(vault_service).lock()
    status, body = await vault_api.call("GET", f"{BASE}/credentials")
    assert (status, body["error"]) == (423, "vault_locked")
    await VaultAdmin(vault_service).unlock(PASSPHRASE)
    assert await vault_api.ok("GET", f"{BASE}/credentials") == []


async def test_a_vaults_events_and_credential_never_carry_its_private_keys(
    vault_api: Api, vault_service: Service
) -> None:
    """CDP's events carry privateKey; a vault's keys never leave it, not even in one."""
    seen: list[tuple[str, dict[str, object]]] = []
    vault_service.device("vault").events.subscribe(lambda name, p: seen.append((name, p)))
    credential_id = await _vault_passkey(vault_api)
    ((name, params),) = seen
    assert name == "credentialAdded" and params["authenticatorId"] == "vault"
    credential = params["credential"]
    assert isinstance(credential, dict) and "privateKey" not in credential
    one = await vault_api.ok("GET", f"{BASE}/credentials/{credential_id}")
    assert one["credentialId"] == credential_id and "privateKey" not in one


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("/response-override-bits", {"isBogusSignature": True}),
        ("/fail-next", {"status": "NO_CREDENTIALS"}),
        ("/presence-simulation", {"enabled": False}),
    ],
)
async def test_a_vault_refuses_a_testers_overrides(
    vault_api: Api, vault_service: Service, route: str, body: dict[str, object]
) -> None:
    status, answer = await vault_api.call("POST", BASE + route, json=body)
    assert (status, answer["error"]) == (400, "unsupported operation")
    assert "ephemeral" in answer["message"]
    device = vault_service.device("vault")
    assert not hasattr(device, "tester")  # rule 23: the vault's device has no tester controls
    assert device.responses.failure(Ceremony.GET_ASSERTION) is None
    assert device.responses.signature(b"signed") == b"signed"


async def _vault_passkey(vault_api: Api) -> str:
    options = webauthn.generate_registration_options(
        rp_id=RP_ID,
        rp_name="Example",
        user_name="alice",
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED
        ),
    )
    made = await vault_api.ok(
        "POST",
        f"{BASE}/create",
        json={"origin": ORIGIN, "options": json.loads(webauthn.options_to_json(options))},
    )
    return str(made["rawId"])


async def test_set_credential_properties_is_refused_on_the_vault(vault_api: Api) -> None:
    """Issue 19 finding 6: with only the HTTP token, a vault passkey's backup-eligible flag
    (WebAuthn L3 6.1.3: BE never changes over a credential's life) and its user's name were
    rewritten. Refused now, with a structured error; the passkey is as it was."""
    credential_id = await _vault_passkey(vault_api)
    status, answer = await vault_api.call(
        "POST",
        f"{BASE}/credentials/{credential_id}/props",
        json={"backupEligibility": True, "userName": "mallory"},
    )
    assert (status, answer["error"]) == (400, "unsupported operation")
    assert "vault" in answer["message"]
    kept = await vault_api.ok("GET", f"{BASE}/credentials/{credential_id}")
    assert (kept["backupEligibility"], kept["userName"]) == (False, "alice")


async def test_user_verified_is_refused_on_a_presence_auto_vault_daemon(
    vault_api: Api, vault_service: Service
) -> None:
    """Issue 19 finding 6: /uv was accepted on a `--presence auto` vault daemon."""
    status, answer = await vault_api.call("POST", f"{BASE}/uv", json={"isUserVerified": False})
    assert (status, answer["error"]) == (400, "unsupported operation")
    assert vault_service.presence_policy == "auto"


async def test_remove_all_credentials_on_the_vault_goes_to_the_trash_with_an_audit_record(
    vault_api: Api, vault_service: Service
) -> None:
    """Issue 19 finding 6: Remove All Credentials deleted every vault passkey and emptied the
    trash for good. Now each goes to the trash (restorable), with an audit record naming the
    HTTP API, and what the trash held stays there."""
    store = vault_service.vault.store
    first = await _vault_passkey(vault_api)
    assert await vault_api.ok("DELETE", f"{BASE}/credentials/{first}") is None
    second = await _vault_passkey(vault_api)
    assert await vault_api.ok("DELETE", f"{BASE}/credentials") is None
    assert await vault_api.ok("GET", f"{BASE}/credentials") == []
    trashed = {base64url.encode(t.credential.credential_id) for t in await store.trash()}
    assert trashed == {first, second}
    deletions = [e for e in await store.audit() if e.credential_id is not None and e.actor]
    assert {
        (base64url.encode(e.credential_id), e.actor)
        for e in deletions
        if e.ceremony == "delete" and e.credential_id is not None
    } >= {(first, "the HTTP API"), (second, "the HTTP API")}
    assert await store.restore(base64url.decode(second)) is not None


async def test_the_openapi_document_says_route_by_route_whether_it_applies_to_the_vault(
    vault_api: Api,
) -> None:
    """Issue 19 finding 6: every route that names an authenticator says whether it applies to
    the vault ("x-vauth-vault" and its description), and the vault does what it says: each
    route documented as refused is refused with a structured error."""
    credential_id = await _vault_passkey(vault_api)
    bodies = {
        "setCredentialProperties": {"backupState": True},
        "setResponseOverrideBits": {"isBogusSignature": True},
        "failNext": {"status": "NO_CREDENTIALS"},
        "setAutomaticPresenceSimulation": {"enabled": False},
        "setUserVerified": {"isUserVerified": False},
    }
    refused = set()
    for template, item in OPENAPI["paths"].items():
        for method, operation in item.items():
            if "{authenticatorId}" not in template:
                assert "x-vauth-vault" not in operation
                continue
            assert operation["x-vauth-vault"] in ("applies", "refused", "trash"), template
            assert operation["description"].startswith("On the vault:"), template
            if operation["x-vauth-vault"] != "refused":
                continue
            refused.add(operation["operationId"])
            path = template.replace("{authenticatorId}", "vault")
            path = path.replace("{credentialId}", credential_id)
            body = bodies.get(operation["operationId"])
            status, answer = await vault_api.call(method.upper(), path, json=body)
            assert status == 400, (template, answer)
            assert answer["error"] in ("unsupported operation", "invalid argument")
            assert answer["message"], template
    assert refused == {*bodies, "removeVirtualAuthenticator"}
    (kept,) = await vault_api.ok("GET", f"{BASE}/credentials")
    assert kept["backupState"] is False
