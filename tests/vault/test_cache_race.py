"""The vault store's credential cache: a read that was in flight when the credential was deleted,
or when the vault locked, does not put back what the delete or the lock dropped."""

from __future__ import annotations

import asyncio
import hashlib
import os

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from vauth.ctap.credential import Credential
from vauth.vault import Vault


def new_credential() -> Credential:
    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return Credential(
        credential_id=os.urandom(16),
        rp_id="example.com",
        rp_id_hash=hashlib.sha256(b"example.com").digest(),
        user_handle=b"user",
        private_key=key,
        algorithm=-7,
    )


async def test_a_get_racing_a_delete_does_not_bring_the_credential_back(vault: Vault) -> None:
    store, credential = vault.store, new_credential()
    await store.put(credential)
    found, deleted = await asyncio.gather(
        store.get(credential.credential_id), store.delete(credential.credential_id)
    )
    assert found is not None and deleted  # the read ran first, then the delete
    assert await store.get(credential.credential_id) is None
    assert await store.find(credential.rp_id_hash) == []


async def test_a_get_in_flight_across_a_lock_leaves_no_key_cached(vault: Vault) -> None:
    store, credential = vault.store, new_credential()
    await store.put(credential)
    reading = asyncio.create_task(store.get(credential.credential_id))
    await asyncio.sleep(0)  # the read is queued on the vault's thread
    vault.lock()  # runs after the read; the task resumes only once the vault is locked
    found = await reading
    assert found is not None and found.private_key == credential.private_key
    assert vault.locked
    assert credential.credential_id not in store._cache
