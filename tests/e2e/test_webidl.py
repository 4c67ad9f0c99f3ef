"""The page script converts WebAuthn options exactly as Chromium does (house style rule 17).

Each case is one call, made twice: in Chromium with vauth installed (tester mode: the daemon
answers without a window) and in a Chromium without the extension, in front of Chromium's own
CDP virtual authenticator. The outcome (resolved, or the error's name) must be the same, and is
written down beside the case, so a change in Chromium shows up here too.

References: WebAuthn L3 §5.4 (PublicKeyCredentialCreationOptions), §5.5
(PublicKeyCredentialRequestOptions), §5.8 (PublicKeyCredentialDescriptor), §5.1.10 (signal
methods), §10 (extension inputs: credProps, prf, largeBlob, appid, appidExclude); CTAP 2.1 §12
(credProtect, credBlob, minPinLength, hmac-secret); WebIDL §3.2 (JavaScript type mapping:
dictionaries, sequences, records, BufferSource, DOMString, USVString, unsigned long, long).
Chromium's IDL: third_party/blink/renderer/modules/credentialmanagement/*.idl.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import (
    chromium_alone,
    chromium_with_vauth,
    virtual_platform_authenticator,
)

pytestmark = pytest.mark.e2e

TYPE = "TypeError"

# Helpers defined in both pages (webidl_cases.txt says what they build). Chromium's virtual
# authenticator holds only a few discoverable credentials: the cases that make one share a user
# handle, so each replaces the last.
PRELUDE = r"""
(() => {
  const bytes = (n, fill = 1) => new Uint8Array(n).fill(fill);
  const outer = (publicKey) => ({ publicKey, signal: window.__control.signal });
  window.bytes = bytes;
  window.C = (change) => {
    const publicKey = {
      rp: { name: "Example" },
      user: { id: bytes(8), name: "idl", displayName: "IDL" },
      challenge: bytes(16),
      pubKeyCredParams: [{ type: "public-key", alg: -7 }],
    };
    const options = outer(publicKey);
    if (change) change(publicKey, options);
    return options;
  };
  window.G = (change) => {
    const publicKey = {
      challenge: bytes(16),
      allowCredentials: [{ type: "public-key", id: window.ID }],
    };
    const options = outer(publicKey);
    if (change) change(publicKey, options);
    return options;
  };
  window.create = (options) => navigator.credentials.create(options);
  window.get = (options) => navigator.credentials.get(options);
  window.detached = () => {
    const buffer = new ArrayBuffer(16);
    structuredClone(buffer, { transfer: [buffer] });
    return buffer;
  };
  window.shared = () => new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer;
})();
"""

# The runner: make the passkey, then each case in turn; a case that does not settle in time is
# aborted and reported as "hung" (neither side should hang).
RUNNER = r"""
async (cases) => {
  window.__control = new AbortController();
  const made = await navigator.credentials.create(C((o) => {
    o.authenticatorSelection = { residentKey: "required" };
    o.user.id = bytes(8, 9); // no case reuses this user handle, which would replace the passkey
  }));
  window.ID = made.rawId;
  window.IDS = made.id;
  const outcomes = {};
  for (const [name, source] of cases) {
    window.__control = new AbortController();
    let timer;
    const hung = new Promise((resolve) => {
      timer = setTimeout(() => { window.__control.abort(); resolve("hung"); }, 8000);
    });
    const call = (async () => {
      try {
        await (0, eval)(source);
        return "resolved";
      } catch (e) {
        return e instanceof DOMException ? e.name : (e && e.constructor && e.constructor.name);
      }
    })();
    outcomes[name] = await Promise.race([call, hung]);
    clearTimeout(timer);
    await call;
  }
  return outcomes;
}
"""

CASES_FILE = Path(__file__).with_name("webidl_cases.txt")


def load_cases() -> list[tuple[str, str, str]]:
    """(name, call, Chromium's outcome) for each line of webidl_cases.txt."""
    cases = []
    for line in CASES_FILE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, expected, source = (part.strip() for part in line.split("|", 2))
            cases.append((name, source, expected))
    return cases


CASES = load_cases()


# Where vauth deliberately answers otherwise, and why.
DIVERGES: dict[str, tuple[str, str]] = {
    "create-user-id-empty": (
        TYPE,
        "L3 §5.1.3: user.id must be 1 to 64 bytes; Chromium 156 accepts an empty one, but a vault "
        "entry (and its export) needs a user handle",
    ),
}


def run_cases(page: Any) -> dict[str, str]:
    page.evaluate(PRELUDE)
    outcomes: dict[str, str] = page.evaluate(RUNNER, [[name, source] for name, source, _ in CASES])
    return outcomes


@pytest.fixture(scope="module")
def chromium_outcomes(playwright: Any, origin: str) -> dict[str, str]:
    """Chromium alone, with its CDP virtual authenticator."""
    with chromium_alone(playwright, origin) as (context, page):
        virtual_platform_authenticator(context, page)
        return run_cases(page)


@pytest.fixture(scope="module")
def vauth_run(
    playwright: Any, origin: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[dict[str, str], list[dict[str, Any]]]]:
    """Chromium with vauth installed, its daemon in tester mode (no window): the outcomes, and
    the passkeys the vault holds afterwards."""
    base = tmp_path_factory.mktemp("webidl")
    with chromium_with_vauth(playwright, origin, base) as (environment, page):
        outcomes = run_cases(page)
        outcomes["(the first passkey)"] = page.evaluate("window.IDS")
        yield outcomes, json.loads(environment.cli("list", "--json").stdout)


@pytest.fixture(scope="module")
def vauth_outcomes(vauth_run: tuple[dict[str, str], list[dict[str, Any]]]) -> dict[str, str]:
    return vauth_run[0]


NAMES = [name for name, _, _ in CASES]


def test_vauth_answered_the_calls(vauth_run: tuple[dict[str, str], list[dict[str, Any]]]) -> None:
    """The vauth side really went through vauth (not the browser), so its outcomes are vauth's."""
    outcomes, passkeys = vauth_run
    assert outcomes["(the first passkey)"] in [p["credentialId"] for p in passkeys]
    discoverable = [p for p in passkeys if p["kind"] == "discoverable"]
    assert len(discoverable) == 2  # and the discoverable one the cases made (one user handle)


@pytest.mark.parametrize(("name", "expected"), [(c[0], c[2]) for c in CASES], ids=NAMES)
def test_chromium_reference(chromium_outcomes: dict[str, str], name: str, expected: str) -> None:
    """webidl_cases.txt says what Chromium does (so a change in Chromium is seen here)."""
    assert chromium_outcomes[name] == expected, f"Chromium itself changed: {name}"


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_vauth_matches_chromium(
    chromium_outcomes: dict[str, str], vauth_outcomes: dict[str, str], name: str
) -> None:
    """With vauth installed, the same call ends the same way."""
    expected, _why = DIVERGES.get(name, (chromium_outcomes[name], ""))
    assert vauth_outcomes[name] == expected, name
