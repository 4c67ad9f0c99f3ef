"""RegistrationResponseJSON and AuthenticationResponseJSON exactly as PublicKeyCredential.toJSON()
gives them (WebAuthn L3 section 5.1.8).

WebIDL turns a dictionary into a JavaScript object with its members in lexicographic order, so
the dicts here are built in that order too: ``json.dumps`` of them matches ``JSON.stringify``.
Optional members that are null are left out (``userHandle`` of a non-discoverable credential,
``publicKey`` of an algorithm the client cannot express as SubjectPublicKeyInfo).
"""

from __future__ import annotations

from typing import Any

from vauth import base64url
from vauth.ctap.cose import Label
from vauth.webauthn.attestation import AttestationResult
from vauth.webauthn.options import PUBLIC_KEY
from vauth.webauthn.public_key import spki_der


def registration_response_json(
    credential_id: bytes,
    client_data_json: bytes,
    attestation: AttestationResult,
    credential_public_key: dict[int, Any],
    transports: list[str],
    authenticator_attachment: str,
    client_extension_results: dict[str, Any],
) -> dict[str, Any]:
    response: dict[str, Any] = {
        "attestationObject": base64url.encode(attestation.attestation_object()),
        "authenticatorData": base64url.encode(attestation.auth_data),
        "clientDataJSON": base64url.encode(client_data_json),
    }
    public_key = spki_der(credential_public_key)
    if public_key is not None:
        response["publicKey"] = base64url.encode(public_key)
    response["publicKeyAlgorithm"] = credential_public_key[Label.ALG]
    response["transports"] = sorted(transports)
    return _credential(credential_id, response, authenticator_attachment, client_extension_results)


def authentication_response_json(
    credential_id: bytes,
    client_data_json: bytes,
    authenticator_data: bytes,
    signature: bytes,
    user_handle: bytes | None,
    authenticator_attachment: str,
    client_extension_results: dict[str, Any],
) -> dict[str, Any]:
    response: dict[str, Any] = {
        "authenticatorData": base64url.encode(authenticator_data),
        "clientDataJSON": base64url.encode(client_data_json),
        "signature": base64url.encode(signature),
    }
    if user_handle is not None:
        response["userHandle"] = base64url.encode(user_handle)
    return _credential(credential_id, response, authenticator_attachment, client_extension_results)


def _credential(
    credential_id: bytes,
    response: dict[str, Any],
    authenticator_attachment: str,
    client_extension_results: dict[str, Any],
) -> dict[str, Any]:
    encoded_id = base64url.encode(credential_id)
    return {
        "authenticatorAttachment": authenticator_attachment,
        "clientExtensionResults": client_extension_results,
        "id": encoded_id,
        "rawId": encoded_id,
        "response": response,
        "type": PUBLIC_KEY,
    }
