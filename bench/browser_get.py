"""In-page `navigator.credentials.get()` through vauth (extension → native host → daemon, tester
mode) against Chromium's own CDP virtual authenticator, in one run. Target: at most 3x.

    python bench/browser_get.py [--iterations 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import support
from tests.e2e import conftest as e2e
from tests.e2e.rp_server import RelyingParty

MEASURE = """async (n) => {
    const times = [];
    for (let i = 0; i < n; i++) {
        const options = {challenge: crypto.getRandomValues(new Uint8Array(32)),
                         rpId: 'localhost', userVerification: 'discouraged'};
        const start = performance.now();
        await navigator.credentials.get({publicKey: options});
        times.push(performance.now() - start);
    }
    return times;
}"""


def summary(label: str, times: list[float]) -> float:
    times.sort()
    median = statistics.median(times)
    print(f"{label:34} median {median:6.2f} ms   p99 {times[int(len(times) * 0.99)]:6.2f} ms")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=200)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        env = support.environment(base, "bench")
        environment = e2e.Environment(base, env)
        daemon = e2e.Daemon(environment, "--presence", "auto")
        rp_fixture = e2e.rp.__wrapped__()
        rp: RelyingParty = next(rp_fixture)
        try:
            environment.cli(  # checked: a failed install would only show as a hang later
                "native-host",
                "install",
                "--browser",
                "chromium",
                "--user-data-dir",
                str(base / "chromium"),
            )
            with sync_playwright() as playwright:
                vauth = playwright.chromium.launch_persistent_context(
                    str(base / "chromium"),
                    executable_path=e2e.CHROMIUM,
                    headless=False,
                    env=env,
                    args=[*e2e.CHROMIUM_ARGS, *e2e.EXTENSION_ARGS],
                )
                page = vauth.new_page()
                page.goto(rp.origin)
                assert page.evaluate("register('bench')")["ok"]
                through_vauth = summary(
                    "vauth (extension, host, daemon)", page.evaluate(MEASURE, args.iterations)
                )
                vauth.close()
                plain = playwright.chromium.launch_persistent_context(
                    str(base / "plain"),
                    executable_path=e2e.CHROMIUM,
                    headless=False,
                    args=e2e.CHROMIUM_ARGS,
                )
                page = plain.new_page()
                page.goto(rp.origin)
                e2e.virtual_platform_authenticator(plain, page)
                assert page.evaluate("register('bench')")["ok"]
                virtual = summary(
                    "Chromium's CDP virtual authenticator", page.evaluate(MEASURE, args.iterations)
                )
                plain.close()
        finally:
            daemon.stop()
            next(rp_fixture, None)
    ratio = through_vauth / virtual
    print(
        f"\nvauth / CDP virtual authenticator: {ratio:.2f}x (target <= 3.0) "
        f"{'PASS' if ratio <= 3.0 else 'MISS'}"
    )


if __name__ == "__main__":
    main()
