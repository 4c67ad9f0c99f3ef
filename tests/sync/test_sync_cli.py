"""`vauth sync ...` (issue 13) through a real `vauth serve` and, without a daemon, on the vault's
files: sentences, documented exit codes (vauth/cli.py), never a traceback.

The sync library itself is the stand-in of tests/sync/standin_library.py (the contract's names
and types), installed in every process through PYTHONPATH: these tests are about the application
side -- the CLI, the socket actions and the daemon's runner."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import ROOT, Daemon, cli, environment
from tests.sync.standin_library import fingerprint

STANDIN = Path(__file__).parent / "standin"


def standin_environment(base: Path) -> dict[str, str]:
    env = environment(base)
    env["PYTHONPATH"] = os.pathsep.join([str(STANDIN), str(ROOT), env.get("PYTHONPATH", "")])
    return env


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    (tmp_path / "a").mkdir()
    running = Daemon(tmp_path / "a", "--presence", "auto", env=standin_environment(tmp_path / "a"))
    yield running
    if running.process.poll() is None:
        running.stop()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "Sync"
    path.mkdir()
    return path


def no_traceback(result: object) -> None:
    assert "Traceback" not in getattr(result, "stderr", ""), result


def test_a_group_is_set_up_joined_approved_and_a_device_removed(
    daemon: Daemon, folder: Path, tmp_path: Path
) -> None:
    status = daemon.cli("sync", "status")
    assert "Sync is not set up on this computer" in status.stdout
    assert json.loads(daemon.cli("sync", "status", "--json").stdout) == {"configured": False}

    result = daemon.cli("sync", "init", str(folder), "--name", "laptop")
    assert "Sync is set up: this computer (laptop) is the first in the group" in result.stdout

    # a second computer, its daemon not running: `join` works on its vault's files
    (tmp_path / "b").mkdir()
    env_b = standin_environment(tmp_path / "b")
    cli(env_b, "init")
    joined = cli(env_b, "sync", "join", str(folder), "--name", "desktop", "--json")
    request = json.loads(joined.stdout)
    assert request["fingerprint"] == fingerprint(request["deviceId"])
    human = cli(env_b, "sync", "status")
    assert "waiting to be approved by another computer" in human.stdout

    shown = daemon.cli("sync", "status")
    assert f"desktop ({request['deviceId']}) asks to join" in shown.stdout
    assert request["fingerprint"] in shown.stdout

    wrong = daemon.cli(
        "sync", "approve", request["deviceId"], "--fingerprint", "00000 00000", check=False
    )
    assert wrong.returncode == 1, wrong
    assert "is not the one this computer sees" in wrong.stderr
    no_traceback(wrong)

    approved = daemon.cli(
        "sync", "approve", request["deviceId"][:6], "--fingerprint", request["fingerprint"]
    )
    assert "desktop joined" in approved.stdout
    devices = json.loads(daemon.cli("sync", "devices", "--json").stdout)
    assert [(d["name"], d["thisDevice"], d["removed"]) for d in devices] == [
        ("laptop", True, False),
        ("desktop", False, False),
    ]
    assert set(devices[0]) == {
        "deviceId", "name", "fingerprint", "thisDevice", "removed", "lastSeq", "lastSeen",
    }  # fmt: skip

    unconfirmed = daemon.cli("sync", "remove", request["deviceId"], check=False)
    assert unconfirmed.returncode == 2 and "needs --yes" in unconfirmed.stderr
    removed = daemon.cli("sync", "remove", request["deviceId"], "--yes")
    assert "desktop was removed: it cannot read anything written from now on" in removed.stdout
    table = daemon.cli("sync", "devices").stdout
    assert "desktop" in table and "removed" in table


def test_bad_input_is_a_sentence_and_an_exit_code(daemon: Daemon, folder: Path) -> None:
    cases = [
        (("sync", "devices"), 1, "sync is not set up on this computer"),
        (("sync", "init", str(folder / "missing")), 2, "is not a folder"),
        (("sync", "init", str(folder), "--name", "x" * 65), 2, "1 to 64 characters"),
        (("sync", "approve", "abc"), 1, "sync is not set up"),
    ]
    for args, code, words in cases:
        result = daemon.cli(*args, check=False)
        assert result.returncode == code, (args, result)
        assert words in result.stderr, (args, result.stderr)
        no_traceback(result)
    daemon.cli("sync", "init", str(folder))
    again = daemon.cli("sync", "init", str(folder), check=False)
    assert again.returncode == 1 and "already syncs through" in again.stderr
    unknown = daemon.cli("sync", "approve", "ffff", "--fingerprint", "1", check=False)
    assert unknown.returncode == 6 and "has asked to join" in unknown.stderr
    missing = daemon.cli("sync", "remove", "ffff", "--yes", check=False)
    assert missing.returncode == 6 and "vauth sync devices" in missing.stderr
    no_traceback(unknown)


def test_the_socket_action_names_the_bad_field(daemon: Daemon) -> None:
    import asyncio

    from vauth.transport.unix_socket import Client

    async def ask(action: str, **params: object) -> dict[str, object]:
        client = await Client.connect(daemon.socket)
        try:
            return await client.call(action, **params)
        finally:
            await client.close()

    reply = asyncio.run(ask("sync.init", folder="relative/path", deviceName="x"))
    assert reply["ok"] is False
    error = reply["error"]
    assert isinstance(error, dict)
    assert error["code"] == "invalid argument" and "absolute path" in str(error["message"])
    reply = asyncio.run(ask("sync.approve", deviceId="abc"))
    error = reply["error"]
    assert isinstance(error, dict) and "fingerprint" in str(error["message"])
    assert asyncio.run(ask("status"))["ok"] is True  # the daemon keeps answering


def test_status_shows_refused_segments_and_why(daemon: Daemon, folder: Path) -> None:
    daemon.cli("sync", "init", str(folder))
    (folder / "refuse-me").write_text("")
    status = daemon.cli("sync", "status").stdout
    assert "Refused vauth/devices/x/seg-0000000002.vseg: its signature is not valid" in status


def test_without_the_daemon_a_wrong_passphrase_is_exit_5(tmp_path: Path, folder: Path) -> None:
    env = standin_environment(tmp_path)
    cli(env, "init")
    wrong = cli({**env, "VAUTH_PASSPHRASE": "not it"}, "sync", "status", check=False)
    assert wrong.returncode == 5, wrong
    no_traceback(wrong)


def calls(daemon: Daemon, what: str) -> list[float]:
    vault = Path(daemon.env["XDG_DATA_HOME"]) / "vauth" / "vault.db"
    log = Path(f"{vault}.standin-sync.json.calls")
    if not log.exists():
        return []
    return [
        float(t) for w, t in (line.split() for line in log.read_text().splitlines()) if w == what
    ]


def wait(condition: object, timeout: float = 10.0) -> float:
    import time

    start = time.monotonic()
    while not condition():  # type: ignore[operator]
        assert time.monotonic() - start < timeout, "timed out"
        time.sleep(0.02)
    return time.monotonic() - start


def test_the_daemon_merges_when_the_folder_changes_and_publishes_after_a_change(
    daemon: Daemon, folder: Path
) -> None:
    import asyncio

    from tests.support import creation
    from vauth.transport.unix_socket import Client

    assert calls(daemon, "merge") == []  # nothing before sync is set up
    daemon.cli("sync", "init", str(folder))
    wait(lambda: calls(daemon, "merge"))  # the catch-up merge once there is a folder
    merges = len(calls(daemon, "merge"))
    segment = folder / "vauth" / "devices" / "other" / "seg-0000000001.vseg"
    segment.parent.mkdir(parents=True)
    segment.write_bytes(b"from another computer")
    took = wait(lambda: len(calls(daemon, "merge")) > merges, timeout=5)
    assert took < 3  # the watcher, not the 30 s poll

    publishes = len(calls(daemon, "publish"))

    async def create() -> None:
        client = await Client.connect(daemon.socket)
        try:
            reply = await client.call(
                "create", origin="https://example.com", options=creation("alice")
            )
            assert reply["ok"], reply
        finally:
            await client.close()

    asyncio.run(create())
    wait(lambda: len(calls(daemon, "publish")) > publishes, timeout=5)
