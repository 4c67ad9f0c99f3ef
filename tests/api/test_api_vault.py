"""The vault-backed authenticator (id "vault") behind the API."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
import webauthn
from api_support import ORIGIN, RP_ID, Api, serve
from webauthn.helpers.structs import AuthenticatorSelectionCriteria, ResidentKeyRequirement

from vauth import VirtualAuthenticator
from vauth.ctap.ports import Ceremony
from vauth.operations import VaultAdmin
from vauth.service import Prompts, Service
from vauth.vault import Vault
from vauth.vault.kdf import KdfParams

PASSPHRASE = "correct horse battery staple"
BASE = "/webauthn/authenticator/vault"


@pytest.fixture
def vault_service(tmp_path: Path) -> Iterator[Service]:
    path = tmp_path / "vault.db"
    kdf = KdfParams(os.urandom(16), opslimit=1, memlimit=8 << 20)
    Vault.open(path, PASSPHRASE, kdf=kdf).close()
    service = Service(VirtualAuthenticator(vault=path, passphrase=PASSPHRASE).device, Prompts())
    yield service
    service.close()


@pytest.fixture
async def vault_api(vault_service: Service) -> AsyncIterator[Api]:
    async with serve(vault_service) as url, aiohttp.ClientSession() as session:
        yield Api(session, url)


async def test_vault_credentials_keep_their_private_keys(vault_api: Api) -> None:
    options = webauthn.generate_registration_options(
        rp_id=RP_ID,
        rp_name="Example",
        user_name="alice",
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED
        ),
    )
    response = await vault_api.ok(
        "POST",
        f"{BASE}/create",
        json={"origin": ORIGIN, "options": json.loads(webauthn.options_to_json(options))},
    )
    (listed,) = await vault_api.ok("GET", f"{BASE}/credentials")
    assert listed["credentialId"] == response["rawId"]
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
    options = webauthn.generate_registration_options(
        rp_id=RP_ID,
        rp_name="Example",
        user_name="alice",
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED
        ),
    )
    response = await vault_api.ok(
        "POST",
        f"{BASE}/create",
        json={"origin": ORIGIN, "options": json.loads(webauthn.options_to_json(options))},
    )
    ((name, params),) = seen
    assert name == "credentialAdded" and params["authenticatorId"] == "vault"
    credential = params["credential"]
    assert isinstance(credential, dict) and "privateKey" not in credential
    one = await vault_api.ok("GET", f"{BASE}/credentials/{response['rawId']}")
    assert one["credentialId"] == response["rawId"] and "privateKey" not in one


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
    assert device.responses.bits.is_bogus_signature is False
    assert device.responses.failure(Ceremony.GET_ASSERTION) is None
