"""Every credential vauth issues is listed and can be deleted, deleted ones wait in a trash for
30 days, and every change to the vault is in the audit log with who made it (issue 11, items 4
and 6); a vault made by the previous schema opens and migrates."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import webauthn
from fido2.ctap import CtapError
from fido2.ctap2 import Ctap2
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
)

from tests.vault.conftest import PASSPHRASE
from vauth import VirtualAuthenticator, base64url
from vauth.app.operations import Operations
from vauth.app.service import Prompts, Service
from vauth.testing.doubles import VauthCtapDevice
from vauth.vault.schema import LATEST
from vauth.vault.store import TRASH_MS, acting_as

RP_ID, ORIGIN = "example.com", "https://example.com"
FIXTURES = Path(__file__).parent / "fixtures"
DAY_MS = 24 * 3600 * 1000


@pytest.fixture
def va(vault_path: Path) -> Iterator[VirtualAuthenticator]:
    authenticator = VirtualAuthenticator(vault=vault_path, passphrase=PASSPHRASE)
    yield authenticator
    authenticator.close()


def operations(va: VirtualAuthenticator) -> Operations:
    service = Service(va.device, Prompts())
    return Operations.of(service)


def register(va: VirtualAuthenticator, resident_key: str = "discouraged") -> Any:
    options = webauthn.generate_registration_options(
        rp_id=RP_ID,
        rp_name="Example",
        user_name="bob",
        user_id=b"bob",
        challenge=os.urandom(32),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement(resident_key)
        ),
    )
    response = va.create(json.loads(webauthn.options_to_json(options)), ORIGIN)
    return webauthn.verify_registration_response(
        credential=response,
        expected_challenge=options.challenge,
        expected_rp_id=RP_ID,
        expected_origin=ORIGIN,
    )


def sign_in(va: VirtualAuthenticator, registered: Any) -> None:
    """A ceremony that py_webauthn verifies (raises if it does not)."""
    options = webauthn.generate_authentication_options(
        rp_id=RP_ID,
        challenge=os.urandom(32),
        allow_credentials=[PublicKeyCredentialDescriptor(id=registered.credential_id)],
    )
    response = va.get(json.loads(webauthn.options_to_json(options)), ORIGIN)
    webauthn.verify_authentication_response(
        credential=response,
        expected_challenge=options.challenge,
        expected_rp_id=RP_ID,
        expected_origin=ORIGIN,
        credential_public_key=registered.credential_public_key,
        credential_current_sign_count=0,
    )


def ctap_assertion(va: VirtualAuthenticator, credential_id: bytes) -> Any:
    """getAssertion by python-fido2, the credential in the allowList."""
    ctap = Ctap2(VauthCtapDevice(va))
    return ctap.get_assertion(
        RP_ID,
        hashlib.sha256(os.urandom(8)).digest(),
        allow_list=[{"type": "public-key", "id": credential_id}],
    )


# -- item 4: non-discoverable credentials ---------------------------------------------------------


def test_a_non_discoverable_credential_is_listed_shown_and_its_deletion_stops_it(
    va: VirtualAuthenticator,
) -> None:
    """Its key is sealed in its ID (nothing of the key is kept), yet vauth lists it, and once
    deleted the ID no longer signs: CTAP 2.1 section 6.2.2 step 7 finds no applicable
    credential, so getAssertion answers CTAP2_ERR_NO_CREDENTIALS."""
    registered = register(va)
    sign_in(va, registered)
    credential_id = base64url.encode(registered.credential_id)
    vault = operations(va)

    [listed] = asyncio.run(vault.passkeys.list_credentials())
    assert listed["credentialId"] == credential_id
    assert listed["kind"] == "non-discoverable" and listed["sealed"] is True
    assert listed["rpId"] == RP_ID and listed["userName"] == "bob"
    assert listed["created"] > 0 and listed["lastUsed"] is not None
    shown = asyncio.run(vault.passkeys.show(registered.credential_id))
    assert [u["ceremony"] for u in shown["uses"]] == ["getAssertion", "makeCredential"]
    stored = asyncio.run(va.device.store.get(registered.credential_id))
    assert stored.private_key == b""  # the key stays in the ID alone

    before = ctap_assertion(va, registered.credential_id)
    assert before.credential["id"] == registered.credential_id
    asyncio.run(vault.passkeys.delete(registered.credential_id, "cli"))
    with pytest.raises(CtapError) as refused:
        ctap_assertion(va, registered.credential_id)
    assert refused.value.code == CtapError.ERR.NO_CREDENTIALS
    assert asyncio.run(vault.passkeys.list_credentials()) == []

    asyncio.run(vault.passkeys.restore(registered.credential_id, "options"))
    sign_in(va, registered)  # restored: it works again

    asyncio.run(vault.passkeys.delete(registered.credential_id, "cli"))
    assert asyncio.run(vault.passkeys.empty_trash("cli")) == {"deleted": 1}
    with pytest.raises(CtapError) as gone:  # gone for good, its ID still holds the key
        ctap_assertion(va, registered.credential_id)
    assert gone.value.code == CtapError.ERR.NO_CREDENTIALS


def test_a_recorded_credential_changes_nothing_a_site_sees(
    va: VirtualAuthenticator,
) -> None:
    """The record changes nothing a relying party sees: no user in the response of a
    non-discoverable credential (CTAP 2.1 section 6.2.2, response member 0x04)."""
    registered = register(va)
    assertion = ctap_assertion(va, registered.credential_id)
    assert assertion.user is None and assertion.number_of_credentials is None


# -- item 6: the trash and the audit log --------------------------------------------------------


def test_trash_keeps_a_passkey_30_days_and_records_who_did_what(
    va: VirtualAuthenticator,
) -> None:
    registered = register(va, "required")
    credential_id = base64url.encode(registered.credential_id)
    vault, store = operations(va), va.vault.store  # type: ignore[union-attr]
    with acting_as("the site example.com, which said it no longer knows this passkey"):
        assert asyncio.run(store.delete(registered.credential_id))
    [trashed] = asyncio.run(vault.passkeys.trash())
    assert trashed["credentialId"] == credential_id
    assert trashed["purgeAt"] - trashed["deletedAt"] == 30 * DAY_MS
    assert trashed["deletedBy"].startswith("the site example.com")
    with pytest.raises(CtapError) as refused:
        ctap_assertion(va, registered.credential_id)
    assert refused.value.code == CtapError.ERR.NO_CREDENTIALS

    now = store.now_ms()
    store.now_ms = lambda: now + 29 * DAY_MS
    assert len(asyncio.run(vault.passkeys.trash())) == 1  # still there on day 29
    store.now_ms = lambda: now + TRASH_MS + 1
    va.vault.lock()  # type: ignore[union-attr]
    va.vault.unlock(PASSPHRASE)  # type: ignore[union-attr]  # purges what expired
    assert asyncio.run(vault.passkeys.trash()) == []
    audit = asyncio.run(vault.audit.audit())
    ceremonies = ("makeCredential", "getAssertion")  # these say who asked, too (issue 20)
    changes = [(e["ceremony"], e["actor"]) for e in audit if e["ceremony"] not in ceremonies]
    assert changes[:2] == [
        ("purge", "vauth, after 30 days in the trash"),
        ("delete", "the site example.com, which said it no longer knows this passkey"),
    ]


def test_renames_and_restores_are_audited_with_their_actor(va: VirtualAuthenticator) -> None:
    registered = register(va, "required")
    credential_id = registered.credential_id
    vault = operations(va)
    asyncio.run(vault.passkeys.rename(credential_id, "work", "options"))
    asyncio.run(vault.passkeys.delete(credential_id, "cli"))
    asyncio.run(vault.passkeys.restore(credential_id, "cli"))
    entries = asyncio.run(vault.audit.audit(credential_id))
    assert [(e["ceremony"], e["actor"]) for e in entries[:3]] == [
        ("restore", "the vauth command"),
        ("delete", "the vauth command"),
        ("rename", "the extension's options page"),
    ]
    assert entries[2]["detail"] == "Changed the nickname from nothing to \u201cwork\u201d."
    with pytest.raises(Exception, match="via must be one of"):
        asyncio.run(vault.passkeys.rename(credential_id, "x", "somebody"))


# -- a vault made by the previous schema -----------------------------------------------------------


def test_a_schema_2_vault_opens_migrates_and_lists_its_old_credentials(tmp_path: Path) -> None:
    """The fixture was made by vauth at schema 2 (tests/vault/fixtures/make_schema2.py)."""
    for name in ("schema2.vault.db", "schema2.vault.db.keys"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    alice = base64url.decode("uYgKaVPQ02ZfFqLCJ61I4nsmkyoittOXqVFCASLTRq8")
    bob = base64url.decode(
        "AUQfWUCYgvRJlMQ0pTJhAY5WbQE0OcWwSUFA67_qjjDH9yW_zRXv9JB92h0tJNSvwGnnE4hXps5R4HYc4nMSGcZ5czWa4yE"
    )
    va = VirtualAuthenticator(vault=tmp_path / "schema2.vault.db", passphrase="schema 2 fixture")
    try:
        assert va.vault is not None
        assert va.vault.with_database_sync(lambda db: db.user_version()) == LATEST
        vault = operations(va)
        [old] = asyncio.run(vault.passkeys.list_credentials())
        assert old["credentialId"] == base64url.encode(alice) and old["nickname"] == "work"
        assert len(asyncio.run(vault.audit.audit())) >= 4  # the old log reads, without actors
        # bob's key was sealed in its ID before vauth kept records: it still signs, and from
        # its first use on it is listed too, so it can be deleted.
        assert ctap_assertion(va, bob).credential["id"] == bob
        kinds = {
            c["credentialId"]: c["kind"] for c in asyncio.run(vault.passkeys.list_credentials())
        }
        assert kinds == {
            base64url.encode(alice): "discoverable",
            base64url.encode(bob): "non-discoverable",
        }
        asyncio.run(vault.passkeys.delete(bob))
        with pytest.raises(CtapError) as refused:
            ctap_assertion(va, bob)
        assert refused.value.code == CtapError.ERR.NO_CREDENTIALS
    finally:
        va.close()


def test_deleting_an_unknown_id_is_a_clear_error(va: VirtualAuthenticator) -> None:
    from vauth.app.service import ServiceError

    with pytest.raises(ServiceError) as error:
        asyncio.run(operations(va).passkeys.restore(b"nothing", "cli"))
    assert error.value.code == "no such credential" and "trash" in error.value.message
