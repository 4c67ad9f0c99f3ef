"""The in-memory CredentialStore: the default for tester authenticators."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence

from vauth.ctap.credential import Credential
from vauth.ctap.ports import AuditRecord

AUDIT_ENTRIES_KEPT = 10_000


class InMemoryStore:
    """Credentials in dictionaries, indexed by ID and by rpIdHash; nothing survives the process."""

    def __init__(self) -> None:
        self._by_id: dict[bytes, Credential] = {}
        self._by_rp: dict[bytes, dict[bytes, Credential]] = {}
        self._settings: dict[str, bytes] = {}
        self._global_counter = 0
        self.audit: deque[AuditRecord] = deque(maxlen=AUDIT_ENTRIES_KEPT)

    async def get(self, credential_id: bytes) -> Credential | None:
        return self._by_id.get(credential_id)

    async def find(self, rp_id_hash: bytes) -> Sequence[Credential]:
        return list(self._by_rp.get(rp_id_hash, {}).values())

    async def note_sealed(self, record: Credential) -> None:
        """Testers' authenticators keep nothing of a credential sealed in its ID (as before)."""

    async def revoked(self, credential_id: bytes) -> bool:
        return False  # nothing sealed is recorded here, so nothing sealed is ever deleted

    async def put(self, credential: Credential) -> None:
        await self.delete(credential.credential_id)
        self._by_id[credential.credential_id] = credential
        self._by_rp.setdefault(credential.rp_id_hash, {})[credential.credential_id] = credential

    async def put_many(
        self,
        credentials: Sequence[Credential],
        settings: Mapping[str, Callable[[bytes | None], bytes]] | None = None,
    ) -> list[bytes]:
        """Insert new credentials and rewrite settings, all or nothing (as the vault does): a
        credential ID already stored, or twice in the batch, fails it before any change.
        Nothing here syncs: no passkey is kept back from it."""
        ids = [credential.credential_id for credential in credentials]
        if len(set(ids)) != len(ids) or any(i in self._by_id for i in ids):
            raise ValueError("a credential of the batch is stored already (or given twice)")
        values = {
            name: update(self._settings.get(name)) for name, update in (settings or {}).items()
        }
        for credential in credentials:
            await self.put(credential)
        self._settings.update(values)
        return []

    async def update(self, credential: Credential) -> None:
        stored = self._by_id.get(credential.credential_id)
        if stored is not None and stored is not credential:
            await self.put(credential)

    async def touch(self, credential_id: bytes, at: int) -> None:
        credential = self._by_id.get(credential_id)
        if credential is not None:
            credential.last_used = at

    async def delete(self, credential_id: bytes) -> bool:
        credential = self._by_id.pop(credential_id, None)
        if credential is None:
            return False
        per_rp = self._by_rp[credential.rp_id_hash]
        del per_rp[credential_id]
        if not per_rp:
            del self._by_rp[credential.rp_id_hash]
        return True

    async def all(self) -> Sequence[Credential]:
        return list(self._by_id.values())

    async def count(self) -> int:
        return sum(1 for c in self._by_id.values() if c.discoverable)

    async def clear(self) -> None:
        self._by_id.clear()
        self._by_rp.clear()

    async def next_sign_count(self, credential_id: bytes | None) -> int:
        if credential_id is None:
            self._global_counter += 1
            return self._global_counter
        credential = self._by_id[credential_id]
        credential.sign_count += 1
        return credential.sign_count

    async def get_setting(self, name: str) -> bytes | None:
        return self._settings.get(name)

    async def set_setting(self, name: str, value: bytes) -> None:
        self._settings[name] = value

    async def record(self, entry: AuditRecord) -> None:
        self.audit.append(entry)
