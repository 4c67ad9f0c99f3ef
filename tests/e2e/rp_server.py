"""A relying party for the end-to-end tests: aiohttp on 127.0.0.1, rpId `localhost`, verifying
every ceremony with py_webauthn. Its page exposes `register(name)` and `login()`."""

from __future__ import annotations

import html
import json
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

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
      attachment: credential.authenticatorAttachment,
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

# vauth's page script reads as the browser's own (its functions' source says [native code]);
# what gives it away is an error's stack: it names the extension's script in Chromium, and in
# Firefox (which injects the script as "<anonymous code>" and shows no frame for a native
# function) it has a frame for vauth's toString. An expression: true where vauth is loaded.
VAUTH_LOADED = """(() => {
  try {
    Function.prototype.toString.call(null);
  } catch (e) {
    return /-extension:|^toString@/m.test(String(e.stack));
  }
  return false;
})()"""

# A page that calls WebAuthn with options of its own (a document with an opaque origin cannot
# fetch them from the RP): `probe(kind, extra)` -> {ok, name, message, origin, crossOrigin}.
PROBE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Probe</title></head><body><script>
window.probe = async (kind, extra) => {
  const random = (n) => crypto.getRandomValues(new Uint8Array(n));
  const publicKey = kind === "create"
    ? {rp: {name: "Example RP"}, user: {id: random(16), name: "probe", displayName: "Probe"},
       challenge: random(32), pubKeyCredParams: [{type: "public-key", alg: -7}],
       authenticatorSelection: {residentKey: "required"}, timeout: 20000, ...(extra || {})}
    : {challenge: random(32), timeout: 20000, ...(extra || {})};
  try {
    const credential = await navigator.credentials[kind]({publicKey});
    const data = JSON.parse(new TextDecoder().decode(credential.response.clientDataJSON));
    return {ok: true, origin: data.origin, crossOrigin: data.crossOrigin || false,
            ...(data.topOrigin ? {topOrigin: data.topOrigin} : {})};
  } catch (e) { return {ok: false, name: e.name, message: e.message}; }
};
window.vauthLoaded = () => VAUTH_LOADED;
</script></body></html>
""".replace("VAUTH_LOADED", VAUTH_LOADED)
# Frames: a same-origin page sandboxed without allow-same-origin (opaque), a data: document
# (opaque, and not a secure context: no WebAuthn at all) and a srcdoc document (it inherits
# this page's origin: not opaque).
FRAMED = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Framed</title></head><body>
<iframe name="sandboxed" sandbox="allow-scripts" src="/probe"
  allow="publickey-credentials-create *; publickey-credentials-get *"></iframe>
<iframe name="data" src="data:text/html,{quote(PROBE)}"
  allow="publickey-credentials-create *; publickey-credentials-get *"></iframe>
<iframe name="srcdoc" srcdoc="{html.escape(PROBE, quote=True)}"></iframe>
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
        app.router.add_get("/probe", self.probe)
        app.router.add_get("/sandboxed", self.sandboxed)
        app.router.add_get("/framed", self.framed)
        app.router.add_get("/cross", self.cross)
        app.router.add_post("/register/options", self.register_options)
        app.router.add_post("/register/verify", self.register_verify)
        app.router.add_post("/login/options", self.login_options)
        app.router.add_post("/login/verify", self.login_verify)
        return app

    async def page(self, request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    async def probe(self, request: web.Request) -> web.Response:
        return web.Response(text=PROBE, content_type="text/html")

    async def sandboxed(self, request: web.Request) -> web.Response:
        """The probe with an opaque origin: served with a CSP sandbox."""
        csp = {"Content-Security-Policy": "sandbox allow-scripts"}
        return web.Response(text=PROBE, content_type="text/html", headers=csp)

    async def framed(self, request: web.Request) -> web.Response:
        return web.Response(text=FRAMED, content_type="text/html")

    async def cross(self, request: web.Request) -> web.Response:
        """The probe in a cross-origin frame: http://frame.localhost:PORT in this origin's page."""
        port = request.url.port
        frame = f"http://frame.localhost:{port}/probe"
        allow = "publickey-credentials-create *; publickey-credentials-get *"
        text = f'<!doctype html><iframe name="cross" src="{frame}" allow="{allow}"></iframe>'
        return web.Response(text=text, content_type="text/html")

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
