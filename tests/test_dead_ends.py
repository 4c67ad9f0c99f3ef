"""Issue 20: the dead ends a walk-through of the README found, each as a person meets it: a real
daemon, the CLI as a subprocess, and a pseudo-terminal where vauth asks questions. Every advice
names a command that works here, and the test runs that very command."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support import PASSPHRASE, ROOT, Daemon, b64, cli, creation, environment
from tests.test_cli import Terminal, ceremony, failed, terminal_env, with_passphrase
from vauth.transport.unix_socket import Client

VAUTH = Path(sys.executable).parent / "vauth"  # the script this installation put in place
ADVICE = re.compile(r"`([^`]+)`")


def bare(env: dict[str, str]) -> dict[str, str]:
    """``env`` with a PATH that does not find this installation's `vauth` (the README's
    `pip install` into .venv/bin, never activated)."""
    return {**env, "PATH": "/usr/bin:/bin"}


def advised(text: str) -> str:
    """The command a sentence tells the person to run (the first in `backticks`)."""
    found = ADVICE.search(text)
    assert found, text
    return found.group(1)


def serve_as_advised(command: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """Run the command vauth advised, as a person pasting it into a shell would, until ready."""
    process = subprocess.Popen(
        [*shlex.split(command), "--no-http"],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:
        if "vauth: ready" in line:
            return process
    raise AssertionError(f"{command!r} did not start the daemon")


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0


# -- advice names a command that works for someone who followed the README ------------------------


def test_daemon_down_advice_names_this_vauth_when_path_does_not_find_it(tmp_path: Path) -> None:
    """Installed into .venv/bin, not on PATH: the advice is the full path, and it works."""
    env = bare(environment(tmp_path))
    cli(env, "init")
    result = cli(env, "status", check=False)
    failed(result, 3, "not running")
    command = advised(result.stderr)
    assert command == f"{VAUTH} serve", result.stderr
    daemon = serve_as_advised(command, env)
    try:
        assert "is unlocked" in cli(env, "status").stdout
        # Every other command it names is spelled the same way.
        refused = cli(env, "recovery-key", check=False)
        assert f"`{VAUTH} recovery-key --new`" in refused.stderr
    finally:
        stop(daemon)


def test_daemon_down_advice_is_plain_vauth_when_path_finds_this_one(tmp_path: Path) -> None:
    """pipx links the script into ~/.local/bin: on PATH, `vauth serve` is what to type."""
    linked = tmp_path / "local-bin"
    linked.mkdir()
    (linked / "vauth").symlink_to(VAUTH)
    env = {**environment(tmp_path), "PATH": f"{linked}:/usr/bin:/bin"}
    cli(env, "init")
    result = cli(env, "status", check=False)
    assert advised(result.stderr) == "vauth serve"
    daemon = serve_as_advised("vauth serve", env)
    stop(daemon)


def test_another_vauth_on_path_is_not_advised(tmp_path: Path) -> None:
    other = tmp_path / "other-bin"
    other.mkdir()
    (other / "vauth").write_text("#!/bin/sh\necho 'not this vauth'\nexit 1\n")
    (other / "vauth").chmod(0o755)
    env = {**environment(tmp_path), "PATH": f"{other}:/usr/bin:/bin"}
    result = cli(env, "status", check=False)
    assert advised(result.stderr) == f"{VAUTH} serve"


def test_daemon_down_advice_names_the_user_unit_when_installed(tmp_path: Path) -> None:
    """`vauth service install` writes a systemd user unit: then systemd starts the daemon."""
    env = environment(tmp_path)
    unit = Path(env["XDG_CONFIG_HOME"]) / "systemd" / "user" / "vauth.service"
    unit.parent.mkdir(parents=True)
    unit.write_text(f"[Service]\nExecStart={VAUTH} serve\n")
    result = cli(env, "status", check=False)
    assert advised(result.stderr) == "systemctl --user start vauth"


# -- passphrases: more tries, checked first --------------------------------------------------------


def test_serve_gives_three_tries_at_the_passphrase(tmp_path: Path) -> None:
    """One typo at `vauth serve`'s prompt used to end the daemon; as sudo does, three tries."""
    env = terminal_env(tmp_path)
    cli(with_passphrase(env, PASSPHRASE), "init")
    term = Terminal(env, "serve", "--no-http", "--presence", "auto")
    for typo in ("daemon test passphrasf", "daemon test"):
        term.expect("Vault passphrase:")
        term.type(typo)
        term.expect("That passphrase does not open the vault. Try again.")
    term.expect("Vault passphrase:")
    term.type(PASSPHRASE)
    term.expect("vauth: ready")
    os.kill(term.pid, signal.SIGTERM)
    assert term.wait() == 0

    term = Terminal(env, "serve", "--no-http")
    for _ in range(3):
        term.expect("Vault passphrase:")
        term.type("wrong")
    term.expect("3 wrong passphrases: the vault was not opened")
    assert term.wait() == 5
    assert "Traceback" not in term.screen


def test_serve_from_a_file_does_not_retry(tmp_path: Path) -> None:
    env = environment(tmp_path)
    cli(env, "init")
    wrong = tmp_path / "wrong"
    wrong.write_text("not it\n")
    result = subprocess.run(
        [sys.executable, "-m", "vauth.cli", "serve", "--no-http", "--vault-passphrase-file",
         str(wrong)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    failed(result, 5, "wrong passphrase")
    assert "Try again" not in result.stderr


@pytest.mark.parametrize("running", [False, True], ids=["daemon down", "daemon up"])
def test_recover_checks_the_key_before_asking_for_a_new_passphrase(
    tmp_path: Path, running: bool
) -> None:
    env = terminal_env(tmp_path)
    cli(with_passphrase(env, PASSPHRASE), "init")
    daemon = Daemon(tmp_path, env=with_passphrase(env, PASSPHRASE)) if running else None
    key = tmp_path / "key"
    key.write_text("AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA\n")
    term = Terminal(env, "recover", "--recovery-key-file", str(key))
    term.expect("recovery key does not open this vault")
    assert term.wait() == 5
    assert "passphrase:" not in term.screen.lower(), term.screen
    if daemon is not None:
        assert daemon.stop() == 0


def test_unlock_without_a_daemon_says_so_before_asking(tmp_path: Path) -> None:
    env = terminal_env(tmp_path)
    term = Terminal(env, "unlock")
    term.expect("the vauth daemon is not running")
    assert term.wait() == 3
    assert "passphrase" not in term.screen.lower(), term.screen


def test_passphrase_flags_do_what_they_say(tmp_path: Path) -> None:
    """--vault-passphrase-file and --new-passphrase-file, with no terminal and no
    VAUTH_PASSPHRASE; --passphrase-file, the old spelling, still works where it meant the same."""
    env = {k: v for k, v in environment(tmp_path).items() if k != "VAUTH_PASSPHRASE"}
    first, second, third = (tmp_path / name for name in ("first", "second", "third"))
    first.write_text("maple orbit lantern quietly seventeen\n")
    second.write_text("copper violin meadow gently forty\n")
    third.write_text("walnut harbor ribbon slowly ninety\n")
    key = json.loads(cli(env, "init", "--json", "--vault-passphrase-file", str(first)).stdout)
    daemon = subprocess.Popen(
        [sys.executable, "-m", "vauth.cli", "serve", "--no-http", "--passphrase-file", str(first)],
        env=env, cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert daemon.stderr is not None
    assert any("vauth: ready" in line for line in daemon.stderr)
    try:
        cli(env, "lock")
        cli(env, "unlock", "--vault-passphrase-file", str(first))
        cli(env, "passphrase", "--vault-passphrase-file", str(first),
            "--new-passphrase-file", str(second))  # fmt: skip
        cli(env, "lock")
        failed(cli(env, "unlock", "--passphrase-file", str(first), check=False), 5)
        cli(env, "unlock", "--passphrase-file", str(second))  # the old spelling
        (tmp_path / "key").write_text(key["recoveryKey"])
        cli(env, "recover", "--recovery-key-file", str(tmp_path / "key"),
            "--new-passphrase-file", str(third))  # fmt: skip
        cli(env, "lock")
        cli(env, "unlock", "--vault-passphrase-file", str(third))
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(30) == 0


# -- sentences, not tracebacks ---------------------------------------------------------------------


def test_init_where_no_vault_can_be_made(tmp_path: Path) -> None:
    env = environment(tmp_path)
    failed(cli(env, "init", "--vault", "/proc/x/v.db", check=False), 1, "cannot create the vault")
    failed(cli(env, "init", "--vault", str(tmp_path), check=False), 2, "is a folder")
    term = Terminal(terminal_env(tmp_path), "init", "--vault", "/proc/x/v.db")
    term.expect("cannot create the vault")  # said before a passphrase is asked for
    assert term.wait() != 0 and "passphrase" not in term.screen.lower()


def test_a_recovery_key_file_that_is_binary(tmp_path: Path) -> None:
    env = environment(tmp_path)
    cli(env, "init")
    binary = tmp_path / "key.bin"
    binary.write_bytes(bytes(range(256)))
    failed(
        cli(env, "recover", "--recovery-key-file", str(binary), check=False),
        2,
        "does not hold a recovery key: it is not text",
    )
    failed(
        cli(env, "recover", "--recovery-key-file", "/dev/zero", check=False),
        2,
        "does not hold a recovery key",
    )


def test_serve_on_a_port_that_cannot_be(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "vauth.cli", "serve", "--http", "127.0.0.1:99999"],
        env=environment(tmp_path), cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    failed(result, 2, "a port from 0 to 65535")
    assert not (tmp_path / "data" / "vauth" / "vault.db").exists()


def test_a_passphrase_file_that_is_binary_or_endless(tmp_path: Path) -> None:
    daemon = Daemon(tmp_path, "--presence", "auto")
    daemon.cli("lock")
    binary = tmp_path / "passphrase.bin"
    binary.write_bytes(b"\xff\xfe\x00secret\x80")
    result = daemon.cli("unlock", "--vault-passphrase-file", str(binary), check=False)
    failed(result, 2, "does not hold a passphrase: it is not text")
    result = daemon.cli("unlock", "--vault-passphrase-file", "/dev/zero", check=False)
    failed(result, 2, "does not hold a passphrase: it is larger than")
    assert daemon.stop() == 0


def test_serve_with_its_socket_on_a_file_keeps_the_file(tmp_path: Path) -> None:
    """A typo in --socket must not cost a file (it was deleted to make room for the socket)."""
    notes = tmp_path / "notes.txt"
    notes.write_text("keep me")
    result = subprocess.run(
        [sys.executable, "-m", "vauth.cli", "serve", "--ephemeral", "--no-http", "--socket",
         str(notes)],
        env=environment(tmp_path), cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    failed(result, 1, "is not a socket")
    assert notes.read_text() == "keep me"
    result = subprocess.run(
        [sys.executable, "-m", "vauth.cli", "serve", "--ephemeral", "--no-http", "--socket",
         "/proc/x/vauth.sock"],
        env=environment(tmp_path), cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    failed(result, 1, "cannot make the folder /proc/x")


def test_a_backup_where_none_can_be_written(tmp_path: Path) -> None:
    daemon = Daemon(tmp_path, "--presence", "auto")
    failed(daemon.cli("backup", "/proc/x/backup.db", check=False), 1, "cannot write the backup")
    assert daemon.stop() == 0


# -- the parser ------------------------------------------------------------------------------------


def test_an_unknown_option_is_named(tmp_path: Path) -> None:
    env = environment(tmp_path)
    failed(cli(env, "--bogus", check=False), 2, "--bogus")
    failed(cli(env, "list", "--bogus", check=False), 2, "--bogus")
    failed(cli(env, check=False), 2, "choose a command")


@pytest.mark.parametrize("value", ["-5", "0", "nan", "inf", "soon"])
def test_idle_lock_takes_a_positive_number_of_seconds(tmp_path: Path, value: str) -> None:
    result = cli(environment(tmp_path), "serve", "--idle-lock", value, "--ephemeral", check=False)
    failed(result, 2, "--idle-lock", "seconds above 0")


def _credential_starting_with_a_dash() -> dict[str, Any]:
    """WebDriver Credential Parameters whose base64url ID begins with "-" (first byte 0xF8)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return {
        "credentialId": b64(b"\xf8" + os.urandom(15)),
        "isResidentCredential": True,
        "rpId": "example.com",
        "privateKey": b64(key),
        "userHandle": b64(b"dana"),
        "userName": "dana",
        "signCount": 0,
    }


def test_an_id_beginning_with_a_dash_is_an_id(tmp_path: Path) -> None:
    """IDs are base64url: one in 64 begins with "-", which needed `--` before it."""
    daemon = Daemon(tmp_path, "--presence", "auto")
    credential = _credential_starting_with_a_dash()
    dashed = credential["credentialId"]
    assert dashed.startswith("-")
    exported = tmp_path / "one.json"
    exported.write_text(json.dumps([credential]))
    daemon.cli("import", str(exported))
    prefix = dashed[:8]
    assert json.loads(daemon.cli("show", prefix, "--json").stdout)["credentialId"] == dashed
    assert "Renamed it" in daemon.cli("rename", prefix, "-work-").stdout  # a nickname too
    assert daemon.cli("audit", "--credential", prefix, "--json").returncode == 0
    assert "Moved" in daemon.cli("delete", prefix, "--yes").stdout
    assert "Restored" in daemon.cli("restore", prefix).stdout
    failed(daemon.cli("show", "-nothing", check=False), 6, "no passkey with an ID starting '-n")
    assert daemon.stop() == 0


# -- what the daemon says ------------------------------------------------------------------------


def test_the_log_is_readable_lines_on_a_terminal(tmp_path: Path) -> None:
    """After the first-run dialogue the log was JSON on a terminal too."""
    env = terminal_env(tmp_path)
    secret = tmp_path / "passphrase"
    secret.write_text(PASSPHRASE)
    cli(with_passphrase(env, PASSPHRASE), "init")
    term = Terminal(env, "serve", "--no-http", "--vault-passphrase-file", str(secret))
    shown = term.expect("vauth: ready")
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d info: vault open: ", shown, re.M), shown
    assert '{"time"' not in shown
    os.kill(term.pid, signal.SIGTERM)
    assert term.wait() == 0
    term = Terminal(
        env, "serve", "--no-http", "--vault-passphrase-file", str(secret), "--log-format", "json"
    )
    shown = term.expect("vauth: ready")
    assert any(json.loads(line)["message"].startswith("vault open") for line in
               shown.splitlines() if line.startswith("{\"time\""))  # fmt: skip
    os.kill(term.pid, signal.SIGTERM)
    assert term.wait() == 0
    daemon = Daemon(tmp_path, env=with_passphrase(env, PASSPHRASE))  # a pipe: JSON lines
    assert all(json.loads(line) for line in daemon.log if line.startswith("{"))
    assert any(line.startswith('{"time"') for line in daemon.log)
    assert daemon.stop() == 0


def test_a_weak_passphrase_is_said_plainly() -> None:
    from vauth.cli import passphrase_weakness

    warning = passphrase_weakness("password")
    assert warning is not None
    assert "could guess it in less than a second" in warning and "about less" not in warning
    assert "could guess it in about 3 seconds" in str(passphrase_weakness("a"))


def test_an_export_into_a_fresh_vault_keeps_the_authenticator_name(tmp_path: Path) -> None:
    """The README says exports carry the name: a move must not change the
    authenticatorDisplayName sites see (WebAuthn L3 10.1.3, credProps)."""
    old, new, named = (tmp_path / name for name in ("old", "new", "named"))
    for base in (old, new, named):
        base.mkdir()
    source = Daemon(old, "--presence", "auto")
    source.cli("name", "Grace's laptop")
    assert ceremony(source.socket, "create", creation("grace"))["ok"]
    export = tmp_path / "passkeys.cxf"
    source.cli("export", "--plaintext", "--i-understand-plaintext", "-o", str(export))
    assert source.stop() == 0

    target = Daemon(new, "--presence", "auto")
    target.cli("import", str(export))
    assert json.loads(target.cli("name", "--json").stdout)["displayName"] == "Grace's laptop"
    options = {**creation("henry"), "extensions": {"credProps": True}}
    reply = ceremony(target.socket, "create", options)
    credprops = reply["result"]["clientExtensionResults"]["credProps"]  # type: ignore[index]
    assert credprops["authenticatorDisplayName"] == "Grace's laptop"
    assert target.stop() == 0

    chosen = Daemon(named, "--presence", "auto")  # a name of its own is never replaced
    chosen.cli("name", "Henry's desktop")
    chosen.cli("import", str(export))
    assert json.loads(chosen.cli("name", "--json").stdout)["displayName"] == "Henry's desktop"
    assert chosen.stop() == 0


def test_the_audit_log_says_who_asked_for_each_ceremony(tmp_path: Path) -> None:
    """The options page's "By" column was empty for "Created" and "Signed in"."""
    import urllib.request

    daemon = Daemon(tmp_path, "--presence", "auto", "--http", "127.0.0.1:0")
    assert ceremony(daemon.socket, "create", creation("ines"))["ok"]
    assert ceremony(daemon.socket, "get", {"challenge": b64(b"c" * 32)})["ok"]
    request = urllib.request.Request(
        f"{daemon.http_url}/webauthn/authenticator/vault/get",
        data=json.dumps(
            {"origin": "https://example.com", "options": {"challenge": b64(b"d" * 32)}}
        ).encode(),
        headers={"Authorization": f"Bearer {daemon.token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # loopback
        assert answer.status == 200
    entries = json.loads(daemon.cli("audit", "--json").stdout)
    assert [(e["ceremony"], e["actor"]) for e in reversed(entries)] == [
        ("makeCredential", "the site https://example.com"),
        ("getAssertion", "the site https://example.com"),
        ("getAssertion", "a tester through the HTTP API, as https://example.com"),
    ]
    assert "the site https://example.com" in daemon.cli("audit").stdout
    assert daemon.stop() == 0


def test_a_ceremony_ended_by_stopping_the_daemon_says_so(tmp_path: Path) -> None:
    """The window closed without a word: now the reply says why (the page still sees only
    NotAllowedError) and how to start vauth again."""
    daemon = Daemon(tmp_path, "--presence", "prompt")
    replies: list[dict[str, object]] = []

    async def create() -> None:
        client = await Client.connect(daemon.socket)
        try:
            replies.append(
                await client.call("create", origin="https://example.com", options=creation("jo"))
            )
        finally:
            await client.close()

    thread = threading.Thread(target=lambda: asyncio.run(create()))
    thread.start()
    for _ in range(100):
        if json.loads(daemon.cli("prompts", "--json").stdout):
            break
        time.sleep(0.1)
    assert daemon.stop() == 0
    thread.join(30)
    error = replies[0]["error"]
    assert error["code"] == "stopping", error  # type: ignore[index]
    assert "vauth stopped before you answered" in error["message"]  # type: ignore[index]
    assert "`vauth serve`" in error["message"]  # type: ignore[index]
