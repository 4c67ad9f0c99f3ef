"""Finding a credential by ID for one RP: stored, or sealed in the ID itself."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Protocol

from vauth.ctap.config import AuthenticatorConfig
from vauth.ctap.credential import Credential, SignCountPolicy
from vauth.ctap.credential_id import is_group_id
from vauth.ctap.extensions import cred_protect
from vauth.ctap.ports import Clock, CredentialStore
from vauth.ctap.secrets import Secrets

PUBLIC_KEY = "public-key"


class Lookup(Protocol):
    """What finding a credential needs: any handler context (or the U2F front) that has these."""

    @property
    def config(self) -> AuthenticatorConfig: ...
    @property
    def store(self) -> CredentialStore: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def secrets(self) -> Secrets: ...


async def find_credential(
    ctx: Lookup, rp_id: str, rp_id_hash: bytes, credential_id: bytes
) -> Credential | None:
    """The credential with ``credential_id`` bound to this RP on this authenticator, or None.

    A key sealed in the ID is used only if the store has its record, or has never heard of it
    (one made before records were kept, recorded now): a deleted one stays refused although
    its ID still opens. One sealed under the sync group's key needs its record (which sync
    brings, and reset or a deletion takes away)."""
    store = ctx.store
    stored = await store.get(credential_id)
    if stored is not None and not stored.sealed:
        return stored if stored.rp_id_hash == rp_id_hash else None
    if stored is not None and stored.rp_id_hash != rp_id_hash:
        return None
    wrapper = await ctx.secrets.wrapper()
    group = await ctx.secrets.group_keys() if is_group_id(credential_id) else None
    wrapped = wrapper.unwrap(rp_id_hash, credential_id, group)
    if wrapped is None:
        return None
    if stored is None and (wrapped.group or await store.revoked(credential_id)):
        return None
    credential = Credential(
        credential_id=credential_id,
        rp_id=rp_id,
        rp_id_hash=rp_id_hash,
        user_handle=None,
        private_key=b"",
        algorithm=int(wrapped.key.algorithm),
        discoverable=False,
        sign_count_policy=(
            ctx.config.backup_sign_count_policy
            if wrapped.backup_eligible
            else SignCountPolicy.COUNTER
        ),
        backup_eligible=wrapped.backup_eligible,
        backup_state=(
            stored.backup_state
            if stored is not None and stored.synced
            else wrapped.backup_eligible and ctx.config.default_backup_state
        ),
        cred_protect=wrapped.cred_protect,
        created=ctx.clock.now_ms() if stored is None else stored.created,
        last_used=None if stored is None else stored.last_used,
        sealed=True,
        synced=stored is not None and stored.synced,
        stored=False,
    )
    if stored is None:  # made before vauth kept records: from now on it is listed too
        await store.note_sealed(sealed_record(credential))
    if wrapped.hmac_secret:  # derived from the ID again, never kept
        credential.cred_random_with_uv, credential.cred_random_without_uv = wrapper.cred_randoms(
            credential_id, group
        )
    credential._key = wrapped.key
    return credential


def sealed_record(credential: Credential) -> Credential:
    """What a store keeps of a credential whose key is sealed in its ID: never the key, nor
    what is derived from the ID on each use (the hmac-secret CredRandom values)."""
    return Credential(
        credential_id=credential.credential_id,
        rp_id=credential.rp_id,
        rp_id_hash=credential.rp_id_hash,
        user_handle=credential.user_handle,
        private_key=b"",
        algorithm=credential.algorithm,
        discoverable=False,
        user_name=credential.user_name,
        user_display_name=credential.user_display_name,
        rp_name=credential.rp_name,
        sign_count_policy=credential.sign_count_policy,
        backup_eligible=credential.backup_eligible,
        backup_state=credential.backup_state,
        cred_protect=credential.cred_protect,
        created=credential.created,
        last_used=credential.last_used,
        sealed=True,
        synced=credential.synced,
        stored=False,
    )


async def unsealed(ctx: Lookup, record: Credential) -> Credential | None:
    """A sealed credential's record with its key opened from its ID and its counter at the
    authenticator-wide value, for an export to another vault, where it is stored whole (that
    vault cannot open this one's IDs). None if the ID does not open here."""
    wrapper = await ctx.secrets.wrapper()
    group = await ctx.secrets.group_keys() if is_group_id(record.credential_id) else None
    wrapped = wrapper.unwrap(record.rp_id_hash, record.credential_id, group)
    if wrapped is None:
        return None
    whole = dataclasses.replace(record, private_key=wrapped.key.to_pkcs8(), sealed=False)
    whole._key = wrapped.key
    whole.stored = True
    if wrapped.hmac_secret:
        whole.cred_random_with_uv, whole.cred_random_without_uv = wrapper.cred_randoms(
            record.credential_id, group
        )
    whole.sign_count = await ctx.store.next_sign_count(None)
    return whole


async def find_listed(
    ctx: Lookup,
    rp_id: str,
    rp_id_hash: bytes,
    descriptors: Iterable[tuple[str, bytes]],
    user_verified: bool,
) -> Credential | None:
    """The first credential of an allowList or excludeList that is ours for this RP and that
    its credProtect level lets this request see."""
    for kind, credential_id in descriptors:
        if kind != PUBLIC_KEY:
            continue
        found = await find_credential(ctx, rp_id, rp_id_hash, credential_id)
        if found is not None and cred_protect.usable(found.cred_protect, user_verified, True):
            return found
    return None


async def next_sign_count(store: CredentialStore, credential: Credential) -> int:
    """The signCount for this use: 0 under the zero policy, else a strictly larger value (the
    authenticator-wide counter for credentials that are stored nowhere)."""
    if credential.sign_count_policy is SignCountPolicy.ZERO:
        return 0
    return await store.next_sign_count(credential.credential_id if credential.stored else None)
