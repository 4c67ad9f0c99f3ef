"""The tester's format: a JSON list of W3C WebDriver Credential Parameters, exactly what
``VirtualAuthenticator.get_credentials()`` gives (a test checks the two agree).

It holds what WebDriver's "Add Credential" takes and nothing more: no hmac-secret CredRandom,
credBlob or large-blob-array blob. Non-discoverable credentials a tester added travel too. On
import, a backup-eligible credential counts with policy ``zero`` (vauth's default), any other
with a counter, from the signCount given.
"""

from __future__ import annotations

from typing import Any

from vauth import base64url
from vauth.ctap.credential import Credential, SignCountPolicy
from vauth.vault import portable
from vauth.vault.portable import EntryError, Portable

MAX_SIGN_COUNT = 0xFFFFFFFF


def parameters(credential: Credential) -> dict[str, Any]:
    """A credential as Credential Parameters (privateKey: base64url PKCS#8)."""
    params: dict[str, Any] = {
        "credentialId": base64url.encode(credential.credential_id),
        "isResidentCredential": credential.discoverable,
        "rpId": credential.rp_id,
        "privateKey": base64url.encode(credential.private_key_der()),
        "userHandle": (
            None if credential.user_handle is None else base64url.encode(credential.user_handle)
        ),
        "signCount": credential.sign_count,
        "backupEligibility": credential.backup_eligible,
        "backupState": credential.backup_state,
        "userName": credential.user_name or "",
        "userDisplayName": credential.user_display_name or "",
    }
    if credential.large_blob is not None:
        params["largeBlob"] = base64url.encode(credential.large_blob)
    return params


def parse(
    params: Any,
    now_ms: int,
    *,
    backup_policy: SignCountPolicy = SignCountPolicy.ZERO,
    default_backup_eligibility: bool = False,
    default_backup_state: bool = False,
) -> Portable:
    """One Credential Parameters object, or EntryError saying why it cannot be used: the one
    parser of W3C WebDriver 11.3 Credential Parameters, for an import and for "Add Credential"
    alike. ``backup_policy``: how a backup-eligible credential counts; the defaults are those
    of the authenticator the credential goes to (WebDriver 11.1)."""
    if not isinstance(params, dict):
        raise EntryError("not a Credential Parameters object")
    for name in ("credentialId", "isResidentCredential", "rpId", "privateKey", "signCount"):
        if name not in params:
            raise EntryError(f"{name} is missing")
    raw_id = portable.credential_id(params["credentialId"])
    resident = params["isResidentCredential"]
    if not isinstance(resident, bool):
        raise EntryError("isResidentCredential is not a boolean")
    domain = portable.rp_id(params["rpId"])
    key = portable.private_key(params["privateKey"], "privateKey")
    handle = None
    if params.get("userHandle") is not None:
        handle = portable.user_handle(params["userHandle"])
    elif resident:
        raise EntryError("userHandle is required for a resident credential")
    sign_count = params["signCount"]
    if not isinstance(sign_count, int) or isinstance(sign_count, bool) or sign_count < 0:
        raise EntryError("signCount is not a non-negative integer")
    if sign_count > MAX_SIGN_COUNT:
        raise EntryError("signCount does not fit the 32 bits of authenticator data")
    eligible = _flag(params, "backupEligibility", default_backup_eligibility)
    credential = portable.new_credential(
        raw_id,
        domain,
        handle,
        key,
        discoverable=resident,
        user_name=portable.text_field(params.get("userName"), "userName"),
        user_display_name=portable.text_field(params.get("userDisplayName"), "userDisplayName"),
        sign_count=sign_count,
        sign_count_policy=backup_policy if eligible else SignCountPolicy.COUNTER,
        backup_eligible=eligible,
        backup_state=_flag(params, "backupState", default_backup_state),
        created=now_ms,
        large_blob=portable.optional_b64url(params, "largeBlob"),
    )
    return Portable(credential)


def _flag(params: dict[str, Any], name: str, default: bool = False) -> bool:
    value = params.get(name, default)
    if not isinstance(value, bool):
        raise EntryError(f"{name} is not a boolean")
    return value
