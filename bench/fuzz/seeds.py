"""(Re)write the seed corpora under bench/fuzz/corpus/<target>/seed-*: real messages, recorded.

    python bench/fuzz/seeds.py

CTAP sessions are recorded from python-fido2 (Ctap2, ClientPin, CredentialManagement, LargeBlobs,
Config) talking to the harness's own ``VirtualAuthenticator(seed=1)``, so that replaying one on a
fresh authenticator gives the same answers: the session's PIN token and pinUvAuthParams stay
valid, and the fuzzer mutates messages deep inside PIN-protected commands. The CTAPHID seeds
frame such sessions as 64-byte reports; the CXF seeds are real exports.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common

RP = {"id": "example.com", "name": "Example"}
PIN = "12345678"


def cdh(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


def user(name: str) -> dict[str, Any]:
    return {"id": hashlib.sha256(name.encode()).digest()[:16], "name": name, "displayName": name}


# -- CTAP sessions --------------------------------------------------------------------------------


def record(session: Callable[[Any], None]) -> list[bytes]:
    """The CTAP2 messages python-fido2 sends while ``session(ctap2)`` runs against the
    harness's authenticator."""
    import ctap
    from fido2.ctap2 import Ctap2

    from vauth.testing.doubles import VauthCtapDevice

    sent: list[bytes] = []

    class Recorder(VauthCtapDevice):
        def call(self, cmd: int, data: bytes = b"", event: Any = None, on_keepalive: Any = None):
            if cmd == 0x10:
                sent.append(bytes(data))
            return super().call(cmd, data, event, on_keepalive)

    device = Recorder(ctap.authenticator())
    try:
        session(Ctap2(device))
    finally:
        device.close()
    return sent


def _params() -> list[dict[str, Any]]:
    return [{"type": "public-key", "alg": alg} for alg in (-7, -8, -257)]


def s_get_info(c: Any) -> None:
    c.get_info()
    c.selection()


def s_register_and_sign(c: Any) -> None:
    c.get_info()
    extensions = {"credProtect": 2, "hmac-secret": True, "credBlob": b"blob!", "largeBlobKey": True}
    for name in ("alice", "bob"):
        c.make_credential(
            cdh("mc" + name),
            RP,
            user(name),
            _params(),
            options={"rk": True, "uv": True},
            extensions=extensions,
        )
    c.make_credential(cdh("mc-nonrk"), RP, user("carol"), _params())
    c.get_assertion(
        "example.com",
        cdh("ga"),
        extensions={"credBlob": True, "largeBlobKey": True},
        options={"uv": True},
    )
    c.get_next_assertion()


def _pin_token(c: Any, permissions: int, rp_id: str | None = None) -> tuple[Any, bytes]:
    from fido2.ctap2 import ClientPin

    client_pin = ClientPin(c)
    return client_pin.protocol, client_pin.get_pin_token(PIN, permissions, rp_id)


def s_client_pin(c: Any) -> None:
    from fido2.ctap2 import ClientPin

    client_pin = ClientPin(c)
    client_pin.get_pin_retries()
    client_pin.set_pin(PIN)
    client_pin.change_pin(PIN, PIN + "9")
    client_pin.get_pin_token(PIN + "9", ClientPin.PERMISSION.GET_ASSERTION, "example.com")


def _with_pin(c: Any) -> None:
    from fido2.ctap2 import ClientPin

    ClientPin(c).set_pin(PIN)


def s_make_with_pin(c: Any) -> None:
    from fido2.ctap2 import ClientPin

    _with_pin(c)
    protocol, token = _pin_token(
        c, ClientPin.PERMISSION.MAKE_CREDENTIAL | ClientPin.PERMISSION.GET_ASSERTION, "example.com"
    )
    data = cdh("mc-pin")
    c.make_credential(
        data,
        RP,
        user("dave"),
        _params(),
        options={"rk": True, "uv": True},
        pin_uv_param=protocol.authenticate(token, data),
        pin_uv_protocol=protocol.VERSION,
        extensions={"minPinLength": True, "hmac-secret": True},
    )
    # makeCredential took every permission but lbw from the token (CTAP 2.1 section 6.1.2)
    protocol, token = _pin_token(c, ClientPin.PERMISSION.GET_ASSERTION, "example.com")
    data = cdh("ga-pin")
    c.get_assertion(
        "example.com",
        data,
        pin_uv_param=protocol.authenticate(token, data),
        pin_uv_protocol=protocol.VERSION,
    )


def s_credential_management(c: Any) -> None:
    from fido2.ctap2 import ClientPin, CredentialManagement

    _with_pin(c)
    for name in ("erin", "frank"):
        c.make_credential(cdh(name), RP, user(name), _params(), options={"rk": True, "uv": True})
    protocol, token = _pin_token(c, ClientPin.PERMISSION.CREDENTIAL_MGMT)
    manager = CredentialManagement(c, protocol, token)
    manager.get_metadata()
    manager.enumerate_rps()
    credentials = manager.enumerate_creds(hashlib.sha256(b"example.com").digest())
    first = credentials[0][CredentialManagement.RESULT.CREDENTIAL_ID]
    manager.update_user_info(first, {"id": user("erin")["id"], "name": "erin2", "displayName": "E"})
    manager.delete_cred(first)


def s_large_blobs(c: Any) -> None:
    from fido2.ctap2 import ClientPin, LargeBlobs

    _with_pin(c)
    made = c.make_credential(
        cdh("lb"),
        RP,
        user("gina"),
        _params(),
        options={"rk": True, "uv": True},
        extensions={"largeBlobKey": True},
    )
    key = made.large_blob_key
    protocol, token = _pin_token(c, ClientPin.PERMISSION.LARGE_BLOB_WRITE)
    blobs = LargeBlobs(c, protocol, token)
    blobs.put_blob(key, b"a large blob " * 20)
    blobs.get_blob(key)
    blobs.delete_blob(key)


def s_config(c: Any) -> None:
    from fido2.ctap2 import ClientPin, Config

    _with_pin(c)
    protocol, token = _pin_token(c, ClientPin.PERMISSION.AUTHENTICATOR_CFG)
    config = Config(c, protocol, token)
    config.toggle_always_uv()
    config.set_min_pin_length(min_pin_length=8, rp_ids=["example.com"])
    config.toggle_always_uv()


def s_reset(c: Any) -> None:
    c.make_credential(cdh("reset"), RP, user("hank"), _params(), options={"rk": True, "uv": True})
    c.reset()
    c.get_info()


SESSIONS: dict[str, Callable[[Any], None]] = {
    "get-info": s_get_info,
    "register-and-sign": s_register_and_sign,
    "client-pin": s_client_pin,
    "make-with-pin": s_make_with_pin,
    "credential-management": s_credential_management,
    "large-blobs": s_large_blobs,
    "config": s_config,
    "reset": s_reset,
}


def ctap_sessions() -> dict[str, list[bytes]]:
    return {name: record(session) for name, session in SESSIONS.items()}


# -- CTAPHID --------------------------------------------------------------------------------------


def hid_reports(messages: list[bytes], cid: int) -> bytes:
    """INIT on the broadcast channel, then each CTAP2 message as CTAPHID_CBOR on ``cid`` (the
    channel the harness's deterministic allocator hands out first), and a PING and a WINK."""
    from vauth.transport.ctaphid import BROADCAST_CID, Command, frame

    reports = frame(BROADCAST_CID, Command.INIT, b"\x01\x02\x03\x04\x05\x06\x07\x08")
    for message in messages:
        reports += frame(cid, Command.CBOR, message)
    reports += frame(cid, Command.PING, bytes(range(200)))
    reports += frame(cid, Command.WINK, b"")
    reports += frame(cid, Command.LOCK, b"\x02")
    reports += frame(cid, Command.MSG, bytes.fromhex("00030000"))  # U2F_VERSION
    return b"".join(reports)


# -- CXF and WebDriver exports --------------------------------------------------------------------


def exports() -> dict[str, bytes]:
    from vauth import VirtualAuthenticator

    va = VirtualAuthenticator(seed=1)
    try:
        extensions = {"credBlob": b"cred blob", "largeBlobKey": True, "hmac-secret": True}
        for name in ("alice", "bob"):
            va.process(
                b"\x01"
                + _encode(
                    {
                        1: cdh(name),
                        2: RP,
                        3: user(name),
                        4: _params()[:1],
                        6: extensions,
                        7: {"rk": True, "uv": True},
                    }
                )
            )
        va.add_credential(
            {
                "credentialId": "AAECAwQFBgcICQ",
                "isResidentCredential": False,
                "rpId": "other.example",
                "privateKey": _pkcs8(),
                "signCount": 7,
            }
        )
        _write_large_blob(va)
        cxf = va.export_credentials("cxf", plaintext=True)
        webdriver = va.export_credentials("webdriver", plaintext=True)
    finally:
        va.close()
    document = json.loads(cxf)
    document["timestamp"] = 1_700_000_000  # stable seeds
    document["accounts"][0]["id"] = "AAAAAAAAAAAAAAAAAAAAAA"
    small = json.loads(json.dumps(document))
    small["accounts"][0]["items"] = small["accounts"][0]["items"][:1]
    return {
        "cxf": json.dumps(document, indent=1).encode(),
        "cxf-one": json.dumps(small).encode(),
        "webdriver": json.dumps(json.loads(webdriver), indent=1).encode(),
        "cxf-empty": json.dumps({"version": {"major": 1, "minor": 0}, "accounts": []}).encode(),
    }


def _encode(value: Any) -> bytes:
    from vauth.ctap import cbor

    return cbor.encode(value)


def _pkcs8() -> str:
    from vauth import base64url
    from vauth.app.keys import SeededKeySource
    from vauth.ctap.cose import Algorithm

    return base64url.encode(SeededKeySource(2).generate_key(Algorithm.ES256).to_pkcs8())


def _write_large_blob(va: Any) -> None:
    """A large blob for alice, so that the export carries one (through the store, as a
    largeBlobs write would leave it)."""
    from vauth.ctap import large_blob_array

    credentials = [c for c in asyncio.run(va.device.store.all()) if c.large_blob_key]
    entries = [large_blob_array.seal(credentials[0].large_blob_key, b"hello large blob " * 8)]
    array = large_blob_array.serialize(entries)
    asyncio.run(va.device.store.set_setting(large_blob_array.SETTING, array))


# -- HTTP API -------------------------------------------------------------------------------------


def api_requests(sessions: dict[str, list[bytes]]) -> dict[str, bytes]:
    import api

    options = {
        "rp": RP,
        "user": {"id": "dXNlcg", "name": "u", "displayName": "U"},
        "challenge": "Y2hhbGxlbmdlY2hhbGxlbmdl",
        "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
        "authenticatorSelection": {"residentKey": "required"},
    }
    get = {"challenge": "Y2hhbGxlbmdlY2hhbGxlbmdl", "rpId": "example.com"}
    origin = "https://example.com"
    bodies: dict[str, tuple[str, bytes]] = {
        "add-authenticator": ("add_authenticator", json.dumps({"seed": 3}).encode()),
        "add-credential": (
            "add_credential",
            json.dumps(
                {
                    "credentialId": "AAECAwQFBgcICQ",
                    "isResidentCredential": True,
                    "rpId": "example.com",
                    "privateKey": _pkcs8(),
                    "userHandle": "dXNlcg",
                    "signCount": 0,
                }
            ).encode(),
        ),
        "uv": ("set_user_verified", b'{"isUserVerified": false}'),
        "ctap": ("ctap", sessions["register-and-sign"][2]),
        "create": ("create", json.dumps({"origin": origin, "options": options}).encode()),
        "get": ("get", json.dumps({"origin": origin, "options": get}).encode()),
        "credentials": ("get_credentials", b""),
        "remove-credential": ("remove_credential", b"AAECAwQFBgcICQ"),
        "openapi": ("openapi", b""),
    }
    return {name: api.request_input(handler, body) for name, (handler, body) in bodies.items()}


def main() -> None:
    import api
    import ctap
    import ctaphid
    import framing

    sessions = ctap_sessions()
    for name, messages in sessions.items():
        _common.write_seed(ctap.TARGET, name, ctap.join(messages))
        if name in ("get-info", "register-and-sign", "client-pin"):
            _common.write_seed(ctaphid.TARGET, name, hid_reports(messages, ctaphid.FIRST_CID))
    for name, data in exports().items():
        _common.write_seed("cxf", name, data)
    for name, data in api_requests(sessions).items():
        _common.write_seed(api.TARGET, name, data)
    for name, data in framing.seed_inputs().items():
        _common.write_seed(framing.TARGET, name, data)


if __name__ == "__main__":
    main()
