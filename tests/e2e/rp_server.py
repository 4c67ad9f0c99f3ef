"""A relying party for the end-to-end tests: aiohttp on 127.0.0.1, rpId `localhost`, verifying
every ceremony with py_webauthn. Its page exposes `register(name)` and `login()`."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

import webauthn
from aiohttp import web
from webauthn.helpers import (
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

RP_ID = "localhost"

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Example RP</title></head>
<body>
<h1>Example relying party</h1>
<input id="username" autocomplete="username webauthn" placeholder="user name">
<pre id="log"></pre>
<script>
async function post(path, body) {
  const r = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"},
                               body: JSON.stringify(body)});
  return r.json();
}
function describe(e) { return {ok: false, name: e.name, message: e.message}; }
window.register = async (name, extra) => {
  try {
    const options = await post("/register/options", {name, ...(extra || {})});
    const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options);
    const credential = await navigator.credentials.create({publicKey});
    const json = credential.toJSON();
    const checks = {
      instance: credential instanceof PublicKeyCredential,
      response: credential.response instanceof AuthenticatorAttestationResponse,
      transports: credential.response.getTransports(),
      algorithm: credential.response.getPublicKeyAlgorithm(),
      publicKey: credential.response.getPublicKey() instanceof ArrayBuffer,
      extensions: credential.getClientExtensionResults(),
    };
    return {...(await post("/register/verify", json)), checks};
  } catch (e) { return describe(e); }
};
window.login = async (extra) => {
  try {
    const options = await post("/login/options", extra || {});
    const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(options);
    const credential = await navigator.credentials.get({publicKey});
    const checks = {
      instance: credential instanceof PublicKeyCredential,
      response: credential.response instanceof AuthenticatorAssertionResponse,
    };
    return {...(await post("/login/verify", credential.toJSON())), checks};
  } catch (e) { return describe(e); }
};
</script>
</body></html>
"""


@dataclass
class RelyingParty:
    origin: str = ""
    users: dict[bytes, str] = field(default_factory=dict)
    credentials: dict[bytes, Any] = field(default_factory=dict)  # id -> VerifiedRegistration
    challenge: bytes = b""
    rp_id: str = RP_ID

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self.page)
        app.router.add_post("/register/options", self.register_options)
        app.router.add_post("/register/verify", self.register_verify)
        app.router.add_post("/login/options", self.login_options)
        app.router.add_post("/login/verify", self.login_verify)
        return app

    async def page(self, request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    async def register_options(self, request: web.Request) -> web.Response:
        body = await request.json()
        user_id = secrets.token_bytes(16)
        self.users[user_id] = body["name"]
        self.challenge = secrets.token_bytes(32)
        options = webauthn.generate_registration_options(
            rp_id=body.get("rpId", self.rp_id),
            rp_name="Example RP",
            user_id=user_id,
            user_name=body["name"],
            challenge=self.challenge,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.PREFERRED,
            ),
        )
        return web.json_response(json.loads(webauthn.options_to_json(options)))

    async def register_verify(self, request: web.Request) -> web.Response:
        try:
            verified = webauthn.verify_registration_response(
                credential=parse_registration_credential_json(await request.text()),
                expected_challenge=self.challenge,
                expected_rp_id=self.rp_id,
                expected_origin=self.origin,
            )
        except Exception as exc:  # the test reads the reason
            return web.json_response({"ok": False, "name": "verification", "message": str(exc)})
        self.credentials[verified.credential_id] = verified
        return web.json_response({"ok": True, "credentialId": verified.credential_id.hex()})

    async def login_options(self, request: web.Request) -> web.Response:
        self.challenge = secrets.token_bytes(32)
        options = webauthn.generate_authentication_options(
            rp_id=self.rp_id,
            challenge=self.challenge,
            user_verification=UserVerificationRequirement.PREFERRED,
            allow_credentials=[],
        )
        return web.json_response(json.loads(webauthn.options_to_json(options)))

    async def login_verify(self, request: web.Request) -> web.Response:
        credential = parse_authentication_credential_json(await request.text())
        registered = self.credentials.get(credential.raw_id)
        if registered is None:
            return web.json_response(
                {"ok": False, "name": "verification", "message": "unknown credential"}
            )
        try:
            verified = webauthn.verify_authentication_response(
                credential=credential,
                expected_challenge=self.challenge,
                expected_rp_id=self.rp_id,
                expected_origin=self.origin,
                credential_public_key=registered.credential_public_key,
                credential_current_sign_count=0,
            )
        except Exception as exc:
            return web.json_response({"ok": False, "name": "verification", "message": str(exc)})
        user = credential.response.user_handle
        return web.json_response(
            {
                "ok": True,
                "credentialId": verified.credential_id.hex(),
                "user": self.users.get(user or b"", ""),
                "signCount": verified.new_sign_count,
            }
        )
