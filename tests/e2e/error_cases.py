"""The cases of the error table and flags tests (test_error_table.py in Chromium,
firefox/test_firefox_errors.py): page code run before the browser's own virtual authenticator
and through vauth, with the authenticator options of its group, and what Chromium answers."""

from __future__ import annotations

from typing import Any

from tests.e2e.test_cdp_parity import BASE_OPTIONS
from vauth import VirtualAuthenticator
from vauth.base64url import decode, encode
from vauth.webauthn.errors import WebAuthnError

PRELUDE = r"""
(() => {
  const bytes = (n, fill = 1) => new Uint8Array(n).fill(fill);
  let user = 1;
  const C = (change) => {
    const publicKey = {rp: {name: "E"}, user: {id: bytes(8, user++), name: "e", displayName: "E"},
      challenge: bytes(16), pubKeyCredParams: [{type: "public-key", alg: -7}], timeout: 10000};
    change(publicKey);
    return {publicKey};
  };
  const G = (change) => {
    const publicKey = {challenge: bytes(16), timeout: 10000};
    change(publicKey);
    return {publicKey};
  };
  // create() with these authenticatorSelection, extensions and other members
  window.mc = (selection, extensions, more) => navigator.credentials.create(C((p) => {
    Object.assign(p, {authenticatorSelection: selection, extensions}, more);
  }));
  // get() with these members; `id: true`: allowCredentials is a credential made just before
  window.ga = async (more, {id} = {}) => {
    const allowed = id === true ? (await made()) : id;
    return navigator.credentials.get(G((p) => {
      Object.assign(p, more);
      if (allowed) p.allowCredentials = [{type: "public-key", id: allowed}];
    }));
  };
  // a non-discoverable credential made without user verification; its ID
  const plain = {residentKey: "discouraged", userVerification: "discouraged"};
  const made = async () => (await mc(plain)).rawId;
  window.excluded = async () =>
    mc({}, {}, {excludeCredentials: [{type: "public-key", id: await made()}]});
  window.outcome = async (source) => {
    try {
      const credential = await (0, eval)(source);
      const data = new Uint8Array(credential.response.getAuthenticatorData
        ? credential.response.getAuthenticatorData() : credential.response.authenticatorData);
      return {name: "resolved", flags: data[32]};
    } catch (e) {
      return {name: e.name, message: e.message};
    }
  };
})();
"""

BASE = {**BASE_OPTIONS, "hasLargeBlob": False}
GET_WITH_UV = "ga({userVerification: 'required'}, {id: true})"
LARGE_BLOB = "mc({residentKey: '%s'}, {largeBlob: {support: 'required'}})"
CREATE_UV = "mc({userVerification: '%s', residentKey: 'discouraged'})"

# (authenticator options, [(case, page code)]): cases of one group share an authenticator, in
# this order.
GROUPS: list[tuple[dict[str, Any], list[tuple[str, str]]]] = [
    (
        {"hasResidentKey": False},
        [("resident key required of one without", "mc({residentKey: 'required'})")],
    ),
    (
        {"hasUserVerification": False},
        [
            ("user verification required of one without (create)", CREATE_UV % "required"),
            ("user verification required of one without (get)", GET_WITH_UV),
            ("flags: no UV, userVerification discouraged", CREATE_UV % "discouraged"),
            ("flags: no UV, userVerification preferred", CREATE_UV % "preferred"),
        ],
    ),
    (
        {},
        [
            ("largeBlob support required where it is off", LARGE_BLOB % "required"),
            ("no discoverable credential", "ga({})"),
            ("no credential of allowCredentials", "ga({}, {id: new Uint8Array(32).fill(3)})"),
            (
                "no algorithm in common",
                "mc({}, {}, {pubKeyCredParams: [{type: 'public-key', alg: -65535}]})",
            ),
            ("a credential excluded", "excluded()"),
            ("flags: UV, userVerification discouraged", CREATE_UV % "discouraged"),
            ("flags: UV, userVerification preferred", CREATE_UV % "preferred"),
            ("flags: UV, userVerification required", CREATE_UV % "required"),
        ],
    ),
    (
        {"hasLargeBlob": True},
        [
            ("largeBlob required of a non-discoverable credential", LARGE_BLOB % "discouraged"),
            ("largeBlob required and there", LARGE_BLOB % "required"),
        ],
    ),
    (
        {"isUserVerified": False},
        [
            ("user verification fails (create)", CREATE_UV % "required"),
            ("user verification fails (get)", GET_WITH_UV),
        ],
    ),
    (
        {"transport": "internal"},
        [
            (
                "an authenticator of another attachment",
                "mc({authenticatorAttachment: 'cross-platform'})",
            ),
        ],
    ),
]
CASES = [case for _, cases in GROUPS for case, _ in cases]
FLAGS = [case for case in CASES if case.startswith("flags:")]

# What Chromium 156 answers each case before its CDP authenticator (test_error_table.py checks
# it, so a change in Chromium shows; "resolved": the ceremony succeeds).
NOT_ALLOWED, INVALID_STATE, RESOLVED = "NotAllowedError", "InvalidStateError", "resolved"
CHROMIUM_NAMES = {
    "resident key required of one without": NOT_ALLOWED,
    "user verification required of one without (create)": NOT_ALLOWED,
    "user verification required of one without (get)": NOT_ALLOWED,
    "largeBlob support required where it is off": NOT_ALLOWED,
    "no discoverable credential": NOT_ALLOWED,
    "no credential of allowCredentials": NOT_ALLOWED,
    "no algorithm in common": NOT_ALLOWED,
    "a credential excluded": INVALID_STATE,
    "largeBlob required of a non-discoverable credential": NOT_ALLOWED,
    "largeBlob required and there": RESOLVED,
    "user verification fails (create)": NOT_ALLOWED,
    "user verification fails (get)": NOT_ALLOWED,
    "an authenticator of another attachment": NOT_ALLOWED,
}


def in_process(options: dict[str, Any], source: str) -> dict[str, Any]:
    """A flags case, through vauth's VirtualAuthenticator in Python."""
    uv = source.split("userVerification: '")[1].split("'")[0]  # (CREATE_UV's)
    creation = {
        "rp": {"id": "localhost", "name": "E"},
        "user": {"id": encode(b"user-1"), "name": "e", "displayName": "E"},
        "challenge": encode(bytes(16)),
        "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
        "authenticatorSelection": {"userVerification": uv, "residentKey": "discouraged"},
    }
    with VirtualAuthenticator.from_cdp({**BASE, **options}) as va:
        try:
            made = va.create(creation, "http://localhost")
        except WebAuthnError as error:
            return {"name": error.name}
        return {"name": "resolved", "flags": decode(made["response"]["authenticatorData"])[32]}
