"""`vauth sync ...` (issue 13) against real daemons and the real sync library: sentences,
documented exit codes (vauth/cli.py), never a traceback; without a daemon, on the vault's files.
Two computers share one plain folder here (the carrier is a folder; Syncthing carries it in
tests/sync/test_syncthing_e2e.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.sync.computers import Computer, eventually


@pytest.fixture
def laptop(tmp_path: Path) -> Iterator[Computer]:
    computer = Computer(tmp_path, "laptop").start()
    yield computer
    computer.stop()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "Sync"
    path.mkdir()
    return path


def no_traceback(result: object) -> None:
    assert "Traceback" not in getattr(result, "stderr", ""), result


def test_a_group_is_set_up_joined_approved_and_a_device_removed(
    laptop: Computer, folder: Path, tmp_path: Path
) -> None:
    assert "Sync is not set up on this computer" in laptop.cli("sync", "status").stdout
    assert laptop.json("sync", "status") == {"configured": False}

    result = laptop.cli("sync", "init", str(folder), "--name", "laptop")
    assert "Sync is set up: this computer (laptop) is the first in the group" in result.stdout

    # a second computer, its daemon not running: `join` works on its vault's files
    desktop = Computer(tmp_path, "desktop")
    desktop.cli("init")
    request = desktop.json("sync", "join", str(folder), "--name", "desktop")
    assert "waiting to be approved" in desktop.cli("sync", "status").stdout

    shown = laptop.cli("sync", "status").stdout
    assert f"desktop ({request['deviceId']}) asks to join" in shown
    assert request["fingerprint"] in shown  # both computers show the same fingerprint

    wrong = laptop.cli(
        "sync", "approve", request["deviceId"], "--fingerprint", "000000", check=False
    )
    assert wrong.returncode == 1, wrong
    assert "does not match the code of the device asking to join" in wrong.stderr
    no_traceback(wrong)
    assert laptop.json("sync", "devices")[0]["name"] == "laptop"  # nothing approved

    approved = laptop.cli(
        "sync", "approve", request["deviceId"][:6], "--fingerprint", request["fingerprint"]
    )
    assert "desktop joined" in approved.stdout
    devices = {d["name"]: d for d in laptop.json("sync", "devices")}
    assert devices.keys() == {"laptop", "desktop"}
    assert devices["laptop"]["thisDevice"] and not devices["desktop"]["thisDevice"]
    assert set(devices["laptop"]) == {
        "deviceId", "name", "fingerprint", "thisDevice", "removed", "lastSeq", "lastSeen",
    }  # fmt: skip

    unconfirmed = laptop.cli("sync", "remove", request["deviceId"], check=False)
    assert unconfirmed.returncode == 2 and "needs --yes" in unconfirmed.stderr
    removed = laptop.cli("sync", "remove", request["deviceId"], "--yes")
    assert "desktop was removed: it cannot read anything written from now on" in removed.stdout
    table = laptop.cli("sync", "devices").stdout
    assert "desktop" in table and "removed" in table


def test_bad_input_is_a_sentence_and_an_exit_code(laptop: Computer, folder: Path) -> None:
    cases = [
        (("sync", "devices"), 1, "sync is not set up on this computer"),
        (("sync", "init", str(folder / "missing")), 2, "is not a folder"),
        (("sync", "init", str(folder), "--name", "x" * 65), 2, "1 to 64 characters"),
        (("sync", "approve", "abc"), 1, "sync is not set up"),
        (("sync", "join", str(folder)), 1, "holds no vauth sync group yet"),
    ]
    for args, code, words in cases:
        result = laptop.cli(*args, check=False)
        assert result.returncode == code, (args, result)
        assert words in result.stderr, (args, result.stderr)
        no_traceback(result)
    laptop.cli("sync", "init", str(folder))
    unknown = laptop.cli("sync", "approve", "ffff", "--fingerprint", "1", check=False)
    assert unknown.returncode == 6 and "has asked to join" in unknown.stderr
    missing = laptop.cli("sync", "remove", "ffff", "--yes", check=False)
    assert missing.returncode == 6 and "vauth sync devices" in missing.stderr
    for result in (unknown, missing):
        no_traceback(result)
    assert laptop.call("status")["vault"]["locked"] is False  # the daemon keeps answering


def test_the_socket_actions_name_the_bad_field(laptop: Computer) -> None:
    reply = laptop.request("sync.init", folder="relative/path", deviceName="x")
    assert reply["error"]["code"] == "invalid argument"
    assert "absolute path" in reply["error"]["message"]
    reply = laptop.request("sync.approve", deviceId="abc")
    assert reply["error"]["code"] == "invalid argument"
    assert "fingerprint" in reply["error"]["message"]
    reply = laptop.request("sync.devices")
    assert reply["error"]["code"] == "sync_error"


def approved(laptop: Computer, folder: Path, tmp_path: Path) -> tuple[Computer, Any]:
    """A desktop (its daemon not running) that asked to join the laptop's group, approved."""
    laptop.cli("sync", "init", str(folder), "--name", "laptop")
    desktop = Computer(tmp_path, "desktop")
    desktop.cli("init")
    request = desktop.json("sync", "join", str(folder), "--name", "desktop")
    laptop.cli("sync", "approve", request["deviceId"], "--fingerprint", request["fingerprint"])
    return desktop, request


def test_status_shows_a_refused_segment_and_why(
    laptop: Computer, folder: Path, tmp_path: Path
) -> None:
    _, request = approved(laptop, folder, tmp_path)
    forged = folder / "vauth" / "devices" / request["deviceId"] / "seg-0000000001.vseg"
    forged.parent.mkdir(parents=True, exist_ok=True)
    forged.write_bytes(b"not a segment at all")
    eventually(lambda: laptop.json("sync", "status")["refused"], 10, "the refusal")
    status = laptop.cli("sync", "status").stdout
    assert f"/vauth/devices/{request['deviceId']}/seg-0000000001.vseg: it is not" in status


def test_without_the_daemon_a_wrong_passphrase_is_exit_5(tmp_path: Path) -> None:
    computer = Computer(tmp_path, "offline")
    computer.cli("init")
    computer.env["VAUTH_PASSPHRASE"] = "not it"
    wrong = computer.cli("sync", "status", check=False)
    assert wrong.returncode == 5, wrong
    no_traceback(wrong)


def test_a_computer_leaves_and_the_others_are_told(
    laptop: Computer, folder: Path, tmp_path: Path
) -> None:
    desktop, _ = approved(laptop, folder, tmp_path)
    desktop.start()  # its daemon completes the join
    try:
        eventually(lambda: desktop.json("sync", "status")["joined"], 20, "the join")
        leave(desktop)
    finally:
        desktop.stop()

    def told() -> bool:
        devices = {d["name"]: d for d in laptop.json("sync", "devices")}
        return bool(devices["desktop"]["removed"])

    eventually(told, 20, "the laptop to learn that the desktop left")
    assert laptop.json("sync", "status")["lastError"] is None


def leave(desktop: Computer) -> None:
    unconfirmed = desktop.cli("sync", "leave", check=False)
    assert unconfirmed.returncode == 2 and "needs --yes" in unconfirmed.stderr
    no_traceback(unconfirmed)
    left = desktop.cli("sync", "leave", "--yes")
    assert "This computer no longer syncs: its passkeys stay here" in left.stdout
    assert "Sync is not set up on this computer" in desktop.cli("sync", "status").stdout


def test_status_says_what_was_refused_and_what_repairs_it(laptop: Computer, folder: Path) -> None:
    laptop.cli("sync", "init", str(folder), "--name", "laptop")
    me = laptop.json("sync", "status")["deviceId"]
    own = folder / "vauth" / "devices" / me / "device.json"
    own.write_bytes(b"damaged")  # as a sync peer's copy may carry back
    stray = folder / "vauth" / "join" / "notes.txt"
    stray.parent.mkdir(exist_ok=True)
    stray.write_text("junk")

    def repaired() -> bool:
        status = laptop.json("sync", "status")
        return bool(status["repairs"]) and any(r["path"] == str(stray) for r in status["refused"])

    eventually(repaired, 20, "the repair and the refusal")
    shown = laptop.cli("sync", "status").stdout
    assert f"This computer restored vauth/devices/{me}/device.json" in shown
    assert f"Refused {stray}: it is not a request to join. It is not a file vauth" in shown
