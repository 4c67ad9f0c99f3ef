"""The `vauth` command as a person meets it: a real daemon, the CLI as a subprocess, and a
pseudo-terminal where it asks questions. Every failure is a sentence with its documented exit
code (README: 0 success, 1 failure, 2 usage, 3 daemon not running, 4 locked, 5 wrong
passphrase, 6 not found), never a traceback."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import ROOT, Daemon, b64, cli, creation, environment
from vauth.transport.unix_socket import Client

RECOVERY_KEY = re.compile(r"\b[0-9A-Z]{4}(?:-[0-9A-Z]{4}){7}\b")


def failed(result: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    """The command failed with ``code`` and said so in a sentence containing ``words``."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    for word in words:
        assert word in result.stderr, result.stderr


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    running = Daemon(tmp_path, "--presence", "auto")
    yield running
    if running.process.poll() is None:
        running.stop()


def with_passphrase(env: dict[str, str], passphrase: str) -> dict[str, str]:
    return {**env, "VAUTH_PASSPHRASE": passphrase}


async def _ceremony(
    socket_path: Path, action: str, options: dict[str, object]
) -> dict[str, object]:
    client = await Client.connect(socket_path)
    try:
        return await client.call(action, origin="https://example.com", options=options)
    finally:
        await client.close()


def ceremony(socket_path: Path, action: str, options: dict[str, object]) -> dict[str, object]:
    return asyncio.run(_ceremony(socket_path, action, options))


# -- item 1: the whole loss-of-passphrase story --------------------------------------------------


def test_lost_passphrase_recovered_with_the_daemon_down_and_up(tmp_path: Path) -> None:
    env = environment(tmp_path, "first passphrase, long forgotten")
    created = json.loads(cli(env, "init", "--json").stdout)
    first_key = created["recoveryKey"]
    key_file = tmp_path / "recovery.txt"
    key_file.write_text(first_key + "\n")

    running = Daemon(tmp_path, "--presence", "auto", env=env)
    made = ceremony(running.socket, "create", creation("alice"))
    assert made["ok"], made
    assert running.stop() == 0

    # The passphrase is lost. With the daemon down, the recovery key sets a new one on the files.
    second = with_passphrase(env, "second passphrase after recovery")
    recovered = cli(second, "recover", "--recovery-key-file", str(key_file))
    assert "new passphrase is set" in recovered.stdout
    failed(serve_fails(tmp_path, env), 5, "wrong passphrase")  # the old one is refused
    running = Daemon(tmp_path, "--presence", "auto", env=second)
    assert [c["userName"] for c in json.loads(running.cli("list", "--json").stdout)] == ["alice"]

    # With the daemon up and the vault locked: through the daemon, which unlocks.
    running.cli("lock")
    third = with_passphrase(env, "third passphrase, through the daemon")
    cli(third, "recover", "--recovery-key-file", str(key_file))
    assert json.loads(running.cli("status", "--json").stdout)["vault"]["locked"] is False
    running.cli("lock")
    failed(cli(second, "unlock", check=False), 5, "wrong passphrase")
    cli(third, "unlock")

    # A new recovery key (with the passphrase): shown once; the old key stops working.
    renewed = json.loads(cli(third, "recovery-key", "--new", "--json").stdout)
    second_key = renewed["recoveryKey"]
    assert RECOVERY_KEY.fullmatch(second_key) and second_key != first_key
    fourth = with_passphrase(env, "fourth passphrase")
    failed(
        cli(fourth, "recover", "--recovery-key-file", str(key_file), check=False),
        5,
        "recovery key does not open this vault",
    )
    key_file.write_text(second_key)
    cli(fourth, "recover", "--recovery-key-file", str(key_file))
    assert running.stop() == 0

    # Daemon down: the old key is refused on the files too, the new one works.
    key_file.write_text(first_key)
    failed(
        cli(second, "recover", "--recovery-key-file", str(key_file), check=False),
        5,
        "recovery key does not open this vault",
    )
    key_file.write_text(second_key.lower().replace("-", " "))  # as a person might type it
    cli(with_passphrase(env, "fifth passphrase"), "recover", "--recovery-key-file", str(key_file))
    running = Daemon(tmp_path, "--presence", "auto", env=with_passphrase(env, "fifth passphrase"))
    assert [c["userName"] for c in json.loads(running.cli("list", "--json").stdout)] == ["alice"]
    assert running.stop() == 0


def serve_fails(base: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`vauth serve` expected to exit at once (wrong passphrase, busy socket or port)."""
    return subprocess.run(
        [sys.executable, "-m", "vauth.cli", "serve", "--no-http"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_vault_made_without_a_terminal_says_how_to_get_a_recovery_key(tmp_path: Path) -> None:
    running = Daemon(tmp_path, "--presence", "auto")  # its stderr is a pipe, not a terminal
    log = "".join(running.log)
    assert "vauth recovery-key --new" in log
    assert not RECOVERY_KEY.search(log), "a recovery key was written to a log"
    key = json.loads(running.cli("recovery-key", "--new", "--json").stdout)["recoveryKey"]
    assert running.stop() == 0
    assert not RECOVERY_KEY.search("".join(running.log))
    (tmp_path / "key").write_text(key)
    env = with_passphrase(running.env, "a new passphrase of mine")
    cli(env, "recover", "--recovery-key-file", str(tmp_path / "key"))
    failed(serve_fails(tmp_path, running.env), 5)


def test_recovery_key_without_new_explains_itself(daemon: Daemon) -> None:
    failed(daemon.cli("recovery-key", check=False), 2, "recovery-key --new")


# -- item 8: sentences and exit codes instead of tracebacks ---------------------------------------


def test_export_to_an_existing_file_or_a_missing_folder(daemon: Daemon, tmp_path: Path) -> None:
    assert ceremony(daemon.socket, "create", creation("alice"))["ok"]
    existing = tmp_path / "existing.cxf"
    existing.write_bytes(b"keep me")
    failed(
        daemon.cli(
            "export", "--plaintext", "--i-understand-plaintext", "-o", str(existing), check=False
        ),
        1,
        "exists already",
    )
    assert existing.read_bytes() == b"keep me"
    missing = tmp_path / "no such folder" / "out.cxf"
    failed(
        daemon.cli(
            "export", "--plaintext", "--i-understand-plaintext", "-o", str(missing), check=False
        ),
        1,
        "does not exist",
    )


def test_import_with_a_wrong_passphrase_answers_5(daemon: Daemon, tmp_path: Path) -> None:
    assert ceremony(daemon.socket, "create", creation("alice"))["ok"]
    out = tmp_path / "passkeys.cxf"
    secret = tmp_path / "secret"
    secret.write_text("the export's own passphrase")
    daemon.cli("export", "-o", str(out), "--file-passphrase-file", str(secret))
    secret.write_text("not the export's passphrase")
    failed(
        daemon.cli("import", str(out), "--file-passphrase-file", str(secret), check=False),
        5,
        "wrong passphrase",
    )


def test_a_second_serve_on_the_same_socket(daemon: Daemon, tmp_path: Path) -> None:
    other_vault = tmp_path / "other.db"
    env = {**daemon.env, "VAUTH_VAULT": str(other_vault)}
    failed(serve_fails(tmp_path, env), 1, "already running")
    assert not other_vault.exists(), "a vault was made for a daemon that could not start"
    assert daemon.cli("status").returncode == 0


def test_a_busy_http_port(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = environment(tmp_path)
        result = subprocess.run(
            [sys.executable, "-m", "vauth.cli", "serve", "--http", f"127.0.0.1:{port}"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    failed(result, 1, "already using", "--no-http")
    assert not (tmp_path / "data" / "vauth" / "vault.db").exists()


def test_status_json_without_a_daemon(tmp_path: Path) -> None:
    result = cli(environment(tmp_path), "status", "--json", check=False)
    failed(result, 3, "not running")
    assert json.loads(result.stdout)["running"] is False


# -- item 12: a stale socket after a crash --------------------------------------------------------


def test_a_stale_socket_after_a_crash(tmp_path: Path) -> None:
    running = Daemon(tmp_path, "--presence", "auto")
    running.process.send_signal(signal.SIGKILL)
    running.process.wait(10)
    assert running.socket.exists()
    result = running.cli("status", check=False)
    failed(result, 3, "left over", "crashed", "vauth serve")
    assert "no socket" not in result.stderr
    again = Daemon(tmp_path, "--presence", "auto")  # replaces the stale socket
    assert again.cli("status").returncode == 0
    assert again.stop() == 0


# -- item 9: answering a waiting ceremony from the CLI --------------------------------------------


def test_prompts_listed_approved_and_denied_from_the_cli(tmp_path: Path) -> None:
    running = Daemon(tmp_path, "--presence", "prompt")
    replies: dict[str, dict[str, object]] = {}

    def start(name: str, action: str, options: dict[str, object]) -> threading.Thread:
        thread = threading.Thread(
            target=lambda: replies.__setitem__(name, ceremony(running.socket, action, options))
        )
        thread.start()
        return thread

    def waiting() -> list[dict[str, object]]:
        for _ in range(100):
            pending = json.loads(running.cli("prompts", "--json").stdout)
            if pending:
                return pending  # type: ignore[no-any-return]
            time.sleep(0.1)
        raise AssertionError("no prompt came")

    assert running.cli("prompts").stdout.strip() == "No request is waiting."
    for user in ("alice", "bob"):
        thread = start(user, "create", creation(user))
        prompt = waiting()[0]
        shown = running.cli("prompts").stdout
        assert "example.com asks to create a passkey" in shown
        assert f"{user.title()} ({user})" in shown and "kept in your vault" in shown
        assert "waiting for you" in running.cli("status").stdout
        assert "Approved" in running.cli("prompts", "approve", str(prompt["id"])).stdout
        thread.join(30)
        assert replies[user]["ok"], replies[user]

    thread = start("sign-in", "get", {"challenge": b64(b"c" * 32)})
    prompt = waiting()[0]
    shown = running.cli("prompts").stdout
    assert (
        "sign in with a passkey" in shown
        and "0: Bob (bob)" in shown
        and "1: Alice (alice)" in shown
    )
    running.cli("prompts", "approve", str(prompt["id"]), "--account", "1")
    thread.join(30)
    assert replies["sign-in"]["result"]["response"]["userHandle"] == b64(b"alice")  # type: ignore[index]

    thread = start("declined", "get", {"challenge": b64(b"d" * 32)})
    prompt = waiting()[0]
    assert "Declined" in running.cli("prompts", "deny", str(prompt["id"])).stdout
    thread.join(30)
    assert replies["declined"]["error"]["code"] == "NotAllowedError"  # type: ignore[index]
    failed(running.cli("prompts", "approve", str(prompt["id"]), check=False), 6, "no request")
    failed(running.cli("prompts", "approve", check=False), 2, "which request")
    assert running.stop() == 0


# -- item 10 (and declining delete): on a terminal ------------------------------------------------


class Terminal:
    """`vauth ARGS` on a pseudo-terminal (its controlling terminal), read and typed into."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: become vauth
            os.chdir(ROOT)
            os.execve(sys.executable, [sys.executable, "-m", "vauth.cli", *args], env)
        self.pid, self.fd, self.screen, self.seen = pid, fd, "", 0

    def expect(self, text: str, timeout: float = 60) -> str:
        """Everything shown since the last expectation, up to and including ``text``."""
        end = time.monotonic() + timeout
        while text not in self.screen[self.seen :]:
            left = end - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                raise AssertionError(f"{text!r} never appeared; the screen:\n{self.screen}")
            try:
                chunk = os.read(self.fd, 4096).decode(errors="replace")
            except OSError:
                chunk = ""
            if not chunk:
                raise AssertionError(f"{text!r} never appeared; the screen:\n{self.screen}")
            self.screen += chunk.replace("\r\n", "\n")
        start, self.seen = self.seen, self.screen.index(text, self.seen) + len(text)
        return self.screen[start : self.seen]

    def type(self, line: str) -> None:
        os.write(self.fd, line.encode() + b"\r")

    def wait(self, timeout: float = 60) -> int:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with contextlib.suppress(OSError):
                if select.select([self.fd], [], [], 0.1)[0]:
                    self.screen += os.read(self.fd, 4096).decode(errors="replace")
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, signal.SIGKILL)
        raise AssertionError("vauth did not exit:\n" + self.screen)


def terminal_env(base: Path) -> dict[str, str]:
    env = environment(base)
    del env["VAUTH_PASSPHRASE"]  # asked on the terminal
    return env


def test_init_on_a_terminal_warns_of_a_weak_passphrase_and_boxes_the_key(tmp_path: Path) -> None:
    term = Terminal(terminal_env(tmp_path), "init")
    term.expect("New vault passphrase:")
    term.type("a")
    warning = term.expect("Use it anyway? [y/N]")
    assert "This passphrase is weak" in warning
    assert "could guess it in about 3 seconds" in warning
    assert "0.5 s" in warning  # what one guess costs
    term.type("n")
    term.expect("New vault passphrase:")
    term.type("maple orbit lantern quietly seventeen")
    term.expect("Type it again:")
    term.type("maple orbit lantern quietly seventeen")
    screen = term.expect("Type the last 4 characters of the key to confirm you saved it:")
    key = RECOVERY_KEY.search(screen)
    assert key, screen
    box = screen[screen.index("+---") :]
    assert "Your recovery key" in box and "keep it away from this computer" in box
    assert "only way back" in box
    term.type("ZZZZ" if not key.group().endswith("ZZZZ") else "0000")
    term.expect("That is not how the key ends")
    term.type(key.group()[-4:].lower())
    term.expect("Thank you")
    assert term.wait() == 0
    assert (tmp_path / "data" / "vauth" / "vault.db").exists()


def test_serve_on_a_terminal_boxes_the_key_before_any_log_line(tmp_path: Path) -> None:
    term = Terminal(terminal_env(tmp_path), "serve", "--no-http", "--presence", "auto")
    term.expect("New vault passphrase:")
    term.type("maple orbit lantern quietly seventeen")
    term.expect("Type it again:")
    term.type("maple orbit lantern quietly seventeen")
    screen = term.expect("confirm you saved it:")
    assert '"level"' not in screen, "a log line came before the recovery key was confirmed"
    key = RECOVERY_KEY.search(screen)
    assert key
    term.type(key.group()[-4:])
    after = term.expect("vauth: ready")
    assert not RECOVERY_KEY.search(after), "the key was shown twice"
    os.kill(term.pid, signal.SIGTERM)
    assert term.wait() == 0


def test_declining_delete_on_a_terminal_says_so(daemon: Daemon) -> None:
    made = ceremony(daemon.socket, "create", creation("alice"))
    credential_id = str(made["result"]["id"])  # type: ignore[index]
    term = Terminal(daemon.env, "delete", credential_id[:8])
    # Issue 11 item 15: the question names the passkey, not only its ID.
    term.expect("Move the passkey for Alice (alice) on example.com (ID")
    term.expect("you can restore it for 30 days. [y/N]")
    term.type("n")
    term.expect("nothing was deleted")
    assert term.wait() == 1
    assert len(json.loads(daemon.cli("list", "--json").stdout)) == 1


def test_show_rename_and_delete_speak_plainly(daemon: Daemon) -> None:
    """Issue 11 item 15: no "backup eligible False", no "renamed to ''"; after a delete, what to
    do on the site, which still lists the passkey."""
    made = ceremony(daemon.socket, "create", creation("bea"))
    prefix = str(made["result"]["id"])[:10]  # type: ignore[index]
    shown = daemon.cli("show", "--", prefix).stdout
    assert "backup eligible" not in shown and "False" not in shown
    assert "Copies:    kept on this computer only" in shown
    assert (
        daemon.cli("rename", "--", prefix, "Home").stdout.strip() == "Renamed it \u201cHome\u201d."
    )
    assert daemon.cli("rename", "--", prefix, "").stdout.strip() == "Removed its nickname."
    deleted = daemon.cli("delete", "--yes", "--", prefix).stdout
    assert "Moved the passkey for Bea (bea) on example.com to the trash" in deleted
    assert "example.com still lists it" in deleted and "sign in to the site" in deleted


# -- issue 20: every argument says what it is ------------------------------------------------------


def _parsers(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """``parser`` and every subcommand's parser below it, with the words that reach each."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*path, name))


def test_every_subcommand_help_gives_every_argument_a_help_text() -> None:
    """Issue 20: 18 arguments had no help text (`serve --log-level`, `rename id nickname`, ...).
    Each subcommand's --help is asked for, as a person would, and every argument it takes must
    be explained there; the only argument without a help is the hidden old spelling
    --passphrase-file, kept working where it meant the same passphrase."""
    from vauth.cli import main, parser

    walked = list(_parsers(parser()))
    assert len(walked) > 30  # every command, sync's and native-host's included
    for path, command in walked:
        shown = io.StringIO()
        with contextlib.redirect_stdout(shown), pytest.raises(SystemExit) as exited:
            main([*path, "--help"])
        assert exited.value.code == 0, path
        text = " ".join(shown.getvalue().split())
        for action in command._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            if action.help == argparse.SUPPRESS:
                assert action.option_strings == ["--passphrase-file"], (path, action)
                assert "--passphrase-file" not in text, path
                continue
            name = "/".join(action.option_strings) or action.dest
            assert action.help, f"vauth {' '.join(path)}: {name} has no help text"
            assert " ".join(action.help.split()) in text, (path, name)
            for choice in getattr(action, "_choices_actions", []):
                assert choice.help, f"vauth {' '.join(path)} {choice.dest} has no help text"


@pytest.mark.parametrize("command", ["status", "list", "lock", "token", "show", "trash", "audit"])
def test_commands_that_take_no_passphrase_offer_no_passphrase_flag(
    command: str, tmp_path: Path
) -> None:
    """Issue 20: --passphrase-file was offered by commands that read no passphrase."""
    args = [command, "x"] if command == "show" else [command]
    result = cli(environment(tmp_path), *args, "--passphrase-file", "f", check=False)
    failed(result, 2, "unrecognized arguments: --passphrase-file")


def test_passphrase_flags_are_named_for_what_they_read() -> None:
    """Issue 20: each flag says which passphrase it reads; help says so, and VAUTH_PASSPHRASE
    is the vault's (for `init`, `serve` and `recover`: the one to set)."""
    from vauth.cli import parser

    helps = {path: command.format_help() for path, command in _parsers(parser())}
    for path in [("init",), ("serve",), ("unlock",), ("recovery-key",), ("sync", "status")]:
        assert "--vault-passphrase-file FILE" in helps[path], path
        assert "--new-passphrase-file" not in helps[path], path
    assert "--new-passphrase-file FILE" in helps[("recover",)]
    assert "--vault-passphrase-file" not in helps[("recover",)]
    changing = " ".join(helps[("passphrase",)].split())
    assert "--vault-passphrase-file FILE read the current passphrase" in changing
    assert "--new-passphrase-file FILE read the new passphrase" in changing
