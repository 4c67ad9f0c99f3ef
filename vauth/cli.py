"""The ``vauth`` command: run the daemon, and see and manage every passkey through it.

Exit codes: 0 success, 1 failure, 2 usage, 3 daemon not running, 4 vault locked,
5 wrong passphrase, 6 not found.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime
import getpass
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vauth import __version__, paths
from vauth.secret import read_file as secret_file
from vauth.secret import read_terminal, take_environment, wipe

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_NO_DAEMON, EXIT_LOCKED, EXIT_PASSPHRASE, EXIT_NOT_FOUND = (
    0, 1, 2, 3, 4, 5, 6,
)  # fmt: skip
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


def read_passphrase(
    args: argparse.Namespace, prompt: str = "Vault passphrase: ", confirm: bool = False
) -> str:
    """From --passphrase-file, VAUTH_PASSPHRASE, or a prompt on the terminal (as text, for a
    request to the daemon)."""
    file = getattr(args, "passphrase_file", None)
    secret = _read_secret(file, prompt, confirm, os.environ.get("VAUTH_PASSPHRASE"))
    try:
        return secret.decode("utf-8", "surrogateescape")
    finally:
        wipe(secret)


def read_secret(
    args: argparse.Namespace, prompt: str = "Vault passphrase: ", confirm: bool = False
) -> bytearray:
    """The passphrase as read_passphrase finds it, for this process's own use of the vault
    (``serve``, ``init``): VAUTH_PASSPHRASE is taken out of the environment, and the buffer
    is the caller's to wipe."""
    from_environment = take_environment("VAUTH_PASSPHRASE")
    try:
        return _read_secret(
            getattr(args, "passphrase_file", None), prompt, confirm, from_environment
        )
    finally:
        wipe(from_environment)


def _read_secret(
    file: str | None, prompt: str, confirm: bool, environment: str | bytearray | None
) -> bytearray:
    if file:
        return _read_passphrase_file(file)
    if environment:
        return bytearray(environment, "utf-8") if isinstance(environment, str) else environment[:]
    if not sys.stdin.isatty():
        raise CliError(
            "no passphrase: give --passphrase-file, set VAUTH_PASSPHRASE, or run on a terminal",
            EXIT_USAGE,
        )
    return _read_typed(prompt, confirm)


def _read_passphrase_file(file: str) -> bytearray:
    try:
        return secret_file(file)
    except OSError as exc:
        raise CliError(f"cannot read the passphrase file: {exc.strerror}") from None


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


# -- talking to the daemon ----------------------------------------------------------------------


def _socket(args: argparse.Namespace) -> Path:
    return Path(args.socket) if args.socket else paths.default_socket()


async def _call(args: argparse.Namespace, action: str, **params: Any) -> Any:
    from vauth.transport.unix_socket import Client

    socket_path = _socket(args)
    try:
        client = await Client.connect(socket_path)
    except (FileNotFoundError, ConnectionRefusedError):
        raise CliError(
            f"the vauth daemon is not running (no socket at {socket_path}); "
            "start it with `vauth serve`",
            EXIT_NO_DAEMON,
        ) from None
    try:
        reply = await client.call(action, **params)
    finally:
        await client.close()
    if not reply.get("ok"):
        error = reply.get("error", {})
        code = _EXIT_FOR_CODE.get(error.get("code"), EXIT_FAILURE)
        raise CliError(str(error.get("message", "the daemon refused")), code)
    return reply.get("result")


def call(args: argparse.Namespace, action: str, **params: Any) -> Any:
    """The daemon's result for ``action``; a ``progress=`` callable receives (done, total)."""
    return asyncio.run(_call(args, action, **params))


def output(args: argparse.Namespace, value: Any, human: str | None = None) -> None:
    if args.json:
        print(json.dumps(value, indent=2))
    elif human is not None:
        print(human)


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
    from vauth.vault import Vault

    path = Path(args.vault) if args.vault else paths.default_vault()
    if path.exists():
        raise CliError(f"a vault exists already at {path}")
    passphrase = read_secret(args, "New vault passphrase: ", confirm=True)
    try:
        vault = Vault.open(path, passphrase)
    finally:
        wipe(passphrase)
    recovery = vault.recovery_key
    vault.close()
    output(
        args,
        {"vault": str(path), "recoveryKey": recovery},
        f"Created {path}.\n\nRecovery key (shown this once; keep it somewhere safe, away "
        f"from this computer):\n\n    {recovery}\n",
    )
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from vauth import daemon

    daemon.configure_logging(args.log_level)
    if args.ephemeral:
        vault, passphrase = None, None
    else:
        vault = Path(args.vault) if args.vault else paths.default_vault()
        passphrase = read_secret(
            args,
            "New vault passphrase: " if not vault.exists() else "Vault passphrase: ",
            confirm=not vault.exists(),
        )
    http = None if args.no_http else _host_port(args.http)
    if args.uhid and not os.access("/dev/uhid", os.R_OK | os.W_OK):
        raise CliError("--uhid needs read and write access to /dev/uhid (root, or a udev rule)")
    settings = daemon.Settings(
        vault=vault,
        passphrase=passphrase,
        socket=_socket(args),
        http=http,
        token_file=paths.token_file(),
        presence=args.presence,
        idle_lock_s=args.idle_lock,
        uhid=args.uhid,
    )
    from vauth.vault import VaultError, WrongPassphraseError

    try:
        return asyncio.run(daemon.serve(settings))
    except VaultError as exc:
        code = EXIT_PASSPHRASE if isinstance(exc, WrongPassphraseError) else EXIT_FAILURE
        raise CliError(str(exc), code) from None
    except KeyboardInterrupt:
        return EXIT_OK
    finally:
        wipe(passphrase)


def _host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise CliError(f"--http wants HOST:PORT, not {value!r}", EXIT_USAGE)
    host = host.strip("[]")
    if host not in ("127.0.0.1", "::1", "localhost"):
        raise CliError("the HTTP API listens on loopback only (127.0.0.1, ::1)", EXIT_USAGE)
    return host, int(port)


def cmd_status(args: argparse.Namespace) -> int:
    status = call(args, "status")
    vault = status["vault"]
    if vault is None:
        text = "daemon running with an ephemeral authenticator (no vault)"
    else:
        state = "locked" if vault["locked"] else "unlocked"
        text = f"daemon running; vault {vault['path']} is {state}"
    if status["pendingPrompts"]:
        text += f"; {status['pendingPrompts']} ceremony waiting for you"
    output(args, status, text)
    return EXIT_OK


def cmd_unlock(args: argparse.Namespace) -> int:
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
        ]
        for c in credentials
    ]
    human = (
        _table(rows, ["ID", "SITE", "ACCOUNT", "NICKNAME", "CREATED", "LAST USED"])
        if rows
        else "no passkeys"
    )
    output(args, credentials, human)
    return EXIT_OK


def _resolve(args: argparse.Namespace, prefix: str) -> str:
    """A credential ID from a unique prefix (as `vauth list` shows them)."""
    matches = [
        c["credentialId"]
        for c in call(args, "credentials.list")
        if c["credentialId"].startswith(prefix)
    ]
    if not matches:
        raise CliError(f"no passkey with an ID starting {prefix!r}", EXIT_NOT_FOUND)
    if len(matches) > 1:
        raise CliError(
            f"{prefix!r} matches {len(matches)} passkeys; give more of the ID", EXIT_USAGE
        )
    return str(matches[0])


def cmd_show(args: argparse.Namespace) -> int:
    detail = call(args, "credentials.show", credentialId=_resolve(args, args.id))
    lines = [
        f"ID:        {detail['credentialId']}",
        f"Site:      {detail['rpId']}",
        f"Account:   {detail.get('userName') or ''} ({detail.get('userDisplayName') or ''})",
        f"Nickname:  {detail.get('nickname') or ''}",
        f"Created:   {_when(detail['created'])}",
        f"Last used: {_when(detail.get('lastUsed'))}",
        f"Synced:    backup eligible {detail['backupEligibility']}, "
        f"backed up {detail['backupState']}",
        "Uses:",
    ]
    lines += [f"  {_when(u['at'])}  {u['ceremony']:16} {u['outcome']}" for u in detail["uses"]]
    output(args, detail, "\n".join(lines))
    return EXIT_OK


def cmd_rename(args: argparse.Namespace) -> int:
    credential_id = _resolve(args, args.id)
    call(args, "credentials.rename", credentialId=credential_id, nickname=args.nickname)
    output(
        args,
        {"credentialId": credential_id, "nickname": args.nickname},
        f"renamed to {args.nickname!r}",
    )
    return EXIT_OK


def cmd_name(args: argparse.Namespace) -> int:
    call(args, "authenticator.name", displayName=args.display_name)
    output(
        args,
        {"displayName": args.display_name},
        f"this authenticator is now called {args.display_name!r}",
    )
    return EXIT_OK


def cmd_delete(args: argparse.Namespace) -> int:
    credential_id = _resolve(args, args.id)
    if not args.yes:
        if not sys.stdin.isatty():
            raise CliError("deleting needs --yes when not on a terminal", EXIT_USAGE)
        answer = input(f"Delete passkey {credential_id[:12]}…? It cannot be undone. [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            return EXIT_FAILURE
    call(args, "credentials.delete", credentialId=credential_id)
    output(args, {"deleted": credential_id}, "deleted")
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


def _vault_passphrase(args: argparse.Namespace) -> str:
    """The vault passphrase an export needs: --vault-passphrase-file, VAUTH_PASSPHRASE, or
    the terminal."""
    file = args.vault_passphrase_file
    if not file and not os.environ.get("VAUTH_PASSPHRASE") and not sys.stdin.isatty():
        raise CliError(
            "an export carries every private key, so it needs the vault passphrase: give "
            "--vault-passphrase-file, set VAUTH_PASSPHRASE, or run on a terminal",
            EXIT_USAGE,
        )
    secret = _read_secret(file, "Vault passphrase: ", False, os.environ.get("VAUTH_PASSPHRASE"))
    try:
        return secret.decode("utf-8", "surrogateescape")
    finally:
        wipe(secret)


def cmd_export(args: argparse.Namespace) -> int:
    if args.plaintext:
        _confirm_plaintext(args)
    vault_passphrase = _vault_passphrase(args)
    passphrase = None
    if not args.plaintext:
        passphrase = read_passphrase(args, "Passphrase for the export: ", confirm=True)
    result = call(
        args,
        "export",
        format=args.format,
        passphrase=passphrase,
        plaintext=args.plaintext,
        vaultPassphrase=vault_passphrase,
    )
    data = base64.b64decode(result["data"])
    if args.output in (None, "-"):
        sys.stdout.buffer.write(data)
        return EXIT_OK
    fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    print(
        f"exported to {args.output}" + (" (NOT encrypted)" if args.plaintext else ""),
        file=sys.stderr,
    )
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {args.file}: {exc.strerror}") from None
    encrypted = data.lstrip().startswith(b'{"format"') or b'"vauth-export"' in data[:200]
    passphrase = read_passphrase(args, "Passphrase of the export: ") if encrypted else None
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
        report = call(
            args,
            "import",
            progress=progress,
            data=base64.b64encode(data).decode(),
            passphrase=passphrase,
        )
    finally:
        if drawn:
            print(file=sys.stderr)  # end the progress bar's line
    lines = [f"imported {len(report['imported'])} passkey(s)"]
    lines += [f"skipped #{s['index']}: {s['reason']}" for s in report["skipped"]]
    lines += [f"warning: {w}" for w in report["warnings"]]
    output(args, report, "\n".join(lines))
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
        ]
        for e in entries
    ]
    human = (
        _table(rows, ["WHEN", "CEREMONY", "SITE", "PASSKEY", "OUTCOME"])
        if rows
        else "no ceremonies yet"
    )
    output(args, entries, human)
    return EXIT_OK


def cmd_passphrase(args: argparse.Namespace) -> int:
    old = read_passphrase(args, "Current passphrase: ")
    if not sys.stdin.isatty():
        raise CliError("changing the passphrase asks for the new one on a terminal", EXIT_USAGE)
    new = getpass.getpass("New passphrase: ")
    if getpass.getpass("Again: ") != new or not new:
        raise CliError("the new passphrases differ or are empty", EXIT_USAGE)
    call(args, "passphrase", old=old, new=new)
    output(args, {"changed": True}, "passphrase changed")
    return EXIT_OK


def cmd_token(args: argparse.Namespace) -> int:
    from vauth.daemon import ensure_token

    token = ensure_token(paths.token_file())
    output(args, {"token": token, "file": str(paths.token_file())}, token)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """Register and sign in once with an in-memory authenticator, printing both responses."""
    from vauth.virtual import VirtualAuthenticator
    from vauth.webauthn.base64url import encode as b64
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
    """Print the attestation CA (PEM) of a seeded tester authenticator."""
    from vauth.virtual import VirtualAuthenticator

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


# -- the parser ---------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="vauth", description="A passkey authenticator you own.")
    top.add_argument("--version", action="version", version=f"vauth {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="machine-readable output")
    common.add_argument("--socket", help="the daemon's socket (default: $XDG_RUNTIME_DIR/vauth)")
    common.add_argument("--passphrase-file", help="read the passphrase from this file")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, run: Any, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help, description=help)
        p.set_defaults(run=run)
        return p

    p = command("init", cmd_init, "create a vault and show its recovery key")
    p.add_argument("--vault", help="where (default: $XDG_DATA_HOME/vauth/vault.db)")
    p = command("serve", cmd_serve, "run the daemon (vault, Unix socket, HTTP API)")
    p.add_argument("--vault", help="the vault (default: $XDG_DATA_HOME/vauth/vault.db)")
    p.add_argument("--ephemeral", action="store_true", help="no vault: keep nothing")
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
        "--idle-lock",
        type=float,
        default=None,
        metavar="SECONDS",
        help="lock the vault after this long unused",
    )
    p.add_argument(
        "--uhid",
        action="store_true",
        help="also appear as a USB security key (Linux; needs /dev/uhid access)",
    )
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    command("status", cmd_status, "is the daemon running, is the vault locked")
    command("unlock", cmd_unlock, "unlock the vault")
    command("lock", cmd_lock, "lock the vault (forget its key)")
    p = command("list", cmd_list, "list the passkeys in the vault")
    p.add_argument("--rp", help="only this site's (rpId)")
    p = command("show", cmd_show, "show one passkey and where it was used")
    p.add_argument("id", help="the passkey's ID, or enough of its start")
    p = command("rename", cmd_rename, "give a passkey a nickname")
    p.add_argument("id")
    p.add_argument("nickname")
    p = command("name", cmd_name, "name this authenticator (sites see it via credProps)")
    p.add_argument("display_name")
    p = command("delete", cmd_delete, "delete a passkey")
    p.add_argument("id")
    p.add_argument("--yes", action="store_true", help="do not ask")
    p = command(
        "export",
        cmd_export,
        "export the passkeys (asks for the vault passphrase; encrypted unless --plaintext)",
    )
    p.add_argument("--format", choices=["cxf", "webdriver"], default="cxf")
    p.add_argument("--plaintext", action="store_true", help="write the keys unencrypted")
    p.add_argument(
        "--i-understand-plaintext",
        action="store_true",
        help="confirm --plaintext without a terminal (every private key is written unencrypted)",
    )
    p.add_argument(
        "--vault-passphrase-file",
        help="read the vault passphrase from this file (--passphrase-file is the export's)",
    )
    p.add_argument("-o", "--output", help="file to write (default: standard output)")
    p = command("import", cmd_import, "import an export (CXF or WebDriver JSON)")
    p.add_argument("file")
    p = command("audit", cmd_audit, "which passkey was used where and when")
    p.add_argument("--credential", help="one passkey's uses")
    p.add_argument("--limit", type=int, default=100)
    command("passphrase", cmd_passphrase, "change the vault passphrase")
    command("token", cmd_token, "print the HTTP API's bearer token")
    p = command("demo", cmd_demo, "one registration and one sign-in, in process")
    p.add_argument("--origin", default="https://example.com")
    p.add_argument("--rp-id", default=None)
    p.add_argument("--attestation", default="none", choices=["none", "packed-self", "packed"])
    p = command("ca", cmd_ca, "print a seeded authenticator's attestation CA (PEM)")
    p.add_argument("--seed", default="vauth")
    host = sub.add_parser(
        "native-host", help="the browser extension's native-messaging host"
    ).add_subparsers(dest="native_host_command", required=True, metavar="COMMAND")
    p = host.add_parser(
        "install",
        parents=[common],
        help="register vauth-native-host with a browser",
        description="Write the native-messaging host manifest where the browser looks for it.",
    )
    p.set_defaults(run=cmd_native_host_install)
    p.add_argument("--browser", required=True, choices=["chromium", "chrome", "firefox"])
    p.add_argument(
        "--user-data-dir",
        help="the browser's user data directory: write DIR/NativeMessagingHosts/ instead",
    )
    p.add_argument(
        "--extension-id",
        help="the extension's ID (Chromium; default: vauth's pinned ID) or add-on id (Firefox)",
    )
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        result: int = args.run(args)
        return result
    except CliError as exc:
        print(f"vauth: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return EXIT_FAILURE


if __name__ == "__main__":
    raise SystemExit(main())
