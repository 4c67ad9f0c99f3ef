"""Issue 11 item 5: a remembered choice belongs to a site as the ceremony window names it (the
passkey's rpId), and applies to every origin of that site. The pure matching functions of
extension/background/settings.js, run in node."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

SETTINGS = Path(__file__).resolve().parents[2] / "extension" / "background" / "settings.js"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


def run(expression: str) -> object:
    assert NODE is not None
    script = (
        f"import * as s from {json.dumps(SETTINGS.as_uri())};\n"
        f"console.log(JSON.stringify({expression}));"
    )
    done = subprocess.run(
        [NODE, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_site_covers_its_subdomains_and_every_port() -> None:
    sites = {"example.com": "vauth", "login.example.com": "browser", "localhost": "vauth"}
    hosts = [
        "example.com",
        "www.example.com",
        "login.example.com",
        "a.login.example.com",
        "notexample.com",
        "com",
        "localhost",
        "127.0.0.1",
    ]
    found = run(f"{json.dumps(hosts)}.map((h) => s.siteFor({json.dumps(sites)}, h))")
    assert found == [
        "example.com",
        "example.com",
        "login.example.com",
        "login.example.com",
        None,
        None,
        "localhost",
        None,
    ]


def test_site_names_from_what_a_person_types_or_an_old_origin_key() -> None:
    typed = [
        "example.com",
        "https://Example.com",
        "http://example.com:8080/login",
        " www.example.com ",
        "",
        "not a site",
        "https://",
    ]
    assert run(f"{json.dumps(typed)}.map(s.siteName)") == [
        "example.com",
        "example.com",
        "example.com",
        "www.example.com",
        None,
        None,
        None,
    ]
