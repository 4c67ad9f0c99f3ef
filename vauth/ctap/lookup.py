"""Finding a credential by ID for one RP: stored, or sealed in the ID itself."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from vauth.ctap.credential import Credential, SignCountPolicy
from vauth.ctap.extensions import cred_protect

if TYPE_CHECKING:
    from vauth.ctap.authenticator import Authenticator

PUBLIC_KEY = "public-key"


async def find_credential(
    authenticator: Authenticator, rp_id: str, rp_id_hash: bytes, credential_id: bytes
) -> Credential | None:
    """The credential with ``credential_id`` bound to this RP on this authenticator, or None."""
    stored = await authenticator.env.store.get(credential_id)
    if stored is not None:
        return stored if stored.rp_id_hash == rp_id_hash else None
    wrapper = await authenticator.wrapper()
    wrapped = wrapper.unwrap(rp_id_hash, credential_id)
    if wrapped is None:
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
            authenticator.config.backup_sign_count_policy
            if wrapped.backup_eligible
            else SignCountPolicy.COUNTER
        ),
        backup_eligible=wrapped.backup_eligible,
        backup_state=wrapped.backup_eligible and authenticator.config.default_backup_state,
        cred_protect=wrapped.cred_protect,
        stored=False,
    )
    if wrapped.hmac_secret:  # derived from the ID again, never kept
        credential.cred_random_with_uv, credential.cred_random_without_uv = wrapper.cred_randoms(
            credential_id
        )
    credential._key = wrapped.key
    return credential


async def find_listed(
    authenticator: Authenticator,
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
        found = await find_credential(authenticator, rp_id, rp_id_hash, credential_id)
        if found is not None and cred_protect.usable(found.cred_protect, user_verified, True):
            return found
    return None


async def next_sign_count(authenticator: Authenticator, credential: Credential) -> int:
    """The signCount for this use: 0 under the zero policy, else a strictly larger value (the
    authenticator-wide counter for credentials that are stored nowhere)."""
    if credential.sign_count_policy is SignCountPolicy.ZERO:
        return 0
    store = authenticator.env.store
    return await store.next_sign_count(credential.credential_id if credential.stored else None)
