"""The ``vauth`` command: run the daemon, and see and manage every passkey through it.

Exit codes: 0 success, 1 failure, 2 usage, 3 daemon not running, 4 vault locked,
5 wrong passphrase, 6 not found, 7 unsafe socket (another user could reach or serve it).
`vauth sync ...` uses the same codes (a refused fingerprint or a sync failure is 1).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import dataclasses
import datetime
import getpass
import json
import math
import os
import stat
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vauth import __version__, paths
from vauth.secret import FileTooLarge, Secret, read_terminal, take_environment, wipe
from vauth.secret import read_file as secret_file

if TYPE_CHECKING:
    from vauth.app.device import Configuration

TRASH_DAYS = 30  # vauth.vault.store.TRASH_DAYS (not imported: the CLI starts fast)
NOT_DISCOVERABLE_NOTE = (
    " (the site must say which passkey to use, so you give it your account name first; "
    "the key is sealed inside the ID the site keeps, and deleting it here stops it working)"
)
EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_NO_DAEMON, EXIT_LOCKED, EXIT_PASSPHRASE, EXIT_NOT_FOUND = (
    0, 1, 2, 3, 4, 5, 6,
)  # fmt: skip
EXIT_UNSAFE_SOCKET = 7
_EXIT_FOR_CODE = {
    "vault_locked": EXIT_LOCKED,
    "wrong_passphrase": EXIT_PASSPHRASE,
    "no such credential": EXIT_NOT_FOUND,
    "no such authenticator": EXIT_NOT_FOUND,
    "no vault": EXIT_NOT_FOUND,
}


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.code = code


# -- passphrases --------------------------------------------------------------------------------

# Each flag is named for the passphrase it reads (the vault's; a new one to set); VAUTH_PASSPHRASE
# gives the vault's (for `init` and `recover`, the one to set).
VAULT_FILE, NEW_FILE = "vault_passphrase_file", "new_passphrase_file"
MAX_PASSPHRASE_FILE = 64 * 1024  # more is not a passphrase (/dev/zero, a wrong file name)


def read_passphrase(
    args: argparse.Namespace,
    prompt: str = "Vault passphrase: ",
    confirm: bool = False,
    flag: str = VAULT_FILE,
) -> str:
    """From the file ``flag`` names, VAUTH_PASSPHRASE, or a prompt on the terminal (as text,
    for a request to the daemon)."""
    return _passphrase_text(getattr(args, flag, None), prompt, confirm, flag)


def _passphrase_text(file: str | None, prompt: str, confirm: bool = False, flag: str = "") -> str:
    """From ``file``, VAUTH_PASSPHRASE or the terminal, as text; the buffer read is wiped."""
    secret = _read_secret(file, prompt, confirm, os.environ.get("VAUTH_PASSPHRASE"), flag)
    try:
        return secret.decode("utf-8")
    except UnicodeDecodeError:
        raise _not_text(file) from None
    finally:
        wipe(secret)


def _check_text(secret: bytearray, file: str | None) -> None:
    """A passphrase travels to the daemon as text: refuse bytes that are not UTF-8."""
    try:
        wipe(secret.decode("utf-8"))
    except UnicodeDecodeError:
        raise _not_text(file) from None


def _not_text(file: str | None) -> CliError:
    if file is None:
        return CliError("the passphrase is not text (UTF-8)", EXIT_USAGE)
    return CliError(
        f"the file {file} does not hold a passphrase: it is not text (UTF-8). A passphrase "
        "file holds the passphrase as a line of text",
        EXIT_USAGE,
    )


def read_secret(
    args: argparse.Namespace,
    prompt: str = "Vault passphrase: ",
    confirm: bool = False,
    flag: str = VAULT_FILE,
) -> bytearray:
    """The passphrase as read_passphrase finds it, for this process's own use of the vault
    (``serve``, ``init``): VAUTH_PASSPHRASE is taken out of the environment, and the buffer
    is the caller's to wipe."""
    from_environment = take_environment("VAUTH_PASSPHRASE")
    try:
        return _read_secret(getattr(args, flag, None), prompt, confirm, from_environment, flag)
    finally:
        wipe(from_environment)


def _read_secret(
    file: str | None,
    prompt: str,
    confirm: bool,
    environment: str | bytearray | None,
    flag: str = VAULT_FILE,
) -> bytearray:
    if file:
        return _read_passphrase_file(file)
    if environment:
        return bytearray(environment, "utf-8") if isinstance(environment, str) else environment[:]
    if not sys.stdin.isatty():
        raise CliError(_no_passphrase(flag), EXIT_USAGE)
    return _read_typed(prompt, confirm)


def _no_passphrase(flag: str, environment: bool = True) -> str:
    option = "--" + (flag or VAULT_FILE).replace("_", "-")
    either = ", set VAUTH_PASSPHRASE," if environment else ""
    return f"no passphrase: give {option}{either} or run on a terminal"


def _read_passphrase_file(file: str) -> bytearray:
    try:
        return secret_file(file, MAX_PASSPHRASE_FILE)
    except FileTooLarge:
        raise CliError(
            f"{file} does not hold a passphrase: it is larger than {MAX_PASSPHRASE_FILE} bytes",
            EXIT_USAGE,
        ) from None
    except OSError as exc:
        raise CliError(f"cannot read the passphrase file {file}: {exc.strerror}") from None


def _read_typed(prompt: str, confirm: bool) -> bytearray:
    """A passphrase typed on the terminal (twice with ``confirm``), never empty."""
    passphrase = read_terminal(prompt)
    if confirm:
        again = read_terminal("Again: ")
        differ = again != passphrase
        wipe(again)
        if differ:
            wipe(passphrase)
            raise CliError("the passphrases differ", EXIT_USAGE)
    if not passphrase:
        raise CliError("the passphrase is empty", EXIT_USAGE)
    return passphrase


# Offline guessing: each guess costs one Argon2id derivation with the vault's parameters, about
# 0.5 s on one core of an ordinary computer (bench/kdf_cost.py measures it).
GUESS_COST_S = 0.5
STRONG_ENOUGH = 3  # zxcvbn's score (0-4): 3 is "safely unguessable", 4 "very unguessable"


def _on_terminal() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def passphrase_weakness(passphrase: str) -> str | None:
    """A sentence saying why ``passphrase`` is weak and how long guessing it would take, or None.

    zxcvbn (Dropbox's estimator, as KeePassXC and Bitwarden use) counts the guesses an attacker
    trying common words, names, dates and patterns first would need; the vault's key derivation
    sets what one guess costs."""
    from zxcvbn import zxcvbn
    from zxcvbn.time_estimates import display_time

    estimate = zxcvbn(passphrase[:100])  # its cost grows with length; 100 characters say enough
    if estimate["score"] >= STRONG_ENOUGH:
        return None
    seconds = float(estimate["guesses"]) / 2 * GUESS_COST_S  # half the guesses, on average
    feedback = estimate["feedback"]
    advice = " ".join(filter(None, [feedback.get("warning"), *feedback.get("suggestions", [])]))
    return (
        "This passphrase is weak: someone who gets a copy of your vault could guess it "
        f"{_within(display_time(seconds))} with one ordinary computer (each guess costs about "
        f"{GUESS_COST_S:g} s there, and a bigger machine is faster). "
        + (advice + " " if advice else "")
        + "A few unrelated words make a strong passphrase that is easy to remember."
    )


def _within(duration: str) -> str:
    """zxcvbn's duration after "guess it": "in about 3 hours", "in less than a second"."""
    if duration in ("less than a second", "centuries"):
        return f"in {duration}"
    return f"in about {duration}"


def read_new_passphrase(
    args: argparse.Namespace,
    prompt: str = "New vault passphrase: ",
    flag: str = VAULT_FILE,
    environment: bool = True,
) -> bytearray:
    """A passphrase to set, in a buffer the caller wipes: asked twice on a terminal, with a
    warning (and a second chance) if it is weak; from the file ``flag`` names or (with
    ``environment``) VAUTH_PASSPHRASE (taken out of the environment), with the warning on
    stderr. It must be text: the daemon is sent it as text when it unlocks the vault."""
    file = getattr(args, flag, None)
    if file or (environment and os.environ.get("VAUTH_PASSPHRASE")):
        passphrase = (
            read_secret(args, flag=flag) if environment else _read_passphrase_file(str(file))
        )
        if not passphrase:
            raise CliError("the new passphrase is empty", EXIT_USAGE)
        _check_text(passphrase, file)
        weakness = _weakness(passphrase)
        if weakness:
            print(f"vauth: warning: {weakness}", file=sys.stderr)
        return passphrase
    if not sys.stdin.isatty():
        raise CliError(_no_passphrase(flag, environment), EXIT_USAGE)
    while True:
        passphrase = read_terminal(prompt)
        if not passphrase:
            print("The passphrase cannot be empty. Choose one.")
            continue
        _check_text(passphrase, None)
        weakness = _weakness(passphrase)
        if weakness:
            print(weakness)
            answer = input("Use it anyway? [y/N] ").strip().lower()
            if answer not in ("y", "yes"):
                wipe(passphrase)
                continue
        again = read_terminal("Type it again: ")
        same = again == passphrase
        wipe(again)
        if same:
            return passphrase
        wipe(passphrase)
        print("The two passphrases differ. Choose one again.")


def _weakness(passphrase: bytearray) -> str | None:
    """passphrase_weakness of a buffer; the text made for the estimator is wiped after."""
    text = passphrase.decode("utf-8", "surrogateescape")
    try:
        return passphrase_weakness(text)
    finally:
        wipe(text)


def show_recovery_key(recovery: str) -> None:
    """On a terminal: the key in a box with what to do with it, then a confirmation that the
    person saved it (its last 4 characters). Elsewhere: the key and the advice, plainly."""
    advice = [
        "This is the only way back into your passkeys if you forget your",
        "passphrase. It is shown only now.",
        "Write it down or print it, and keep it away from this computer:",
        "anyone with this key and a copy of your vault can open it.",
    ]
    if not _on_terminal():
        print(f"Recovery key: {recovery}\n" + " ".join(advice))
        return
    width = max(len(line) for line in advice) + 4
    rule = "+" + "-" * width + "+"
    lines = ["Your recovery key", "", f"    {recovery}", "", *advice]
    print("\n" + "\n".join([rule, *(f"|  {line.ljust(width - 2)}|" for line in lines), rule]))
    while True:
        try:
            typed = input("Type the last 4 characters of the key to confirm you saved it: ")
        except EOFError:
            typed = ""
        if typed.strip().upper() == recovery[-4:]:
            print("Thank you. Keep it safe.\n")
            return
        print("That is not how the key ends. Look at the key again and type its last 4 characters.")


# -- talking to the daemon ----------------------------------------------------------------------


def _socket(args: argparse.Namespace) -> Path:
    return Path(args.socket) if args.socket else paths.default_socket()


async def _call(args: argparse.Namespace, action: str, **params: Any) -> Any:
    from vauth.transport.unix_socket import Client, UntrustedSocket

    socket_path = _socket(args)
    try:
        client = await Client.connect(socket_path)
    except UntrustedSocket as exc:
        raise CliError(str(exc), EXIT_UNSAFE_SOCKET) from None
    except OSError as exc:
        raise _connect_error(socket_path, exc) from None
    try:
        reply = await client.call(action, **params)
    except ConnectionError:
        raise CliError(
            "the vauth daemon stopped before it answered; see its log, and start it again "
            f"with `{paths.start_command()}`",
            EXIT_NO_DAEMON,
        ) from None
    finally:
        await client.close()
    return _result(reply)


def _result(reply: dict[str, Any]) -> Any:
    """An action's result, or its refusal as a CliError with the documented exit code."""
    if not reply.get("ok"):
        error = reply.get("error", {})
        code = _EXIT_FOR_CODE.get(error.get("code"), EXIT_FAILURE)
        raise CliError(str(error.get("message", "the daemon refused")), code)
    return reply.get("result")


def _connect_error(socket_path: Path, exc: OSError) -> CliError:
    """Why the daemon's socket did not answer, in a sentence."""
    if isinstance(exc, FileNotFoundError):
        return CliError(
            f"the vauth daemon is not running (nothing at {socket_path}); "
            f"start it with `{paths.start_command()}`",
            EXIT_NO_DAEMON,
        )
    if isinstance(exc, ConnectionRefusedError):
        return CliError(
            f"the vauth daemon is not running: {socket_path} is left over from a daemon that "
            "stopped without cleaning up (it probably crashed; its log may say why). Start it "
            f"again with `{paths.start_command()}`, which replaces the stale socket",
            EXIT_NO_DAEMON,
        )
    if isinstance(exc, PermissionError):
        return CliError(
            f"vauth may not open the daemon's socket {socket_path} (it belongs to another "
            "user or its permissions were changed); run vauth as the user who started it",
        )
    return CliError(
        f"vauth cannot reach the daemon at {socket_path}: {exc.strerror or exc}", EXIT_NO_DAEMON
    )


def call(args: argparse.Namespace, action: str, **params: Any) -> Any:
    """The daemon's result for ``action``; a ``progress=`` callable receives (done, total)."""
    return asyncio.run(_call(args, action, **params))


def output(args: argparse.Namespace, value: Any, human: str | None = None) -> None:
    if args.json:
        print(json.dumps(value, indent=2))
    elif human is not None:
        print(typed(human))


def typed(text: str) -> str:
    """A sentence with its `vauth ...` commands (the CLI's and the daemon's) as a person must
    type them to reach this installation (paths.vauth_command: its full path when the `vauth`
    on PATH is not this one)."""
    if "`vauth " not in text:
        return text
    command = paths.vauth_command()
    return text if command == "vauth" else text.replace("`vauth ", f"`{command} ")


def _when(ms: int | None) -> str:
    if not ms:
        return "never"
    return datetime.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M")


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


# -- commands -----------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    path = _vault_path(args)
    _vault_folder(path)  # before the passphrase is asked for
    if path.exists():
        raise CliError(f"a vault exists already at {path}")
    passphrase = read_new_passphrase(args)
    try:
        recovery = _create_vault(path, passphrase)
    finally:
        wipe(passphrase)
    if args.json:
        output(args, {"vault": str(path), "recoveryKey": recovery})
    else:
        print(f"Created the vault {path}.")
        show_recovery_key(recovery)
    return EXIT_OK


def _vault_path(args: argparse.Namespace) -> Path:
    return Path(args.vault) if getattr(args, "vault", None) else paths.default_vault()


def _existing_vault(args: argparse.Namespace) -> Path:
    """The vault's path, for a command that works on its files with no daemon running."""
    path = _vault_path(args)
    if not path.exists():
        raise CliError(f"there is no vault at {path}; create one with `vauth init`", EXIT_NOT_FOUND)
    return path


@contextlib.contextmanager
def _vault_errors() -> Iterator[None]:
    """A vault's refusal as the CLI's sentence and exit code (5 for a wrong passphrase)."""
    from vauth.vault import VaultError, WrongPassphraseError

    try:
        yield
    except WrongPassphraseError as error:
        raise CliError(str(error), EXIT_PASSPHRASE) from None
    except VaultError as error:
        raise CliError(str(error)) from None


def _vault_folder(path: Path) -> None:
    """Refuse, before a passphrase is asked for, a new vault at ``path`` that cannot be made
    there (what only creating it can tell is said when it is made)."""
    if path.is_dir():
        raise CliError(
            f"{path} is a folder: give the vault's file name, such as {path / 'vault.db'}",
            EXIT_USAGE,
        )
    existing, missing = path.absolute().parent, None
    while not existing.exists() and existing != existing.parent:
        existing, missing = existing.parent, existing
    if not existing.is_dir():
        raise CliError(f"vauth cannot create the vault {path}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise CliError(f"vauth cannot create the vault {path}: it may not write in {existing}")
    if missing is not None:  # can its folder be made there? (try, leaving nothing behind)
        try:
            missing.mkdir(mode=0o700)
            missing.rmdir()
        except OSError as exc:
            raise CliError(_cannot_create(path, exc)) from None


def _cannot_create(path: Path, exc: OSError) -> str:
    where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(path) else ""
    return f"vauth cannot create the vault {path}: {exc.strerror or exc}{where}"


def _create_vault(path: Path, passphrase: Secret) -> str:
    from vauth.vault import Vault

    try:
        vault = Vault.open(path, passphrase)
    except OSError as exc:
        raise CliError(_cannot_create(path, exc)) from None
    recovery = vault.recovery_key
    vault.close()
    assert recovery is not None
    return recovery


PASSPHRASE_TRIES = 3  # at `vauth serve`'s prompt, as sudo gives


def cmd_serve(args: argparse.Namespace) -> int:
    from vauth.daemon import root as daemon
    from vauth.vault import VaultError, WrongPassphraseError

    daemon.configure_logging(args.log_level, args.log_format)
    http = None if args.no_http else _host_port(args.http)
    if args.uhid and not os.access("/dev/uhid", os.R_OK | os.W_OK):
        raise CliError("--uhid needs read and write access to /dev/uhid (root, or a udev rule)")
    settings = daemon.Settings(
        authenticator=_authenticator_options(args),
        vault=None if args.ephemeral else _vault_path(args),
        passphrase=None,
        socket=_socket(args),
        http=http,
        token_file=paths.token_file(),
        presence=args.presence,
        idle_lock_s=args.idle_lock,
        uhid=args.uhid,
    )
    if args.locked and args.ephemeral:
        raise CliError("--locked is for a vault: an --ephemeral authenticator has none", EXIT_USAGE)
    if args.locked and getattr(args, VAULT_FILE, None):
        raise CliError(
            f"--locked starts the vault locked, so it reads no passphrase: drop --locked or "
            f"--{VAULT_FILE.replace('_', '-')}",
            EXIT_USAGE,
        )
    from vauth.transport.unix_socket import SocketSetupError, UnsafeDirectory

    try:
        # Before a vault is made and its key shown: can this daemon run at all?
        asyncio.run(daemon.preflight(settings))
        if settings.vault is None:
            return asyncio.run(daemon.serve(settings))
        if args.locked:
            if not settings.vault.exists():
                raise CliError(
                    f"there is no vault at {settings.vault} to start locked: a new vault needs "
                    "its passphrase, so run `vauth serve` once without --locked to make it"
                )
            return asyncio.run(daemon.serve(settings))
        if not settings.vault.exists():
            return _serve_new_vault(args, settings)
        return _serve_vault(args, settings)
    except daemon.StartupError as exc:
        raise CliError(str(exc)) from None
    except VaultError as exc:
        code = EXIT_PASSPHRASE if isinstance(exc, WrongPassphraseError) else EXIT_FAILURE
        raise CliError(str(exc), code) from None
    except SocketSetupError as exc:
        code = EXIT_UNSAFE_SOCKET if isinstance(exc, UnsafeDirectory) else EXIT_FAILURE
        raise CliError(str(exc), code) from None
    except KeyboardInterrupt:
        return EXIT_OK


def _serve_new_vault(args: argparse.Namespace, settings: Any) -> int:
    """Ask for a new passphrase, make the vault (showing its key on a terminal), and serve it."""
    from vauth.daemon import root as daemon

    vault = settings.vault
    _vault_folder(vault)
    passphrase = read_new_passphrase(args)
    try:
        if _on_terminal():  # show the key in its box before any log line
            print(f"Creating a new vault at {vault}.")
            show_recovery_key(_create_vault(vault, passphrase))
        return asyncio.run(daemon.serve(dataclasses.replace(settings, passphrase=passphrase)))
    except OSError as exc:
        raise CliError(_cannot_create(vault, exc)) from None
    finally:
        wipe(passphrase)


def _serve_vault(args: argparse.Namespace, settings: Any) -> int:
    """Serve an existing vault; a passphrase typed on the terminal may be retyped, up to
    PASSPHRASE_TRIES times in all."""
    from vauth.daemon import root as daemon
    from vauth.vault import WrongPassphraseError

    typed = not (getattr(args, VAULT_FILE, None) or os.environ.get("VAUTH_PASSPHRASE"))
    for attempt in range(1, PASSPHRASE_TRIES + 1):
        passphrase = read_secret(args, "Vault passphrase: ")
        try:
            return asyncio.run(daemon.serve(dataclasses.replace(settings, passphrase=passphrase)))
        except WrongPassphraseError:
            if not typed:
                raise
            if attempt == PASSPHRASE_TRIES:
                raise CliError(
                    f"{PASSPHRASE_TRIES} wrong passphrases: the vault was not opened and nothing "
                    "was changed",
                    EXIT_PASSPHRASE,
                ) from None
            print("That passphrase does not open the vault. Try again.", file=sys.stderr)
        finally:
            wipe(passphrase)
    raise AssertionError("unreachable")


def _authenticator_options(args: argparse.Namespace) -> Configuration | None:
    """--authenticator: a W3C WebDriver / CDP Authenticator Configuration, as JSON, for the
    ephemeral authenticator (--ephemeral)."""
    if args.authenticator is None:
        return None
    if not args.ephemeral:
        raise CliError("--authenticator configures an --ephemeral authenticator only", EXIT_USAGE)
    from vauth.app.device import Configuration
    from vauth.inputs import InvalidInput, loads, parse

    try:
        members = loads(args.authenticator)
        if not isinstance(members, dict):
            raise InvalidInput("", "not a JSON object")
        options = parse(Configuration, members, closed=True)
    except InvalidInput as exc:
        raise CliError(f"--authenticator: {exc.message}", EXIT_USAGE) from None
    from vauth.app.device import UnsupportedOption, configuration_parts

    try:
        configuration_parts(options)
    except (UnsupportedOption, ValueError, TypeError) as exc:
        raise CliError(f"--authenticator: {exc}", EXIT_USAGE) from None
    return options


def _host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        raise CliError(
            f"--http wants HOST:PORT with a port from 0 to 65535 (0: any free one), not {value!r}",
            EXIT_USAGE,
        )
    host = host.strip("[]")
    if host not in ("127.0.0.1", "::1", "localhost"):
        raise CliError("the HTTP API listens on loopback only (127.0.0.1, ::1)", EXIT_USAGE)
    return host, int(port)


def cmd_status(args: argparse.Namespace) -> int:
    try:
        status = {"running": True, **call(args, "status")}
    except CliError as exc:
        if args.json and exc.code == EXIT_NO_DAEMON:  # a script still gets an answer it can read
            print(json.dumps({"running": False, "message": str(exc)}, indent=2))
        raise
    vault = status["vault"]
    if vault is None:
        text = "The daemon is running with an ephemeral authenticator (no vault)."
    else:
        state = "locked" if vault["locked"] else "unlocked"
        text = f"The daemon is running; the vault {vault['path']} is {state}."
    name = status.get("displayName")
    text += f'\nThis authenticator is called "{name}".' if name else ""
    waiting = status["pendingPrompts"]
    if waiting:
        text += (
            f"\n{waiting} request{'s' if waiting > 1 else ''} from a site "
            f"{'are' if waiting > 1 else 'is'} waiting for you: see `vauth prompts`."
        )
    output(args, status, text)
    return EXIT_OK


def cmd_unlock(args: argparse.Namespace) -> int:
    vault = call(args, "status")["vault"]  # no daemon: say so before asking for the passphrase
    if vault is None:
        raise CliError(
            "the running daemon keeps no vault (it was started with --ephemeral), so there is "
            "nothing to unlock",
            EXIT_NOT_FOUND,
        )
    if not vault["locked"]:
        output(args, {"locked": False}, "The vault is unlocked already.")
        return EXIT_OK
    call(args, "unlock", passphrase=read_passphrase(args))
    output(args, {"locked": False}, "vault unlocked")
    return EXIT_OK


def cmd_lock(args: argparse.Namespace) -> int:
    call(args, "lock")
    output(args, {"locked": True}, "vault locked: no key material is left in memory")
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    credentials = call(args, "credentials.list", rpId=args.rp)
    rows = [
        [
            c["credentialId"][:12],
            c["rpId"],
            c.get("userName") or "",
            c.get("nickname") or "",
            _when(c["created"]),
            _when(c.get("lastUsed")),
            _kind(c),
        ]
        for c in credentials
    ]
    human = (
        _table(rows, ["ID", "SITE", "ACCOUNT", "NICKNAME", "CREATED", "LAST USED", "KIND"])
        if rows
        else "no passkeys"
    )
    output(args, credentials, human)
    return EXIT_OK


def _kind(c: dict[str, Any]) -> str:
    return "discoverable" if c.get("discoverable", True) else "not discoverable"


def _site(c: dict[str, Any]) -> str:
    return str(c.get("rpId") or "(an older security-key site)")


def _resolve(args: argparse.Namespace, prefix: str, action: str = "credentials.list") -> str:
    """A credential ID from a unique prefix (as `vauth list` or `vauth trash` shows them)."""
    matches = [
        c["credentialId"] for c in call(args, action) if c["credentialId"].startswith(prefix)
    ]
    if not matches:
        where = " in the trash" if action == "trash.list" else ""
        raise CliError(f"no passkey{where} with an ID starting {prefix!r}", EXIT_NOT_FOUND)
    if len(matches) > 1:
        raise CliError(
            f"{prefix!r} matches {len(matches)} passkeys; give more of the ID", EXIT_USAGE
        )
    return str(matches[0])


def cmd_show(args: argparse.Namespace) -> int:
    detail = call(args, "credentials.show", credentialId=_resolve(args, args.id))
    lines = [
        f"ID:        {detail['credentialId']}",
        f"Site:      {_site(detail)}",
        f"Account:   {detail.get('userName') or ''} ({detail.get('userDisplayName') or ''})",
        f"Nickname:  {detail.get('nickname') or ''}",
        f"Created:   {_when(detail['created'])}",
        f"Last used: {_when(detail.get('lastUsed'))}",
        f"Kind:      {_kind(detail)}"
        + ("" if detail.get("discoverable", True) else NOT_DISCOVERABLE_NOTE),
        f"Copies:    {_copies(detail)}",
        "History (uses and changes):",
    ]
    lines += [
        f"  {_when(u['at'])}  {u['ceremony']:16} {u['outcome']}"
        + (f"  by {u['actor']}" if u.get("actor") else "")
        for u in detail["uses"]
    ]
    output(args, detail, "\n".join(lines))
    return EXIT_OK


def _copies(detail: dict[str, Any]) -> str:
    """The backup flags (BE, BS) in words."""
    if not detail.get("backupEligibility"):
        return "kept on this computer only (not synced or backed up by a passkey service)"
    if detail.get("backupState"):
        return "may be copied to your other devices, and has been"
    return "may be copied to your other devices; it has not been yet"


def _named(c: dict[str, Any]) -> str:
    """A passkey as a person knows it: its account and site (the ID only if nothing else)."""
    user, display = c.get("userName"), c.get("userDisplayName")
    name = f"{display} ({user})" if user and display and user != display else display or user
    if c.get("nickname"):
        name = f"\u201c{c['nickname']}\u201d, {name}" if name else f"\u201c{c['nickname']}\u201d"
    return f"the passkey for {name} on {_site(c)}" if name else f"the passkey on {_site(c)}"


def cmd_rename(args: argparse.Namespace) -> int:
    credential_id = _resolve(args, args.id)
    call(args, "credentials.rename", credentialId=credential_id, nickname=args.nickname, via="cli")
    nickname = (args.nickname or "").strip()
    output(
        args,
        {"credentialId": credential_id, "nickname": args.nickname},
        f"Renamed it \u201c{nickname}\u201d." if nickname else "Removed its nickname.",
    )
    return EXIT_OK


def cmd_name(args: argparse.Namespace) -> int:
    if args.display_name is None:
        name = call(args, "status").get("displayName")
        human = (
            f'This authenticator is called "{name}".'
            if name
            else "This authenticator has no name yet. Give it one with `vauth name NAME`."
        )
        output(args, {"displayName": name}, human)
        return EXIT_OK
    call(args, "authenticator.name", displayName=args.display_name)
    output(
        args,
        {"displayName": args.display_name},
        f'This authenticator is now called "{args.display_name}".',
    )
    return EXIT_OK


def cmd_delete(args: argparse.Namespace) -> int:
    credential_id = _resolve(args, args.id)
    shown = call(args, "credentials.show", credentialId=credential_id)
    if not args.yes:
        if not sys.stdin.isatty():
            raise CliError("deleting needs --yes when not on a terminal", EXIT_USAGE)
        answer = input(
            f"Move {_named(shown)} (ID {credential_id[:12]}…) to the trash? It stops working at "
            f"once; you can restore it for {TRASH_DAYS} days. [y/N] "
        )
        if answer.strip().lower() not in ("y", "yes"):
            raise CliError("nothing was deleted: you did not confirm")
    result = call(args, "credentials.delete", credentialId=credential_id, via="cli")
    output(
        args,
        {"deleted": credential_id, **(result or {})},
        f"Moved {_named(shown)} to the trash. It no longer works; to bring it back within "
        f"{TRASH_DAYS} days, run `vauth restore {credential_id[:12]}`.\n"
        f"{_site(shown)} still lists it among your passkeys: to remove it there too, sign in to "
        "the site, open your account's security or passkey settings and delete it.",
    )
    return EXIT_OK


def cmd_trash(args: argparse.Namespace) -> int:
    if args.empty:
        trashed = call(args, "trash.list")
        if not trashed:
            output(args, {"deleted": 0}, "The trash is empty.")
            return EXIT_OK
        if not args.yes:
            if not sys.stdin.isatty():
                raise CliError("emptying the trash needs --yes when not on a terminal", EXIT_USAGE)
            answer = input(
                f"Delete the {len(trashed)} passkey(s) in the trash for good? This cannot be "
                "undone. [y/N] "
            )
            if answer.strip().lower() not in ("y", "yes"):
                raise CliError("nothing was deleted: you did not confirm")
        result = call(args, "trash.empty", via="cli")
        output(args, result, f"Deleted {result['deleted']} passkey(s) for good.")
        return EXIT_OK
    trashed = call(args, "trash.list")
    rows = [
        [
            t["credentialId"][:12],
            _site(t),
            t.get("userName") or "",
            _when(t["deletedAt"]),
            t.get("deletedBy") or "",
            _when(t["purgeAt"]),
        ]
        for t in trashed
    ]
    human = (
        _table(rows, ["ID", "SITE", "ACCOUNT", "DELETED", "BY", "GONE FOR GOOD"])
        + "\nRestore one with `vauth restore ID`."
        if rows
        else "The trash is empty."
    )
    output(args, trashed, human)
    return EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    credential_id = _resolve(args, args.id, "trash.list")
    restored = call(args, "trash.restore", credentialId=credential_id, via="cli")
    output(args, restored, f"Restored: it works again at {_site(restored)}.")
    return EXIT_OK


PLAINTEXT_WARNING = (
    "An unencrypted export writes every private key in the vault as plain text: anyone who "
    "gets the file can sign in as you on every site it holds."
)
PLAINTEXT_WORD = "plaintext"


def _confirm_plaintext(args: argparse.Namespace) -> None:
    """A second, explicit yes to an unencrypted export: a typed word on a terminal, else
    --i-understand-plaintext."""
    if args.i_understand_plaintext:
        return
    if not sys.stdin.isatty():
        raise CliError(
            f"{PLAINTEXT_WARNING} Without a terminal to confirm it on, add "
            "--i-understand-plaintext to export anyway.",
            EXIT_USAGE,
        )
    print(PLAINTEXT_WARNING, file=sys.stderr)
    print(f"Type {PLAINTEXT_WORD} to go on: ", end="", file=sys.stderr, flush=True)
    if sys.stdin.readline().strip() != PLAINTEXT_WORD:
        raise CliError("nothing was exported", EXIT_USAGE)


# -- moving passkeys in and out (export, import) -----------------------------------------------

EXPORT_NEEDS = "an export carries every private key, so it needs the vault passphrase"
IMPORT_NEEDS = "the vault is locked or the daemon is not running, so importing needs its passphrase"
MAX_IMPORT_FILE = 64 << 20  # vauth.vault.sources.MAX_FILE_SIZE


def _vault_passphrase(args: argparse.Namespace, why: str = EXPORT_NEEDS) -> str:
    """The vault's passphrase: --vault-passphrase-file, VAUTH_PASSPHRASE, or the terminal."""
    file = getattr(args, "vault_passphrase_file", None)
    if not file and not os.environ.get("VAUTH_PASSPHRASE") and not sys.stdin.isatty():
        raise CliError(
            f"{why}: give --vault-passphrase-file, set VAUTH_PASSPHRASE, or run on a terminal",
            EXIT_USAGE,
        )
    return _passphrase_text(file, "Vault passphrase: ")


def _file_passphrase(args: argparse.Namespace, prompt: str, confirm: bool = False) -> str:
    """The passphrase of the file imported or exported: --file-passphrase-file or the
    terminal, never VAUTH_PASSPHRASE (which is the vault's)."""
    file = args.file_passphrase_file
    if not file and not sys.stdin.isatty():
        raise CliError(
            "the file has a passphrase of its own: give --file-passphrase-file, or run on a "
            "terminal",
            EXIT_USAGE,
        )
    secret = _read_passphrase_file(file) if file else _read_typed(prompt, confirm)
    try:
        return secret.decode("utf-8", "surrogateescape")
    finally:
        wipe(secret)


def _whose_passphrase(args: argparse.Namespace) -> None:
    """Import and export read two passphrases: a flag must say whose it reads."""
    if getattr(args, "passphrase_file", None):
        raise CliError(
            "--passphrase-file does not say whose passphrase it is here: give the file's with "
            "--file-passphrase-file and the vault's with --vault-passphrase-file",
            EXIT_USAGE,
        )


class _OnTheVault:
    """Import and export's way to the vault: through the daemon when it runs (unlocking it
    first, with the vault passphrase, if it is locked), else on the vault's files in this
    process, through the same actions the daemon runs."""

    def __init__(self, args: argparse.Namespace, why: str) -> None:
        self.args, self.why = args, why
        self._passphrase: str | None = None
        self._runner: asyncio.Runner | None = None
        self._service: Any = None

    def vault_passphrase(self) -> str:
        if self._passphrase is None:
            self._passphrase = _vault_passphrase(self.args, self.why)
        return self._passphrase

    def __enter__(self) -> _OnTheVault:
        try:
            vault = call(self.args, "status").get("vault")
        except CliError as exc:
            if exc.code != EXIT_NO_DAEMON:
                raise
            path = _existing_vault(self.args)  # no vault yet: say `vauth init`, ask nothing
            self._runner = asyncio.Runner()
            self._service = self._runner.run(_open_vault(path, self.vault_passphrase()))
            return self
        if vault is not None and vault.get("locked"):
            call(self.args, "unlock", passphrase=self.vault_passphrase())
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            self._service.close()
            self._runner.close()
        wipe(self._passphrase)

    def call(self, action: str, **params: Any) -> Any:
        if self._runner is None:
            return call(self.args, action, **params)
        return self._runner.run(_dispatch(self._service, action, params))


async def _open_vault(path: Path, passphrase: str) -> Any:
    """A Service on the vault's files, as the daemon's, with no one to ask for presence."""
    from vauth.app.device import Device
    from vauth.app.presence import DenyPresence
    from vauth.app.service import Prompts, Service

    with _vault_errors():
        device = await Device.open_vault(path, passphrase, DenyPresence())
    return Service(device, Prompts(), "deny")


async def _dispatch(service: Any, action: str, params: dict[str, Any]) -> Any:
    """``action`` run in this process exactly as the daemon's socket runs it."""
    from vauth.daemon.actions import dispatcher

    progress = params.pop("progress", None)

    async def notify(message: dict[str, Any]) -> None:
        if progress is not None:
            progress(message["progress"]["done"], message["progress"]["total"])

    request = {"id": 0, "action": action, "params": {**params, "progress": progress is not None}}
    return _result(await dispatcher(service)(request, notify))


def cmd_export(args: argparse.Namespace) -> int:
    _whose_passphrase(args)
    if args.plaintext and args.format == "keepassxc":
        raise CliError(
            "a KeePass database is always encrypted: leave out --plaintext and choose a "
            "passphrase for it",
            EXIT_USAGE,
        )
    to_file = args.output not in (None, "-")
    if args.format == "keepassxc" and not to_file and sys.stdout.isatty():
        raise CliError("a KeePass database is not text: give -o FILE.kdbx", EXIT_USAGE)
    with _OnTheVault(args, EXPORT_NEEDS) as vault:
        notice = vault.call("export.notice", format=args.format)
        print(f"Exporting {notice['count']} passkey(s). {notice['notice']}", file=sys.stderr)
        if args.plaintext:
            _confirm_plaintext(args)
        vault_passphrase = vault.vault_passphrase()
        passphrase = None
        if not args.plaintext:
            passphrase = _file_passphrase(args, "Passphrase for the export: ", confirm=True)
        fd = _create_export_file(args.output) if to_file else None  # before the slow work
        try:
            result = vault.call(
                "export",
                format=args.format,
                passphrase=passphrase,
                plaintext=args.plaintext,
                vaultPassphrase=vault_passphrase,
            )
        except BaseException:
            if fd is not None:
                os.close(fd)
                os.unlink(args.output)
            raise
    data = base64.b64decode(result["data"], validate=True)
    if fd is None:
        sys.stdout.buffer.write(data)
        return EXIT_OK
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    print(
        f"exported to {args.output}" + (" (NOT encrypted)" if args.plaintext else ""),
        file=sys.stderr,
    )
    return EXIT_OK


def _create_export_file(name: str) -> int:
    """A new file only its owner can read; a sentence if it cannot be made."""
    try:
        return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CliError(
            f"{name} exists already, and vauth does not overwrite it; choose another name or "
            "remove it first"
        ) from None
    except FileNotFoundError:
        folder = Path(name).parent
        raise CliError(
            f"the folder {folder} does not exist; create it first or choose another place"
        ) from None
    except IsADirectoryError:
        raise CliError(f"{name} is a folder; give the name of a file to write") from None
    except OSError as exc:
        raise CliError(f"vauth cannot write {name}: {exc.strerror or exc}") from None


def _read_import_file(name: str) -> bytes:
    """The file to import, refused with a sentence if it is not a file or over the limit."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise CliError(f"cannot read {name}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise CliError(f"{name} is not a file: give the file to import")
        if info.st_size > MAX_IMPORT_FILE:
            raise CliError(
                f"{name} is {info.st_size} bytes, over the {MAX_IMPORT_FILE}-byte limit of an "
                "import: nothing was imported"
            )
        return file.read(MAX_IMPORT_FILE + 1)


def cmd_import(args: argparse.Namespace) -> int:
    from vauth.vault.sources import needs_passphrase

    _whose_passphrase(args)
    data = _read_import_file(args.file)
    passphrase = None
    if needs_passphrase(data):
        passphrase = _file_passphrase(args, "Passphrase of the file: ")
    show = sys.stderr.isatty() and not args.json
    drawn = False

    def progress(done: int, total: int) -> None:
        nonlocal drawn
        if show and total:
            drawn = True
            width = 30
            filled = width * done // total
            print(
                f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}",
                end="",
                file=sys.stderr,
                flush=True,
            )

    try:
        with _OnTheVault(args, IMPORT_NEEDS) as vault:
            report = vault.call(
                "import",
                progress=progress,
                data=base64.b64encode(data).decode(),
                passphrase=passphrase,
                via="cli",
            )
    finally:
        if drawn:
            print(file=sys.stderr)  # end the progress bar's line
    imported, skipped = len(report["imported"]), report["skipped"]
    if args.json:
        shown = [
            {"site": s["rpId"], "account": s["userName"], "reason": s["reason"]} for s in skipped
        ]
        print(json.dumps({"imported": imported, "skipped": shown}, indent=2))
    else:
        lines = [f"Imported {imported} passkey{'' if imported == 1 else 's'}."]
        lines += [f"Skipped {s['sentence']}" for s in skipped]
        lines += [f"Warning: {w}" for w in report["warnings"]]
        print("\n".join(lines))
    if not imported:
        everything_known = all(s["reason"] == "already present" for s in skipped)
        raise CliError(
            "nothing was imported: "
            + (
                "every passkey in the file is already in your vault"
                if everything_known
                else f"none of the {len(skipped)} passkeys in the file could be used (each is "
                "listed with the reason)"
            )
        )
    return EXIT_OK


def cmd_audit(args: argparse.Namespace) -> int:
    credential_id = _resolve(args, args.credential) if args.credential else None
    entries = call(args, "audit", credentialId=credential_id, limit=args.limit)
    rows = [
        [
            _when(e["at"]),
            e["ceremony"],
            e.get("rpId") or "",
            (e.get("credentialId") or "")[:12],
            e["outcome"],
            e.get("actor") or "",
            e.get("detail") or "",
        ]
        for e in entries
    ]
    human = (
        _table(rows, ["WHEN", "WHAT", "SITE", "PASSKEY", "OUTCOME", "BY", "DETAIL"])
        if rows
        else "no ceremonies yet"
    )
    output(args, entries, human)
    return EXIT_OK


def cmd_passphrase(args: argparse.Namespace) -> int:
    call(args, "status")  # no daemon: say so before asking for anything
    old = read_passphrase(args, "Current passphrase: ")
    new = read_new_passphrase(args, "New passphrase: ", NEW_FILE, environment=False)
    text = new.decode("utf-8")
    try:
        call(args, "passphrase", old=old, new=text)
    finally:
        wipe(old, new, text)
    output(args, {"changed": True}, "passphrase changed")
    return EXIT_OK


def cmd_backup(args: argparse.Namespace) -> int:
    # The daemon's working directory is not ours: send the path as this shell means it.
    destination = os.path.abspath(os.path.expanduser(args.destination))
    result = call(args, "backup", destination=destination)
    output(args, result, f"backed up to {result['backup']} (and its key file, .keys)")
    return EXIT_OK


MAX_RECOVERY_KEY_FILE = 4096  # a recovery key is 39 characters


def _read_recovery_key(args: argparse.Namespace) -> str:
    file = args.recovery_key_file
    if not file:
        if not sys.stdin.isatty():
            raise CliError(
                "no recovery key: give --recovery-key-file, or run on a terminal", EXIT_USAGE
            )
        return getpass.getpass("Recovery key (the 32 characters you saved, dashes optional): ")
    not_a_key = f"{file} does not hold a recovery key"
    try:
        raw = secret_file(file, MAX_RECOVERY_KEY_FILE)
    except FileTooLarge:
        raise CliError(f"{not_a_key}: it is far too large", EXIT_USAGE) from None
    except OSError as exc:
        raise CliError(f"cannot read the recovery key file {file}: {exc.strerror}") from None
    try:
        return raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise CliError(
            f"{not_a_key}: it is not text. Put in it the key as vauth showed it (32 letters and "
            "digits; dashes and spaces do not matter)",
            EXIT_USAGE,
        ) from None
    finally:
        wipe(raw)


def cmd_recover(args: argparse.Namespace) -> int:
    """Set a new passphrase with the recovery key: through the daemon if it runs, else on the
    vault's files directly (the database is not changed, only its key file). The key is checked
    before the new passphrase is asked for."""
    from vauth.vault import Vault

    recovery = _read_recovery_key(args)
    try:
        with _vault_errors():
            Vault.check_recovery_key(_recovery_vault(args), recovery)
    except CliError as exc:
        raise _recovery_error(exc) from None
    new = read_new_passphrase(args, "New passphrase: ", NEW_FILE)
    try:
        where = _recover(args, recovery, new)
    finally:
        wipe(new)
    output(args, {"recovered": True}, f"Your new passphrase is set; {where}.")
    return EXIT_OK


def _recovery_vault(args: argparse.Namespace) -> Path:
    """The vault a recovery key is for: the running daemon's, else the one on disk."""
    try:
        vault = call(args, "status")["vault"]
    except CliError as exc:
        if exc.code != EXIT_NO_DAEMON:
            raise
        return _existing_vault(args)
    if vault is None:
        raise CliError(
            "the running daemon keeps no vault (it was started with --ephemeral): stop it, "
            "then run this again to recover the vault on disk",
            EXIT_NOT_FOUND,
        )
    return Path(vault["path"])


def _recover(args: argparse.Namespace, recovery: str, new: bytearray) -> str:
    """Where the new passphrase was set: through the daemon, or on the vault's files."""
    from vauth.vault import Vault, VaultError, WrongPassphraseError

    try:
        call(args, "recover", recoveryKey=recovery, new=new.decode("utf-8", "surrogateescape"))
        return "the vault is unlocked"
    except CliError as exc:
        if exc.code != EXIT_NO_DAEMON:
            raise _recovery_error(exc) from None
        path = _existing_vault(args)
        try:
            Vault.recover(path, recovery, new).close()
        except WrongPassphraseError:
            raise _recovery_error(CliError("", EXIT_PASSPHRASE)) from None
        except VaultError as vault_error:
            raise CliError(str(vault_error)) from None
        return f"start the daemon with `{paths.start_command()}` and the new passphrase"


def _recovery_error(exc: CliError) -> CliError:
    if exc.code == EXIT_PASSPHRASE:
        return CliError(
            "that recovery key does not open this vault, so nothing was changed. Check it "
            "for typing mistakes, and that it is the newest key you were given",
            EXIT_PASSPHRASE,
        )
    return exc


def cmd_recovery_key(args: argparse.Namespace) -> int:
    """Issue a new recovery key (the old one stops working), with the passphrase."""
    from vauth.vault import Vault

    if not args.new:
        raise CliError(
            "vauth keeps no copy of your recovery key, so it cannot show it again. "
            "`vauth recovery-key --new` makes a new one (the old one then stops working)",
            EXIT_USAGE,
        )
    passphrase = read_passphrase(args)
    try:
        recovery = call(args, "recoveryKey.new", passphrase=passphrase)["recoveryKey"]
    except CliError as exc:
        if exc.code != EXIT_NO_DAEMON:
            raise
        path = _existing_vault(args)
        with _vault_errors():
            recovery = Vault.issue_recovery_key(path, passphrase)
    if args.json:
        output(args, {"recoveryKey": recovery})
    else:
        print("A new recovery key was made; the old one no longer works.")
        show_recovery_key(recovery)
    return EXIT_OK


_CEREMONY_TEXT = {
    "makeCredential": "create a passkey",
    "getAssertion": "sign in with a passkey",
    "reset": "erase every passkey on this authenticator",
    "selection": "choose this authenticator",
    "userVerification": "confirm it is you",
}


def _account(name: str | None, display: str | None) -> str:
    if display and name and display != name:
        return f"{display} ({name})"
    return name or display or "an account without a name"


def _describe_prompt(prompt: dict[str, Any]) -> str:
    """What the ceremony window shows, in a few lines."""
    site = prompt.get("rpId") or "a program using the authenticator directly"
    lines = [f"[{prompt['id']}] {site} asks to {_CEREMONY_TEXT.get(prompt['ceremony'], 'act')}."]
    user = _account(prompt.get("userName"), prompt.get("userDisplayName"))
    if prompt["ceremony"] == "makeCredential":
        lines.append(f"  Account: {user}")
        kept = "kept in your vault" if prompt.get("discoverable") else "kept by the site"
        lines.append(f"  The passkey would be {kept}.")
        if prompt.get("excluded"):
            lines.append("  You already have a passkey for this account here.")
    accounts = prompt.get("accounts") or []
    if len(accounts) > 1:
        lines.append("  Accounts (approve with --account N to choose):")
        lines += [
            f"    {i}: {_account(a.get('userName'), a.get('userDisplayName'))}"
            for i, a in enumerate(accounts)
        ]
    elif prompt["ceremony"] == "getAssertion" and prompt.get("userName"):
        lines.append(f"  Account: {user}")
    if prompt.get("userVerification"):
        lines.append("  The site asks that you confirm it is you.")
    return "\n".join(lines)


def cmd_prompts(args: argparse.Namespace) -> int:
    """The requests waiting for a person, and answering them."""
    if args.decision is None:
        pending = call(args, "prompts.wait", timeout=0)
        human = (
            "\n\n".join(_describe_prompt(p) for p in pending)
            + "\n\nAnswer with `vauth prompts approve ID` or `vauth prompts deny ID`."
            if pending
            else "No request is waiting."
        )
        output(args, pending, human)
        if pending and _on_terminal() and not args.json:
            return _answer_interactively(args, pending)
        return EXIT_OK
    if args.id is None:
        raise CliError(
            f"say which request to {args.decision}: `vauth prompts {args.decision} ID`", EXIT_USAGE
        )
    approve = args.decision == "approve"
    _answer(args, args.id, approve, args.account)
    output(
        args,
        {"id": args.id, "approved": approve},
        "Approved." if approve else "Declined: the site is told no.",
    )
    return EXIT_OK


def _answer(args: argparse.Namespace, prompt_id: str, approve: bool, account: int | None) -> None:
    try:
        call(args, "prompts.answer", id=prompt_id, approve=approve, selected=account)
    except CliError as exc:
        if exc.code == EXIT_FAILURE and "no pending prompt" in str(exc):
            raise CliError(
                f"no request {prompt_id} is waiting: it was answered or timed out. "
                "`vauth prompts` lists those that are",
                EXIT_NOT_FOUND,
            ) from None
        raise


def _answer_interactively(args: argparse.Namespace, pending: list[dict[str, Any]]) -> int:
    for prompt in pending:
        answer = input(f"\n{prompt['id']}: approve (a), deny (d), or leave it (Enter)? ")
        choice = answer.strip().lower()
        if choice not in ("a", "d"):
            continue
        account = None
        accounts = prompt.get("accounts") or []
        if choice == "a" and len(accounts) > 1:
            picked = input(f"Which account (0-{len(accounts) - 1})? ").strip()
            account = int(picked) if picked.isdigit() and int(picked) < len(accounts) else 0
        _answer(args, prompt["id"], choice == "a", account)
        print("Approved." if choice == "a" else "Declined: the site is told no.")
    return EXIT_OK


def cmd_token(args: argparse.Namespace) -> int:
    from vauth.daemon.root import ensure_token

    token = ensure_token(paths.token_file())
    output(args, {"token": token, "file": str(paths.token_file())}, token)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """Register and sign in once with an in-memory authenticator, printing both responses."""
    from vauth.base64url import encode as b64
    from vauth.testing.virtual import VirtualAuthenticator
    from vauth.webauthn.errors import WebAuthnError

    origin = args.origin
    rp_id = args.rp_id or origin.split("://", 1)[-1].split(":")[0]
    with VirtualAuthenticator(attestation=args.attestation) as va:
        creation = {
            "rp": {"id": rp_id, "name": rp_id},
            "user": {"id": b64(os.urandom(16)), "name": "demo", "displayName": "Demo User"},
            "challenge": b64(os.urandom(32)),
            "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
            "authenticatorSelection": {"residentKey": "required", "userVerification": "required"},
            "attestation": "none" if args.attestation == "none" else "direct",
            "extensions": {"credProps": True},
        }
        try:
            registration = va.create(creation, origin)
            request = {
                "challenge": b64(os.urandom(32)),
                "rpId": rp_id,
                "userVerification": "required",
            }
            authentication = va.get(request, origin)
        except WebAuthnError as exc:
            raise CliError(f"{exc.name}: {exc.message}") from None
    print(json.dumps({"registration": registration, "authentication": authentication}, indent=2))
    return EXIT_OK


def cmd_ca(args: argparse.Namespace) -> int:
    """Print an attestation CA (PEM): the running daemon's (``--authenticator ID``: that
    authenticator's), or with ``--seed S`` a seeded tester authenticator's, which is a function
    of the seed alone, so it is the CA of a daemon seeded S whatever it has made."""
    if args.seed is None:
        params = {} if args.authenticator is None else {"authenticatorId": args.authenticator}
        sys.stdout.write(call(args, "attestation.ca", **params)["certificate"])
        return EXIT_OK
    if args.authenticator is not None:
        raise CliError("give --seed or --authenticator, not both", EXIT_USAGE)
    from vauth.testing.virtual import VirtualAuthenticator

    with VirtualAuthenticator(attestation="packed", seed=args.seed) as va:
        sys.stdout.write(va.attestation_ca_pem())
    return EXIT_OK


def cmd_native_host_install(args: argparse.Namespace) -> int:
    """Register vauth-native-host with a browser (its manifest, and the origins it allows)."""
    from native_host.install import InstallError, install

    try:
        installed = install(
            args.browser,
            Path(args.user_data_dir) if args.user_data_dir else None,
            args.extension_id,
        )
    except InstallError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    callers = installed.allowed.get("allowed_origins") or installed.allowed.get(
        "allowed_extensions", []
    )
    output(
        args,
        installed.to_json(),
        f"wrote {installed.manifest}\n  runs {installed.executable}\n"
        f"  allows {', '.join(callers)}\nrecorded the allowed callers in {installed.config}",
    )
    return EXIT_OK


def cmd_native_host_uninstall(args: argparse.Namespace) -> int:
    """Undo `native-host install`: its manifests, and the callers they allowed."""
    from native_host.callers import config_path
    from native_host.install import InstallError, uninstall

    try:
        removed = uninstall(args.browser, Path(args.user_data_dir) if args.user_data_dir else None)
    except InstallError as exc:
        raise CliError(str(exc)) from None
    which = f"for {args.browser}" if args.browser else "for any browser"
    human = (
        "\n".join(f"removed {manifest}" for manifest in removed)
        + f"\nforgot the callers they allowed (in {config_path()})"
        if removed
        else f"vauth's native host was not installed {which}: there was nothing to remove"
    )
    output(args, {"removed": [str(manifest) for manifest in removed]}, human)
    return EXIT_OK


def cmd_extension_path(args: argparse.Namespace) -> int:
    """The folder of vauth's extension for a browser to load."""
    from vauth.testing.browsers import extension

    try:
        folder = extension.path(args.browser)
    except extension.ExtensionMissing as exc:
        raise CliError(str(exc)) from None
    output(args, {"browser": args.browser, "path": str(folder)}, str(folder))
    return EXIT_OK


def cmd_service_install(args: argparse.Namespace) -> int:
    """A systemd user unit that starts the daemon at login, enabled (and started)."""
    from vauth.daemon import systemd_unit as unit

    problem = unit.manager_problem()
    if problem is not None:
        raise CliError(
            f"{problem}, so vauth cannot be set to start at login this way. Start it yourself "
            "when you log in instead: `vauth serve` (in a terminal, or your desktop's autostart)"
        )
    vault = _existing_vault(args).absolute()
    chosen = getattr(args, VAULT_FILE, None)
    passphrase_file = Path(chosen).expanduser().absolute() if chosen else None
    try:
        program = unit.executable()
        written = passphrase_file is not None and _service_passphrase(vault, passphrase_file)
        running = asyncio.run(_daemon_answers(paths.default_socket()))
        path = unit.write_unit(unit.unit_text(program, vault, passphrase_file, written))
        unit.run_systemctl("daemon-reload")
        unit.run_systemctl("enable", unit.UNIT, *(() if running else ("--now",)))
    except unit.UnitError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot write {exc.filename}: {exc.strerror}") from None
    now = (
        "A vauth daemon is running already (one you started): the service takes over at your "
        "next login, or now if you stop yours and run `systemctl --user start vauth`."
        if running
        else "It is running now."
    )
    unlocking = (
        "with the vault locked: unlock it with `vauth unlock`, or in the vauth window your "
        "browser opens when a site asks for a passkey"
        if passphrase_file is None
        else f"unlocking the vault with the passphrase in {passphrase_file}"
    )
    output(
        args,
        {
            "unit": str(path),
            "executable": str(program),
            "passphraseFile": None if passphrase_file is None else str(passphrase_file),
            "locked": passphrase_file is None,
        },
        f"vauth now starts when you log in: wrote {path}, which runs {program} serve "
        f"{unlocking}. {now} Stop or start it with `systemctl --user stop vauth` or "
        "`systemctl --user start vauth`; undo all this with `vauth service uninstall`.",
    )
    return EXIT_OK


def _service_passphrase(vault: Path, file: Path) -> bool:
    """Check ``file`` holds the vault's passphrase and is the user's alone; if there is none,
    ask for the passphrase on the terminal and write it there. Whether it was written."""
    import stat

    from vauth.vault.keyfile import KeyFile, keyfile_path

    written = False
    if file.exists():
        info = file.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
            raise CliError(
                f"{file} must be a file of yours that no one else can read: "
                f"run `chmod 600 {file}`, then this again"
            )
        passphrase = _read_passphrase_file(str(file))
    elif not _on_terminal():
        raise CliError(
            f"the service reads the vault passphrase from {file} (nobody is there to type it "
            "at login): run this on a terminal, where it asks for it, or put it in that file "
            "yourself, readable only by you",
            EXIT_USAGE,
        )
    else:
        print(
            f"At login nobody is there to type the vault passphrase, so the service reads it "
            f"from {file}, which only you can read. Anyone who can read your files can then "
            "open your vault."
        )
        passphrase = _read_typed("Vault passphrase: ", confirm=False)
    try:
        with _vault_errors():
            wipe(KeyFile.read(keyfile_path(vault)).unwrap(passphrase))
        if not file.exists():
            file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
            fd = os.open(file, flags, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(passphrase)
            written = True
    finally:
        wipe(passphrase)
    return written


async def _daemon_answers(socket_path: Path) -> bool:
    from vauth.transport.unix_socket import answers

    return await answers(socket_path)


def cmd_service_uninstall(args: argparse.Namespace) -> int:
    """Undo `service install`: stop and disable the unit, remove it (and the passphrase file
    it wrote)."""
    from vauth.daemon import systemd_unit as unit

    path = unit.unit_path()
    if not path.exists():
        output(args, {"removed": []}, f"vauth's service was not installed (no {path})")
        return EXIT_OK
    removed = [path]
    problem = unit.manager_problem()
    try:
        if problem is None:
            unit.run_systemctl("disable", "--now", unit.UNIT)
        passphrase_file = unit.written_passphrase_file(path.read_text("utf-8"))
        path.unlink()
        if passphrase_file is not None and passphrase_file.exists():
            passphrase_file.unlink()
            removed.append(passphrase_file)
        if problem is None:
            unit.run_systemctl("daemon-reload")
    except unit.UnitError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot remove {exc.filename}: {exc.strerror}") from None
    note = "" if problem is None else f" ({problem}: nothing was running from it here)"
    output(
        args,
        {"removed": [str(p) for p in removed]},
        "\n".join(f"removed {p}" for p in removed) + f"\nvauth no longer starts at login{note}.",
    )
    return EXIT_OK


# -- the parser ---------------------------------------------------------------------------------


# -- sync between computers (issue 13) -----------------------------------------------------------


def _sync(args: argparse.Namespace, action: str, **params: Any) -> Any:
    """``action`` through the daemon when it runs; otherwise on the vault's files directly."""
    try:
        return call(args, action, **params)
    except CliError as exc:
        if exc.code != EXIT_NO_DAEMON:
            raise
    return _sync_offline(args, action, params)


def _sync_offline(args: argparse.Namespace, action: str, params: dict[str, Any]) -> Any:
    from vauth.app.operations import as_json
    from vauth.app.syncing import is_sync_error, library_engine
    from vauth.vault import Vault

    path = _existing_vault(args)
    passphrase = read_secret(args)
    try:
        with _vault_errors():
            vault = Vault.open(path, passphrase)
    finally:
        wipe(passphrase)
    try:
        engine = library_engine(vault)
        if action != "sync.status" and action not in _SYNC_SETUP and not engine.configured:
            raise CliError(_NOT_SET_UP, EXIT_FAILURE)
        folder = Path(params.get("folder", "."))
        run: dict[str, Callable[[], Any]] = {
            "sync.status": lambda: (
                {"configured": True, **as_json(engine.status()), "lastError": None}
                if engine.configured
                else {"configured": False}
            ),
            "sync.init": lambda: as_json(engine.init(folder, params.get("deviceName", ""))),
            "sync.join": lambda: as_json(engine.request_join(folder, params.get("deviceName", ""))),
            "sync.pending": lambda: as_json(engine.pending()),
            "sync.approve": lambda: as_json(
                engine.approve(params["deviceId"], params["fingerprint"])
            ),
            "sync.devices": lambda: as_json(engine.devices()),
            "sync.remove": lambda: engine.remove(params["deviceId"]),
            "sync.leave": lambda: engine.leave(),
            "sync.default": lambda: _set_default(engine, params.get("default")),
        }
        return run[action]()
    except ImportError:
        raise CliError("this vauth was built without sync") from None
    except CliError:
        raise
    except Exception as exc:
        if is_sync_error(exc):
            raise CliError(str(exc)) from None
        raise
    finally:
        vault.close()


def _set_default(engine: Any, value: str | None) -> dict[str, str]:
    if value is not None:
        engine.set_default(value)
    return {"default": str(engine.default)}


_SYNC_SETUP = ("sync.init", "sync.join")
_NOT_SET_UP = (
    "sync is not set up on this computer: run `vauth sync init FOLDER` on the first one, or "
    "`vauth sync join FOLDER` to join the others"
)


def _folder(value: str) -> str:
    folder = Path(value).expanduser().resolve()
    if not folder.is_dir():
        raise CliError(
            f"{value} is not a folder: create it (or let Syncthing share it) first", EXIT_USAGE
        )
    return str(folder)


def _device_name(args: argparse.Namespace) -> str:
    import socket

    name = args.name or socket.gethostname()
    if not name.strip() or len(name) > 64:
        raise CliError("the device name must be 1 to 64 characters", EXIT_USAGE)
    return str(name)


def _seen(seconds: int | None) -> str:
    return _when(seconds * 1000) if seconds else "nothing yet"


def _devices_table(devices: list[dict[str, Any]]) -> str:
    rows = [
        [
            d["deviceId"],
            d["name"] + (" (this computer)" if d.get("thisDevice") else ""),
            "removed" if d.get("removed") else "member",
            str(d.get("lastSeq", 0)),
            _seen(d.get("lastSeen")),
        ]
        for d in devices
    ]
    return _table(rows, ["DEVICE", "NAME", "STATE", "ENTRIES", "LAST ENTRY SEEN"])


def cmd_sync(args: argparse.Namespace) -> int:
    return int(_SYNC_COMMANDS[args.sync_command](args))


def _sync_init(args: argparse.Namespace) -> int:
    device = _sync(args, "sync.init", folder=_folder(args.folder), deviceName=_device_name(args))
    output(
        args,
        device,
        f"Sync is set up: this computer ({device['name']}) is the first in the group, and keeps "
        f"its synced passkeys in {args.folder}. On each other computer, share that folder (with "
        "Syncthing) and run `vauth sync join FOLDER`.",
    )
    return EXIT_OK


def _sync_join(args: argparse.Namespace) -> int:
    request = _sync(args, "sync.join", folder=_folder(args.folder), deviceName=_device_name(args))
    output(
        args,
        request,
        f"This computer ({request['name']}) asked to join. On a computer already in the group, "
        f"run `vauth sync approve {request['deviceId']}` and check that it shows this "
        f"fingerprint:\n\n    {request['fingerprint']}\n",
    )
    return EXIT_OK


def _sync_approve(args: argparse.Namespace) -> int:
    pending = _sync(args, "sync.pending")
    matches = [r for r in pending if r["deviceId"].startswith(args.device_id)]
    if not matches:
        raise CliError(
            f"no computer with an ID starting {args.device_id!r} has asked to join; "
            "`vauth sync status` lists those that have",
            EXIT_NOT_FOUND,
        )
    if len(matches) > 1:
        raise CliError(f"{args.device_id!r} matches {len(matches)} computers; give more of the ID")
    request = matches[0]
    fingerprint = args.fingerprint
    if fingerprint is None:
        if not _on_terminal():
            raise CliError(
                "approving needs --fingerprint (the one the new computer shows) when not on a "
                "terminal",
                EXIT_USAGE,
            )
        print(
            f"{request['name']} ({request['deviceId']}) asks to join. Its fingerprint is:\n\n"
            f"    {request['fingerprint']}\n\nIt must be exactly what that computer shows."
        )
        if input("Is it the same? [y/N] ").strip().lower() not in ("y", "yes"):
            raise CliError("not approved: the fingerprints were not confirmed the same")
        fingerprint = request["fingerprint"]
    device = _sync(args, "sync.approve", deviceId=request["deviceId"], fingerprint=fingerprint)
    output(
        args,
        device,
        f"{device['name']} joined: it receives your synced passkeys as soon as the folder "
        "reaches it.",
    )
    return EXIT_OK


def _sync_devices(args: argparse.Namespace) -> int:
    devices = _sync(args, "sync.devices")
    output(args, devices, _devices_table(devices))
    return EXIT_OK


def _sync_remove(args: argparse.Namespace) -> int:
    devices = _sync(args, "sync.devices")
    matches = [d for d in devices if d["deviceId"].startswith(args.device_id)]
    if len(matches) != 1:
        raise CliError(
            f"no device with an ID starting {args.device_id!r}; `vauth sync devices` lists them"
            if not matches
            else f"{args.device_id!r} matches {len(matches)} devices; give more of the ID",
            EXIT_NOT_FOUND if not matches else EXIT_USAGE,
        )
    device = matches[0]
    if not args.yes:
        if not _on_terminal():
            raise CliError("removing a device needs --yes when not on a terminal", EXIT_USAGE)
        answer = input(f"Remove {device['name']} ({device['deviceId']}) from the group? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            raise CliError("nothing was removed")
    _sync(args, "sync.remove", deviceId=device["deviceId"])
    output(
        args,
        {"removed": device["deviceId"]},
        f"{device['name']} was removed: it cannot read anything written from now on. Passkeys "
        "it already had stay on it; if it was lost or stolen, also change your passwords there "
        "and remove those passkeys at the sites.",
    )
    return EXIT_OK


def _sync_leave(args: argparse.Namespace) -> int:
    if not args.yes:
        if not _on_terminal():
            raise CliError("leaving the sync group needs --yes when not on a terminal", EXIT_USAGE)
        answer = input("Stop syncing passkeys on this computer? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            raise CliError("nothing changed: this computer still syncs")
    _sync(args, "sync.leave")
    output(
        args,
        {"left": True},
        "This computer no longer syncs: its passkeys stay here, and your other computers were "
        "told to stop sharing with it. To sync again, run `vauth sync join FOLDER`.",
    )
    return EXIT_OK


def _sync_status(args: argparse.Namespace) -> int:
    status = _sync(args, "sync.status")
    if not status.get("configured"):
        advice = _NOT_SET_UP.split(": ")[1]
        output(args, status, f"Sync is not set up on this computer: {advice}.")
        return EXIT_OK
    lines = [
        f"This computer syncs through {status['folder']}"
        + ("." if status.get("joined", True) else ", waiting to be approved by another computer."),
        _devices_table(status.get("devices", [])),
    ]
    if any(d.get("thisDevice") and d.get("removed") for d in status.get("devices", [])):
        lines.append(
            "This computer was removed from the group by another of your computers: its changes "
            "are no longer shared. To sync again, run `vauth sync leave`, then "
            "`vauth sync join FOLDER`."
        )
    for request in status.get("pending", []):
        lines.append(
            f"{request['name']} ({request['deviceId']}) asks to join, with fingerprint "
            f"{request['fingerprint']}: `vauth sync approve {request['deviceId']}`."
        )
    for refusal in status.get("refused", []):
        repair = f" {refusal['repair']}" if refusal.get("repair") else ""
        lines.append(f"Refused {refusal['path']}: {refusal['reason']}.{repair}")
    more = status.get("refusedTotal", 0) - len(status.get("refused", []))
    if more > 0:
        lines.append(f"And {more} more files refused in the sync folder (the latest are shown).")
    for repair in status.get("repairs", []):
        lines.append(f"This computer {repair}.")
    if status.get("unpublished"):
        lines.append(f"{status['unpublished']} change(s) not yet written to the folder.")
    if status.get("lastError"):
        lines.append(f"The last sync failed: {status['lastError']}")
    output(args, status, "\n".join(lines))
    return EXIT_OK


def _sync_default(args: argparse.Namespace) -> int:
    params = {} if args.value is None else {"default": args.value}
    answer = _sync(args, "sync.default", **params)
    where = "on all your devices" if answer["default"] == "synced" else "only on this computer"
    verb = "are now" if args.value is not None else "are"
    output(
        args,
        answer,
        f"New passkeys {verb} kept {where} unless you choose otherwise when you make one.",
    )
    return EXIT_OK


_SYNC_COMMANDS = {
    "default": _sync_default,
    "init": _sync_init,
    "join": _sync_join,
    "approve": _sync_approve,
    "devices": _sync_devices,
    "remove": _sync_remove,
    "leave": _sync_leave,
    "status": _sync_status,
}


class _Parser(argparse.ArgumentParser):
    """argparse, with one change where a command takes a passkey's ID (``dash_ids``): an
    argument that begins with "-" and is none of the command's options is an ID (IDs are
    base64url, so one in 64 begins with "-"), not an unknown option."""

    dash_ids = False

    def _parse_optional(self, arg_string: str) -> Any:
        if self.dash_ids and arg_string.startswith("-") and not self._names_option(arg_string):
            return None  # a positional argument
        return super()._parse_optional(arg_string)

    def _names_option(self, arg_string: str) -> bool:
        """``arg_string`` is one of this parser's options (or the start of a long one)."""
        name = arg_string.split("=", 1)[0]
        if name in self._option_string_actions:
            return True
        return name.startswith("--") and any(
            option.startswith(name) for option in self._option_string_actions
        )


def _seconds(value: str) -> float:
    """A duration of more than 0 seconds (--idle-lock)."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise argparse.ArgumentTypeError(f"give a number of seconds above 0, not {value!r}")
    return seconds


def _count(low: int, high: int) -> Callable[[str], int]:
    def whole(value: str) -> int:
        if not value.strip().isdigit() or not low <= int(value) <= high:
            raise argparse.ArgumentTypeError(f"give a whole number from {low} to {high}")
        return int(value)

    return whole


def _passphrase_option(
    p: argparse.ArgumentParser, flag: str, help: str, old_spelling: bool = True
) -> None:
    """A --FLAG FILE option named for the passphrase it reads; --passphrase-file, its old and
    ambiguous name, still works (hidden) where it meant the same passphrase."""
    p.add_argument("--" + flag.replace("_", "-"), dest=flag, metavar="FILE", help=help)
    if old_spelling:
        p.add_argument("--passphrase-file", dest=flag, help=argparse.SUPPRESS)


READ_VAULT_HELP = "read the vault's passphrase from FILE instead of asking for it"
ENVIRONMENT_TOO = " (or set VAUTH_PASSPHRASE)"
ID_HELP = "the passkey's ID, or enough of its start (as `vauth list` shows it)"


def _sync_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    sync = sub.add_parser(
        "sync",
        help="the same passkeys on your other computers, through a synced folder",
        description="The same passkeys on your other computers, through a synced folder.",
    )
    commands = sync.add_subparsers(
        dest="sync_command", required=True, metavar="COMMAND", help="what to do (see below)"
    )

    def command(name: str, help: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = commands.add_parser(
            name, parents=[common], help=help, description=help
        )
        p.set_defaults(run=cmd_sync)
        p.add_argument("--vault", help="the vault, when the daemon is not running")
        _passphrase_option(
            p,
            VAULT_FILE,
            READ_VAULT_HELP + ENVIRONMENT_TOO + ", when the daemon is not running",
        )
        return p

    folder = "the folder your file-sync program (Syncthing) keeps the same on each computer"
    device = "the computer's ID, or enough of its start (as `vauth sync status` shows it)"
    p = command("init", "start a sync group in FOLDER (the first computer)")
    p.add_argument("folder", metavar="FOLDER", help=folder)
    p.add_argument("--name", help="this computer's name (default: its host name)")
    p = command("join", "ask to join the group syncing through FOLDER")
    p.add_argument("folder", metavar="FOLDER", help=folder)
    p.add_argument("--name", help="this computer's name (default: its host name)")
    p = command("approve", "let a computer that asked to join in, after comparing fingerprints")
    p.add_argument("device_id", metavar="DEVICE_ID", help=device)
    p.add_argument("--fingerprint", help="the fingerprint the new computer shows (for scripts)")
    command("devices", "list the computers in the group")
    p = command("remove", "remove a computer from the group (it can read nothing new)")
    p.add_argument("device_id", metavar="DEVICE_ID", help=device)
    p.add_argument("--yes", action="store_true", help="do not ask to confirm")
    p = command("leave", "stop syncing on this computer (its passkeys stay)")
    p.add_argument("--yes", action="store_true", help="do not ask to confirm")
    command("status", "devices, last entry seen from each, pending requests, refused files")
    p = command("default", "where new passkeys go unless you choose: synced or this device")
    p.add_argument(
        "value",
        metavar="synced|device",
        nargs="?",
        choices=["synced", "device"],
        help="synced (on all your computers) or device (this computer only); without it: "
        "show which it is",
    )


def _exchange_arguments(p: argparse.ArgumentParser, whose: str) -> None:
    """Import and export read two passphrases, each from its own flag."""
    p.add_argument(
        "--file-passphrase-file",
        metavar="F",
        help=f"read {whose} own passphrase from this file (default: ask on the terminal)",
    )
    p.add_argument(
        "--vault-passphrase-file",
        metavar="F",
        help="read the vault passphrase from this file (or set VAUTH_PASSPHRASE, which is the "
        "vault's only)",
    )
    p.add_argument("--vault", help="the vault, when the daemon is not running")
    p.add_argument("--passphrase-file", help=argparse.SUPPRESS)  # refused: it names neither


def parser() -> argparse.ArgumentParser:
    top = _Parser(prog="vauth", description="A passkey authenticator you own.")
    top.add_argument("--version", action="version", version=f"vauth {__version__}")
    common = _Parser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON instead of sentences")
    common.add_argument(
        "--socket", help="the daemon's socket (default: $XDG_RUNTIME_DIR/vauth/vauth.sock)"
    )
    # Not required here: `vauth --bogus` is then refused naming --bogus (main asks for a command).
    sub = top.add_subparsers(
        dest="command", metavar="COMMAND", help="what to do (`vauth COMMAND --help` says more)"
    )

    def command(name: str, run: Any, help: str, dash_ids: bool = False) -> _Parser:
        p = sub.add_parser(name, parents=[common], help=help, description=help)
        p.set_defaults(run=run)
        p.dash_ids = dash_ids
        return p

    p = command("init", cmd_init, "create a vault and show its recovery key")
    p.add_argument("--vault", help="where (default: $XDG_DATA_HOME/vauth/vault.db)")
    _passphrase_option(
        p,
        VAULT_FILE,
        "read the new vault's passphrase from FILE instead of asking for it" + ENVIRONMENT_TOO,
    )
    p = command("serve", cmd_serve, "run the daemon (vault, Unix socket, HTTP API)")
    p.add_argument("--vault", help="the vault (default: $XDG_DATA_HOME/vauth/vault.db)")
    _passphrase_option(
        p,
        VAULT_FILE,
        READ_VAULT_HELP + " (for a new vault: the one to set)" + ENVIRONMENT_TOO,
    )
    p.add_argument("--ephemeral", action="store_true", help="no vault: keep nothing")
    p.add_argument(
        "--locked",
        action="store_true",
        help="start with the existing vault locked, asking for no passphrase: unlock it later "
        "with `vauth unlock` or from the browser (as `vauth service install` does at login)",
    )
    p.add_argument(
        "--presence",
        choices=["auto", "prompt", "deny"],
        default="prompt",
        help="how user presence is given: auto (testers), prompt (a front end asks "
        "the user; default), deny",
    )
    p.add_argument(
        "--http",
        default=f"127.0.0.1:{paths.DEFAULT_HTTP_PORT}",
        help=f"loopback HOST:PORT of the HTTP API (default 127.0.0.1:{paths.DEFAULT_HTTP_PORT})",
    )
    p.add_argument("--no-http", action="store_true", help="serve the Unix socket only")
    p.add_argument(
        "--authenticator",
        metavar="JSON",
        help="with --ephemeral: its W3C WebDriver or CDP options, e.g. "
        '\'{"hasPrf": true, "defaultBackupEligibility": true}\'',
    )
    p.add_argument(
        "--idle-lock",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="lock the vault after this long unused (more than 0)",
    )
    p.add_argument(
        "--uhid",
        action="store_true",
        help="also appear as a USB security key (Linux; needs /dev/uhid access)",
    )
    p.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="how much the log says (default: info)",
    )
    p.add_argument(
        "--log-format",
        default="auto",
        choices=["auto", "text", "json"],
        help="the log's lines: readable text or JSON (default: text on a terminal, JSON elsewhere)",
    )
    command("status", cmd_status, "is the daemon running, is the vault locked")
    p = command("unlock", cmd_unlock, "unlock the vault")
    _passphrase_option(p, VAULT_FILE, READ_VAULT_HELP + ENVIRONMENT_TOO)
    command("lock", cmd_lock, "lock the vault (forget its key)")
    p = command("list", cmd_list, "list the passkeys in the vault")
    p.add_argument("--rp", help="only this site's (rpId)")
    p = command("show", cmd_show, "show one passkey and where it was used", dash_ids=True)
    p.add_argument("id", help=ID_HELP)
    p = command("rename", cmd_rename, "give a passkey a nickname", dash_ids=True)
    p.add_argument("id", help=ID_HELP)
    p.add_argument("nickname", help='its new nickname ("" removes it)')
    p = command("name", cmd_name, "show or set this authenticator's name (sites see it)")
    p.add_argument("display_name", nargs="?", help="the new name (without it: show the name)")
    p = command(
        "delete", cmd_delete, f"move a passkey to the trash (kept {TRASH_DAYS} days)", dash_ids=True
    )
    p.add_argument("id", help=ID_HELP)
    p.add_argument("--yes", action="store_true", help="do not ask")
    p = command("trash", cmd_trash, "list the deleted passkeys that can still be restored")
    p.add_argument("--empty", action="store_true", help="delete them for good (asks first)")
    p.add_argument("--yes", action="store_true", help="do not ask")
    p = command("restore", cmd_restore, "bring a passkey back from the trash", dash_ids=True)
    p.add_argument("id", help="its ID, or enough of its start (as `vauth trash` shows)")
    p = command(
        "export",
        cmd_export,
        "export the passkeys (asks for the vault passphrase; encrypted unless --plaintext)",
    )
    p.add_argument(
        "--format",
        choices=["cxf", "webdriver", "keepassxc", "bitwarden"],
        default="cxf",
        help="cxf (FIDO's exchange format, default), webdriver (for testers), keepassxc (a "
        "KeePass database, .kdbx) or bitwarden (Bitwarden's JSON export)",
    )
    p.add_argument("--plaintext", action="store_true", help="write the keys unencrypted")
    p.add_argument(
        "--i-understand-plaintext",
        action="store_true",
        help="confirm --plaintext without a terminal (every private key is written unencrypted)",
    )
    _exchange_arguments(p, "the export's")
    p.add_argument("-o", "--output", help="file to write (default: standard output)")
    p = command(
        "import",
        cmd_import,
        "import passkeys from an export of vauth, Bitwarden, KeePassXC, Proton Pass or FIDO CXF",
    )
    p.add_argument("file", help="the file to import (its format is told from its content)")
    _exchange_arguments(p, "the file's")
    p = command("audit", cmd_audit, "which passkey was used where and when")
    p.add_argument("--credential", help="only this passkey's (its ID, or enough of its start)")
    p.add_argument(
        "--limit",
        type=_count(1, 100_000),
        default=100,
        help="show at most this many entries, newest first (default 100)",
    )
    p.dash_ids = True  # --credential -abc
    p = command("passphrase", cmd_passphrase, "change the vault passphrase")
    _passphrase_option(
        p, VAULT_FILE, "read the current passphrase from FILE instead of asking" + ENVIRONMENT_TOO
    )
    _passphrase_option(
        p, NEW_FILE, "read the new passphrase from FILE instead of asking", old_spelling=False
    )
    p = command("backup", cmd_backup, "copy the vault (still encrypted) while the daemon runs")
    p.add_argument("destination", help="the copy's file (its key file goes beside it, .keys)")
    p = command("recover", cmd_recover, "set a new passphrase with the recovery key")
    p.add_argument("--recovery-key-file", metavar="FILE", help="read the recovery key from FILE")
    _passphrase_option(
        p, NEW_FILE, "read the new passphrase from FILE instead of asking" + ENVIRONMENT_TOO
    )
    p.add_argument("--vault", help="the vault, when the daemon is not running")
    p = command("recovery-key", cmd_recovery_key, "make a new recovery key (the old one stops)")
    p.add_argument("--new", action="store_true", help="make a new recovery key")
    p.add_argument("--vault", help="the vault, when the daemon is not running")
    _passphrase_option(p, VAULT_FILE, READ_VAULT_HELP + ENVIRONMENT_TOO)
    p = command("prompts", cmd_prompts, "see and answer requests from sites waiting for you")
    p.add_argument(
        "decision",
        nargs="?",
        choices=["approve", "deny"],
        help="approve or deny request ID (without it: list the requests waiting)",
    )
    p.add_argument("id", nargs="?", help="the request's ID, as `vauth prompts` shows it")
    p.add_argument(
        "--account",
        type=_count(0, 10_000),
        help="with approve: which account (its number)",
    )
    command("token", cmd_token, "print the HTTP API's bearer token")
    _sync_parser(sub, common)
    p = command("demo", cmd_demo, "one registration and one sign-in, in process")
    p.add_argument(
        "--origin", default="https://example.com", help="the site (default: https://example.com)"
    )
    p.add_argument(
        "--rp-id", default=None, help="the passkey's site, its rpId (default: the origin's host)"
    )
    p.add_argument(
        "--attestation",
        default="none",
        choices=["none", "packed-self", "packed"],
        help="what the site is told about the authenticator (default: none)",
    )
    p = command("ca", cmd_ca, "print the attestation CA (PEM) relying parties can trust")
    p.add_argument(
        "--seed",
        help="a seeded tester authenticator's CA, without a daemon: the same seed, the same CA",
    )
    p.add_argument(
        "--authenticator", help="the running daemon's authenticator with this ID (default: vault)"
    )
    host = sub.add_parser(
        "native-host",
        help="the browser extension's native-messaging host",
        description="The browser extension's native-messaging host.",
    ).add_subparsers(
        dest="native_host_command", required=True, metavar="COMMAND", help="what to do"
    )
    p = host.add_parser(
        "install",
        parents=[common],
        help="register vauth-native-host with a browser",
        description="Write the native-messaging host manifest where the browser looks for it.",
    )
    p.set_defaults(run=cmd_native_host_install)
    p.add_argument(
        "--browser",
        required=True,
        choices=["chromium", "chrome", "firefox"],
        help="the browser to connect vauth to",
    )
    p.add_argument(
        "--user-data-dir",
        help="the browser's user data directory: write DIR/NativeMessagingHosts/ instead "
        "(Chromium and Chrome only: Firefox reads ~/.mozilla/native-messaging-hosts)",
    )
    p.add_argument(
        "--extension-id",
        help="the extension's ID (Chromium; default: vauth's pinned ID) or add-on id (Firefox)",
    )
    _browser_parsers(sub, host)
    return top


def _browser_parsers(sub: Any, host: Any) -> None:
    """`native-host uninstall`, `extension path`, `service install|uninstall`."""
    json_only = argparse.ArgumentParser(add_help=False)
    json_only.add_argument("--json", action="store_true", help="machine-readable output")

    def command(group: Any, name: str, run: Any, help: str, description: str) -> Any:
        p = group.add_parser(name, parents=[json_only], help=help, description=description)
        p.set_defaults(run=run)
        return p

    def group(name: str, help: str) -> Any:
        parser = sub.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".")
        return parser.add_subparsers(
            dest=f"{name}_command", required=True, metavar="COMMAND", help="what to do"
        )

    p = command(
        host,
        "uninstall",
        cmd_native_host_uninstall,
        "undo `native-host install`",
        "Remove the native-messaging host manifests `vauth native-host install` wrote, and "
        "forget the extensions they allowed.",
    )
    p.add_argument(
        "--browser",
        choices=["chromium", "chrome", "firefox"],
        help="only this browser's (default: every browser's)",
    )
    p.add_argument(
        "--user-data-dir",
        help="only the manifest in this Chromium or Chrome profile (with --browser)",
    )
    p = command(
        group("extension", "vauth's browser extension"),
        "path",
        cmd_extension_path,
        "print the folder of the extension, for the browser to load",
        "Print the folder of vauth's extension: Chromium's \"Load unpacked\" takes the folder, "
        'Firefox\'s "Load Temporary Add-on" the manifest.json in it.',
    )
    p.add_argument(
        "--browser",
        choices=["chromium", "firefox"],
        default="chromium",
        help="chromium (also Chrome, Edge, Brave) or firefox (default: chromium)",
    )
    service = group("service", "start vauth at login (a systemd user unit)")
    p = command(
        service,
        "install",
        cmd_service_install,
        "start vauth at login, and now",
        "Write the systemd user unit ~/.config/systemd/user/vauth.service (it runs this "
        "installation's vauth), enable it and start it. The vault starts locked: unlock it "
        "with `vauth unlock`, or in the vauth window the browser opens. With "
        "--vault-passphrase-file it is unlocked at login instead, with the passphrase in that "
        "file (anyone who can read your files can then open your vault).",
    )
    _passphrase_option(
        p,
        VAULT_FILE,
        "unlock the vault at login with the passphrase in FILE, which only you may read (if "
        "there is no such file, vauth asks for the passphrase and writes it there)",
    )
    p.add_argument("--vault", help="the vault (default: $XDG_DATA_HOME/vauth/vault.db)")
    command(
        service,
        "uninstall",
        cmd_service_uninstall,
        "undo `service install`",
        "Stop and disable vauth's systemd user unit, and remove it (and the passphrase file "
        "`service install` wrote).",
    )


def main(argv: Sequence[str] | None = None) -> int:
    os.umask(0o077)  # whatever vauth writes (vault, keys, exports, token) is the user's alone
    top = parser()
    args = top.parse_args(argv)
    if args.command is None:
        top.error("choose a command (`vauth --help` lists them)")
    try:
        result: int = args.run(args)
        return result
    except CliError as exc:
        print(f"vauth: {typed(str(exc))}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return EXIT_FAILURE


if __name__ == "__main__":
    raise SystemExit(main())
