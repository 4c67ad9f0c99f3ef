"""`vauth native-host install`: the manifest where each browser looks, the executable it names,
and the callers the host itself then accepts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from native_host_support import ORIGIN, Host, environment

from tests import support

OTHER_ID = "abcdefghijklmnopabcdefghijklmnop"


def install(base: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return support.cli(environment(base), "native-host", "install", *args, check=check)


def executable() -> str:
    return str(Path(os.path.abspath(sys.executable)).parent / "vauth-native-host")


@pytest.mark.parametrize(
    ("browser", "where"),
    [
        ("chromium", ".config/chromium/NativeMessagingHosts"),
        ("chrome", ".config/google-chrome/NativeMessagingHosts"),
    ],
)
def test_chromium_and_chrome(tmp_path: Path, browser: str, where: str) -> None:
    result = install(tmp_path, "--browser", browser)
    manifest = tmp_path / "home" / where / "dev.vauth.host.json"
    assert str(manifest) in result.stdout
    assert json.loads(manifest.read_text()) == {
        "name": "dev.vauth.host",
        "description": "vauth: the passkey authenticator you own (native-messaging host)",
        "path": executable(),
        "type": "stdio",
        "allowed_origins": [ORIGIN],
    }
    path = Path(json.loads(manifest.read_text())["path"])
    assert path.is_absolute() and path.is_file() and os.access(path, os.X_OK)


def test_firefox(tmp_path: Path) -> None:
    install(tmp_path, "--browser", "firefox")
    manifest = tmp_path / "home" / ".mozilla" / "native-messaging-hosts" / "dev.vauth.host.json"
    written = json.loads(manifest.read_text())
    assert written["allowed_extensions"] == ["vauth@vauth.dev"]
    assert "allowed_origins" not in written
    assert written["path"] == executable() and written["type"] == "stdio"


def test_user_data_dir_extension_id_and_json(tmp_path: Path) -> None:
    profile = tmp_path / "profile"
    result = install(
        tmp_path,
        "--browser",
        "chromium",
        "--user-data-dir",
        str(profile),
        "--extension-id",
        OTHER_ID,
        "--json",
    )
    report: dict[str, Any] = json.loads(result.stdout)
    manifest = profile / "NativeMessagingHosts" / "dev.vauth.host.json"
    assert report["manifest"] == str(manifest)
    assert report["path"] == executable()
    assert report["allowed_origins"] == [f"chrome-extension://{OTHER_ID}/"]
    assert json.loads(manifest.read_text())["allowed_origins"] == [
        f"chrome-extension://{OTHER_ID}/"
    ]
    assert not (tmp_path / "home" / ".config" / "chromium").exists()
    config = json.loads((tmp_path / "config" / "vauth" / "native-host.json").read_text())
    assert config["manifests"][str(manifest)]["allowed_origins"] == [
        f"chrome-extension://{OTHER_ID}/"
    ]


def test_the_host_accepts_exactly_what_was_installed(tmp_path: Path) -> None:
    install(tmp_path, "--browser", "chromium", "--extension-id", OTHER_ID)
    install(tmp_path, "--browser", "firefox", "--extension-id", "tester@example.org")
    manifest = tmp_path / "home" / ".config" / "chromium" / "NativeMessagingHosts"
    program = json.loads((manifest / "dev.vauth.host.json").read_text())["path"]
    firefox_manifest = "/somewhere/dev.vauth.host.json"
    cases = [
        ((f"chrome-extension://{OTHER_ID}/",), True),
        ((ORIGIN,), False),  # the default is no longer installed
        ((firefox_manifest, "tester@example.org"), True),
        ((firefox_manifest, "vauth@vauth.dev"), False),
    ]
    for args, accepted in cases:
        host = Host(tmp_path, *args)
        try:
            if accepted:
                assert host.call(1, "host.hello")["ok"] is True, args
            else:
                reply = host.recv()
                assert reply["error"]["code"] == "forbidden_origin", args
                assert host.exit_code() != 0
        finally:
            host.kill()
    # The installed executable itself (what the browser runs) serves too.
    started = subprocess.Popen(
        [program, f"chrome-extension://{OTHER_ID}/"],
        env=environment(tmp_path),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    body = b'{"id": 1, "action": "host.hello"}'
    out, _ = started.communicate(len(body).to_bytes(4, sys.byteorder) + body, timeout=30)
    assert started.returncode == 0
    assert json.loads(out[4:])["result"]["daemon"] is False
    assert int.from_bytes(out[:4], sys.byteorder) == len(out) - 4


@pytest.mark.parametrize(
    "args",
    [
        ("--browser", "chromium", "--extension-id", "not-an-id"),
        ("--browser", "firefox", "--extension-id", "has space"),
        ("--browser", "safari"),
    ],
)
def test_bad_arguments(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = install(tmp_path, *args, check=False)
    assert result.returncode == 2
    assert not (tmp_path / "home").exists() or not any((tmp_path / "home").rglob("*.json"))


def test_firefox_refuses_a_user_data_dir(tmp_path: Path) -> None:
    """Issue 14: Firefox on Linux reads host manifests only from ~/.mozilla/native-messaging-hosts
    and the system directory (MDN, "Native manifests", Linux), never from a profile: writing
    DIR/NativeMessagingHosts/ and exiting 0 left a Firefox that could not reach vauth."""
    profile = tmp_path / "profile"
    result = install(tmp_path, "--browser", "firefox", "--user-data-dir", str(profile), check=False)
    assert result.returncode == 2
    assert "~/.mozilla/native-messaging-hosts" in result.stderr
    assert "Traceback" not in result.stderr
    assert not profile.exists()
    assert not (tmp_path / "home").exists() or not any((tmp_path / "home").rglob("*.json"))


def uninstall(base: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return support.cli(environment(base), "native-host", "uninstall", *args, check=check)


def test_uninstall_undoes_what_install_wrote(tmp_path: Path) -> None:
    """Issue 20: `native-host uninstall [--browser B]` removes the manifests `install` wrote for
    that browser (in every profile it was installed in) and forgets the callers they allowed;
    without --browser, every browser's. Once all are gone the host is as never installed."""
    home = tmp_path / "home"
    chromium = home / ".config" / "chromium" / "NativeMessagingHosts" / "dev.vauth.host.json"
    profile = tmp_path / "profile" / "NativeMessagingHosts" / "dev.vauth.host.json"
    firefox = home / ".mozilla" / "native-messaging-hosts" / "dev.vauth.host.json"
    config = tmp_path / "config" / "vauth" / "native-host.json"
    install(tmp_path, "--browser", "chromium")
    install(tmp_path, "--browser", "chromium", "--user-data-dir", str(tmp_path / "profile"))
    install(tmp_path, "--browser", "firefox")
    removed = uninstall(tmp_path, "--browser", "chromium", "--json")
    assert json.loads(removed.stdout) == {"removed": sorted([str(chromium), str(profile)])}
    assert not chromium.exists() and not profile.exists() and firefox.exists()
    assert list(json.loads(config.read_text())["manifests"]) == [str(firefox)]
    done = uninstall(tmp_path)
    assert f"removed {firefox}" in done.stdout
    assert not firefox.exists() and not config.exists()
    again = uninstall(tmp_path, "--browser", "firefox")
    assert "was not installed for firefox: there was nothing to remove" in again.stdout


def test_uninstall_leaves_a_file_that_is_not_vauths_alone(tmp_path: Path) -> None:
    install(tmp_path, "--browser", "chrome")
    manifest = tmp_path / "home" / ".config" / "google-chrome" / "NativeMessagingHosts"
    (manifest / "dev.vauth.host.json").write_text('{"name": "someone.else"}')
    refused = uninstall(tmp_path, "--browser", "chrome", check=False)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "is not vauth's native-host manifest: it was left as it is" in refused.stderr
    assert (manifest / "dev.vauth.host.json").read_text() == '{"name": "someone.else"}'
    needs = uninstall(tmp_path, "--user-data-dir", str(tmp_path / "p"), check=False)
    assert needs.returncode == 1 and "--user-data-dir needs --browser" in needs.stderr
