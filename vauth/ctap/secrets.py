"""The core's secrets component: the credential-wrapping key and the attestation identity."""

from __future__ import annotations

from dataclasses import dataclass

from vauth.ctap.attestation.certificates import (
    AttestationIdentity,
    certificate_aaguid,
    issue_attestation_certificate,
    make_ca,
)
from vauth.ctap.config import AuthenticatorConfig
from vauth.ctap.cose import Algorithm, CoseKey
from vauth.ctap.credential_id import CredentialIdWrapper
from vauth.ctap.ports import CredentialStore, GroupKeys, KeySource, SyncChoice
from vauth.ctap.settings import Setting

WRAP_KEY_LENGTH = 32


@dataclass(slots=True)
class Secrets:
    """Secrets made on first use and kept through the store; held in memory until
    :meth:`forget` (the store locked)."""

    store: CredentialStore
    keys: KeySource
    config: AuthenticatorConfig
    sync: SyncChoice | None = None  # the sync group's keys for synced non-discoverable IDs
    _wrapper: CredentialIdWrapper | None = None
    _attestation: AttestationIdentity | None = None

    def forget(self) -> None:
        """Drop what is held in memory: the wrapping key and the attestation key."""
        self._wrapper = None
        self._attestation = None

    async def wrapper(self) -> CredentialIdWrapper:
        if self._wrapper is None:
            wrap_key = await self.store.get_setting(Setting.CREDENTIAL_WRAP_KEY)
            if wrap_key is None:
                wrap_key = self.keys.random_bytes(WRAP_KEY_LENGTH)
                await self.store.set_setting(Setting.CREDENTIAL_WRAP_KEY, wrap_key)
            self._wrapper = CredentialIdWrapper(wrap_key)
        return self._wrapper

    async def group_keys(self) -> GroupKeys | None:
        """The sync group's keys for non-discoverable credential IDs (None: not synced). They
        are the group's, not this authenticator's: reset leaves them, and a synced ID opens
        only while the store holds its record (which reset deletes)."""
        return None if self.sync is None else await self.sync.group_keys()

    async def rotate_wrap_key(self) -> None:
        """authenticatorReset: every non-discoverable credential ID becomes unusable."""
        wrap_key = self.keys.random_bytes(WRAP_KEY_LENGTH)
        await self.store.set_setting(Setting.CREDENTIAL_WRAP_KEY, wrap_key)
        self.forget()

    async def attestation_identity(self) -> AttestationIdentity:
        await self.wrapper()  # made first, as ever: a seeded key source draws in this order
        if self._attestation is None or self._stale(self._attestation.chain[0]):
            self._attestation = await self._load_attestation_identity()
        return self._attestation

    async def set_attestation_identity(
        self, key: CoseKey, chain: tuple[bytes, ...], ca_certificate: bytes
    ) -> None:
        """Use an attestation key and chain from elsewhere (spec vectors, an enterprise CA)."""
        await self.wrapper()  # made first, as ever: a seeded key source draws in this order
        self._attestation = AttestationIdentity(key, chain, ca_certificate)
        await self.store.set_setting(Setting.ATTESTATION_KEY, key.to_pkcs8())
        await self.store.set_setting(Setting.ATTESTATION_CERTIFICATE, chain[0])
        await self.store.set_setting(Setting.ATTESTATION_CA_CERTIFICATE, ca_certificate)

    def _stale(self, certificate: bytes) -> bool:
        """An attestation certificate naming another AAGUID must be re-issued."""
        aaguid = certificate_aaguid(certificate)
        return aaguid is not None and aaguid != self.config.aaguid

    async def _load_attestation_identity(self) -> AttestationIdentity:
        store, keys = self.store, self.keys.attestation_source()
        ca_key_der = await store.get_setting(Setting.ATTESTATION_CA_KEY)
        ca_cert = await store.get_setting(Setting.ATTESTATION_CA_CERTIFICATE)
        if ca_key_der is None or ca_cert is None:
            ca_key = keys.generate_key(Algorithm.ES256)
            ca_cert = make_ca(ca_key, keys.random_bytes(16), keys.random_bytes(4).hex())
            await store.set_setting(Setting.ATTESTATION_CA_KEY, ca_key.to_pkcs8())
            await store.set_setting(Setting.ATTESTATION_CA_CERTIFICATE, ca_cert)
        else:
            ca_key = CoseKey.from_pkcs8(ca_key_der)
        att_key_der = await store.get_setting(Setting.ATTESTATION_KEY)
        att_cert = await store.get_setting(Setting.ATTESTATION_CERTIFICATE)
        if att_key_der is None:
            att_key = keys.generate_key(Algorithm.ES256)
            await store.set_setting(Setting.ATTESTATION_KEY, att_key.to_pkcs8())
        else:
            att_key = CoseKey.from_pkcs8(att_key_der)
        if att_cert is None or self._stale(att_cert):
            att_cert = issue_attestation_certificate(
                ca_key, ca_cert, att_key, self.config.aaguid, keys.random_bytes(16)
            )
            await store.set_setting(Setting.ATTESTATION_CERTIFICATE, att_cert)
        return AttestationIdentity(att_key, (att_cert,), ca_cert)
