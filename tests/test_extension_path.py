"""`vauth extension path [--browser chromium|firefox]` (issue 20): the folder a person loads in
the browser. From this tree (an editable install) it is extension/ itself, and the Firefox
add-on assembled from it; an installed wheel's own copy is checked by
tests/e2e/installed/test_wheel.py."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import ROOT, cli, environment


def test_chromium_is_the_extension_folder(tmp_path: Path) -> None:
    env = environment(tmp_path)
    assert cli(env, "extension", "path").stdout.strip() == str(ROOT / "extension")
    answer = json.loads(cli(env, "extension", "path", "--browser", "chromium", "--json").stdout)
    assert answer == {"browser": "chromium", "path": str(ROOT / "extension")}


def test_firefox_is_the_add_on_assembled_with_firefoxs_manifest(tmp_path: Path) -> None:
    env = environment(tmp_path) | {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    folder = Path(cli(env, "extension", "path", "--browser", "firefox").stdout.strip())
    assert folder == tmp_path / "cache" / "vauth" / "firefox-addon"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest == json.loads((ROOT / "extension" / "firefox" / "manifest.json").read_text())
    assert manifest["browser_specific_settings"]["gecko"]["id"] == "vauth@vauth.dev"
    for script in ("page/page.js", "background/sw.js", "shared/protocol.js"):
        assert (folder / script).read_bytes() == (ROOT / "extension" / script).read_bytes()


def test_an_unknown_browser_is_a_usage_error(tmp_path: Path) -> None:
    refused = cli(environment(tmp_path), "extension", "path", "--browser", "safari", check=False)
    assert refused.returncode == 2 and "invalid choice" in refused.stderr
