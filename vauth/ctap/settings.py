"""The one registry of the settings the core keeps through ``CredentialStore.get_setting``."""

from __future__ import annotations

from enum import StrEnum


class Setting(StrEnum):
    """A setting the core keeps in its store; the value is the name on disk, never to change."""

    CLIENT_PIN = "client_pin"  # PinState, CBOR (pin_state.py)
    CREDENTIAL_WRAP_KEY = "credential_wrap_key"  # seals non-discoverable credential IDs
    ATTESTATION_CA_KEY = "attestation_ca_key"  # PKCS#8
    ATTESTATION_CA_CERTIFICATE = "attestation_ca_certificate"  # DER
    ATTESTATION_KEY = "attestation_key"  # PKCS#8
    ATTESTATION_CERTIFICATE = "attestation_certificate"  # DER
    LARGE_BLOB_ARRAY = "large_blob_array"  # the serialized large-blob array (large_blob_array.py)
