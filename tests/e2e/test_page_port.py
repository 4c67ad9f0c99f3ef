"""One port per document between vauth's bridge and its service worker, requests keyed by id
(extension/content/bridge.js, extension/background/sw.js): many requests at once, from several
frames and tabs, each answered to the call that made it; an abort calls off only its own
request, and a frame that goes away only its own (WebAuthn L3 5.6: "abort the operation" ends
that operation alone)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from tests.e2e.conftest import Environment
from tests.e2e.rp_server import RelyingParty
from tests.e2e.test_abort import collect
from tests.e2e.test_extension import open_site
from vauth.testing.harness import VauthDaemon

pytestmark = pytest.mark.e2e
PRESENCE = "/webauthn/authenticator/vault/presence-simulation"

# `window.__ask(tag)`: a get() with a challenge of its own, abortable as
# window.__controllers[tag]; its outcome in window.__results[tag]: whether the assertion the
# call received answers its own challenge (clientDataJSON, WebAuthn L3 5.8.1).
ASKER = """() => {
    window.__controllers = {};
    window.__results = {};
    const b64url = (bytes) => btoa(String.fromCharCode(...bytes))
        .replace(/[+]/g, '-').replace(/[/]/g, '_').replace(/=+$/, '');
    window.__ask = (tag) => {
        const challenge = crypto.getRandomValues(new Uint8Array(32));
        const controller = (window.__controllers[tag] = new AbortController());
        navigator.credentials.get({signal: controller.signal, publicKey: {
            challenge, rpId: 'localhost', userVerification: 'discouraged'}}).then(
            (credential) => {
                const json = new TextDecoder().decode(credential.response.clientDataJSON);
                const data = JSON.parse(json);
                window.__results[tag] = {ok: data.challenge === b64url(challenge),
                                         origin: data.origin};
            },
            (e) => (window.__results[tag] = {ok: false, name: e.name}));
    };
    // one the service worker answers at once, without the daemon
    window.__available = (tag) => PublicKeyCredential.isConditionalMediationAvailable().then(
        (available) => (window.__results[tag] = {available}));
}"""

FRAME = """(name) => new Promise((resolve) => {
    const frame = document.createElement('iframe');
    frame.name = name;
    frame.src = '/probe';
    frame.onload = resolve;
    document.body.append(frame);
})"""


def frame_of(page: Any, name: str) -> Any:
    page.evaluate(FRAME, name)
    frame = page.frame(name=name)
    frame.wait_for_function("typeof window.probe === 'function'")
    return frame


def outcomes(where: Any, tags: list[str], timeout: float = 20_000) -> dict[str, Any]:
    where.wait_for_function(
        f"{tags!r}.every((tag) => window.__results[tag] !== undefined)", timeout=timeout
    )
    return where.evaluate(f"{tags!r}.map((tag) => window.__results[tag])")  # type: ignore[no-any-return]


def test_many_requests_from_several_frames_and_tabs_each_answered_to_its_caller(
    browser: Any, rp: RelyingParty, environment: Environment
) -> None:
    """Eight get() calls at once in each of four documents (two tabs, each with a frame), each
    followed by a call the service worker answers at once: every get() receives the assertion
    made for its own challenge, in its own document."""
    with VauthDaemon.start(environment.base) as daemon:
        first = open_site(browser, rp)
        assert first.evaluate("register('ada')")["ok"]
        (before,) = daemon.credentials()
        second = open_site(browser, rp)
        documents = [first, frame_of(first, "a"), second, frame_of(second, "b")]
        tags = [f"call{i}" for i in range(8)]
        for document in documents:
            document.evaluate(ASKER)
        asks = "(tag) => { window.__ask(tag); window.__available('available ' + tag); }"
        for document in documents:  # all in flight together; the quick ones answered first
            document.evaluate(f"{tags!r}.forEach({asks})")
        for document in documents:
            assert outcomes(document, tags) == [{"ok": True, "origin": rp.origin}] * len(tags)
            available = outcomes(document, [f"available {tag}" for tag in tags])
            assert available == [{"available": True}] * len(tags)
        (after,) = daemon.credentials()
        assert after["signCount"] == before["signCount"] + 4 * len(tags)


def test_an_abort_or_a_frame_gone_calls_off_only_its_own_request(
    browser: Any, rp: RelyingParty, environment: Environment
) -> None:
    """Tester mode with presence held (CDP's automaticPresenceSimulation off): three calls in a
    page, one in a frame of it and one in another tab wait; the page aborts its second call and
    removes the frame; presence comes back: the three others are signed, each for its caller,
    and nothing else (the counter moves by three, three assertion events)."""
    with VauthDaemon.start(environment.base) as daemon:
        page = open_site(browser, rp)
        assert page.evaluate("register('bea')")["ok"]
        other = open_site(browser, rp)
        frame = frame_of(page, "gone")
        for document in (page, frame, other):
            document.evaluate(ASKER)
        (before,) = daemon.credentials()
        names: list[str] = []
        with daemon.events() as events:
            threading.Thread(target=collect, args=(events, names), daemon=True).start()
            daemon.request("POST", PRESENCE, {"enabled": False})
            page.evaluate("['a1', 'a2', 'a3'].forEach((tag) => window.__ask(tag))")
            frame.evaluate("window.__ask('f1')")
            other.evaluate("window.__ask('b1')")
            time.sleep(1.5)  # every call has reached the daemon, or waits for it
            assert page.evaluate("Object.keys(window.__results).length") == 0
            page.evaluate("window.__controllers.a2.abort()")
            page.evaluate("document.querySelector('iframe[name=gone]').remove()")
            assert outcomes(page, ["a2"]) == [{"ok": False, "name": "AbortError"}]
            time.sleep(0.5)
            daemon.request("POST", PRESENCE, {"enabled": True})
            mine = {"ok": True, "origin": rp.origin}
            assert outcomes(page, ["a1", "a3"]) == [mine, mine]
            assert outcomes(other, ["b1"]) == [mine]
            time.sleep(1)
        (after,) = daemon.credentials()
        assert after["signCount"] == before["signCount"] + 3
        assert len(names) == 3, names
