"""A tester's get(), four ways in one run: in a page through vauth in tester mode (extension,
native host, an ephemeral daemon from vauth.testing.harness), in a page through Chromium's own CDP
virtual authenticator, in Python through ``VirtualAuthenticator.get()``, and over the daemon's
HTTP API (``POST .../get``).

    python bench/tester_get.py [--iterations 100]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.page_get import MEASURE
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, serve_rp
from vauth import VirtualAuthenticator
from vauth.base64url import encode
from vauth.testing.harness import VauthDaemon
from vauth.testing.pytest_plugin import launch_chromium

REGISTER = """async () => {
    const r = (n) => crypto.getRandomValues(new Uint8Array(n));
    await navigator.credentials.create({publicKey: {rp: {name: 'x'},
        user: {id: r(16), name: 'bench', displayName: 'Bench'}, challenge: r(32),
        pubKeyCredParams: [{type: 'public-key', alg: -7}],
        authenticatorSelection: {residentKey: 'required'}}});
}"""


def summary(label: str, times: list[float]) -> float:
    times.sort()
    median = statistics.median(times)
    p95 = times[int(len(times) * 0.95)]
    print(f"{label:44} median {median:7.2f} ms   p95 {p95:7.2f} ms")
    return median


def creation() -> dict[str, object]:
    return {
        "challenge": encode(os.urandom(32)),
        "rp": {"id": "localhost", "name": "x"},
        "user": {"id": encode(b"bench"), "name": "bench", "displayName": "Bench"},
        "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
        "authenticatorSelection": {"residentKey": "required"},
    }


def request() -> dict[str, object]:
    return {"challenge": encode(os.urandom(32)), "rpId": "localhost"}


def python_get(n: int, origin: str) -> list[float]:
    with VirtualAuthenticator() as authenticator:
        authenticator.create(creation(), origin)
        times = []
        for _ in range(n):
            start = time.perf_counter()
            authenticator.get(request(), origin)
            times.append((time.perf_counter() - start) * 1000)
    return times


def http_get(n: int, daemon: VauthDaemon, origin: str) -> list[float]:
    path = "/webauthn/authenticator/vault"
    daemon.request("POST", path + "/create", {"origin": origin, "options": creation()})
    times = []
    for _ in range(n):
        start = time.perf_counter()
        daemon.request("POST", path + "/get", {"origin": origin, "options": request()})
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=100)
    n = parser.parse_args().iterations
    from playwright.sync_api import sync_playwright

    with (
        tempfile.TemporaryDirectory() as tmp,
        serve_rp() as rp,
        VauthDaemon.start(Path(tmp)) as daemon,
        sync_playwright() as playwright,
    ):
        context = launch_chromium(playwright, daemon.env, Path(daemon.env["HOME"]) / "chromium")
        page = context.new_page()
        page.goto(rp.origin)
        page.evaluate(REGISTER)
        in_page = page.evaluate(MEASURE, n)
        context.close()

        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(rp.origin)
        cdp = page.context.new_cdp_session(page)
        cdp.send("WebAuthn.enable", {"enableUI": False})
        options = {"protocol": "ctap2", "transport": "usb", "hasResidentKey": True}
        options |= {"hasUserVerification": True, "isUserVerified": True}
        cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})
        page.evaluate(REGISTER)
        cdp_page = page.evaluate(MEASURE, n)
        browser.close()

        print(f"get() x {n}, one discoverable ES256 credential, on this machine:")
        vauth_page = summary("page -> vauth (extension, tester mode)", in_page)
        cdp_median = summary("page -> Chromium's CDP virtual authenticator", cdp_page)
        python_median = summary("Python VirtualAuthenticator.get()", python_get(n, rp.origin))
        summary("HTTP POST .../get (tester-mode daemon)", http_get(n, daemon, rp.origin))
        print(f"page: vauth / CDP = {vauth_page / cdp_median:.2f}x")
        print(f"Python get() / CDP page get() = {python_median / cdp_median:.2f}x")


if __name__ == "__main__":
    main()
