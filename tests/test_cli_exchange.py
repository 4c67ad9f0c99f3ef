"""`vauth import` and `vauth export` with other password managers' files (issue 22), as a person
runs them: the CLI as a subprocess, with the daemon running, locked or stopped. The file's
passphrase comes from --file-passphrase-file (never VAUTH_PASSPHRASE, the vault's); `--json`
prints exactly {"imported": N, "skipped": [{"site", "account", "reason"}]}; exit codes: 5 for
a wrong passphrase (nothing changed), 1 when nothing is imported, 6 with no vault."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest

from tests.support import PASSPHRASE, Daemon, cli, environment
from tests.vault.foreign import (
    Passkey,
    bitwarden_account_restricted,
    bitwarden_item,
    bitwarden_passkey,
    bitwarden_plain,
    bitwarden_protected,
    dumps,
    kdbx,
    keepassxc_attributes,
)
from vauth import VirtualAuthenticator
from vauth.vault import bitwarden

FILE_PASSPHRASE = "the file's own passphrase"


def failed(result: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    for word in words:
        assert word in result.stderr, result.stderr


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A vault made with `vauth init`, and no daemon."""
    made = environment(tmp_path)
    cli(made, "init", "--json")
    return made


def write(path: Path, data: bytes | str) -> str:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return str(path)


def sealed_bitwarden(tmp_path: Path, *passkeys: Passkey) -> str:
    document = bitwarden_plain(*(bitwarden_item(bitwarden_passkey(p)) for p in passkeys))
    return write(tmp_path / "bitwarden.json", dumps(bitwarden_protected(document, FILE_PASSPHRASE)))


def listed(env: dict[str, str]) -> list[str]:
    """The accounts of the vault's passkeys: through the daemon, or on its files if none runs."""
    shown = cli(env, "list", "--json", check=False)
    if shown.returncode == 0:
        return [c["userName"] for c in json.loads(shown.stdout)]
    path = Path(env["XDG_DATA_HOME"]) / "vauth" / "vault.db"
    with VirtualAuthenticator(vault=path, passphrase=PASSPHRASE) as va:
        return [c["userName"] for c in va.get_credentials()]


def test_import_with_the_daemon_stopped_then_running(env: dict[str, str], tmp_path: Path) -> None:
    secret = write(tmp_path / "secret", FILE_PASSPHRASE + "\n")
    file = sealed_bitwarden(tmp_path, Passkey(user_name="alice"))
    done = cli(env, "import", file, "--file-passphrase-file", secret, "--json")
    assert json.loads(done.stdout) == {"imported": 1, "skipped": []}

    again = cli(env, "import", file, "--file-passphrase-file", secret, "--json", check=False)
    failed(again, 1, "nothing was imported", "already in your vault")
    assert json.loads(again.stdout) == {
        "imported": 0,
        "skipped": [{"site": "example.com", "account": "alice", "reason": "already present"}],
    }

    running = Daemon(tmp_path, "--presence", "auto", env=env)
    try:
        bob = Passkey(rp_id="keepass.example", user_name="bob")
        database = write(tmp_path / "db.kdbx", kdbx([keepassxc_attributes(bob)], FILE_PASSPHRASE))
        human = cli(env, "import", database, "--file-passphrase-file", secret)
        assert human.stdout.startswith("Imported 1 passkey.")
        assert sorted(listed(env)) == ["alice", "bob"]
        running.cli("lock")  # a locked daemon is unlocked with the vault passphrase first
        carol = sealed_bitwarden(tmp_path, Passkey(rp_id="c.example", user_name="carol"))
        cli(env, "import", carol, "--file-passphrase-file", secret)
        assert json.loads(cli(env, "status", "--json").stdout)["vault"]["locked"] is False
        assert sorted(listed(env)) == ["alice", "bob", "carol"]
    finally:
        assert running.stop() == 0


def test_passphrases_and_exit_codes(env: dict[str, str], tmp_path: Path) -> None:
    file = sealed_bitwarden(tmp_path, Passkey(user_name="alice"))
    # VAUTH_PASSPHRASE is the vault's, never the file's, even when they are the same words
    same = {**env, "VAUTH_PASSPHRASE": FILE_PASSPHRASE}
    failed(cli(same, "import", file, check=False), 2, "--file-passphrase-file")
    failed(
        cli(env, "import", file, "--passphrase-file", file, check=False),
        2,
        "--file-passphrase-file",
        "--vault-passphrase-file",
    )
    wrong = write(tmp_path / "wrong", "not " + FILE_PASSPHRASE)
    failed(
        cli(env, "import", file, "--file-passphrase-file", wrong, check=False),
        5,
        "wrong passphrase for this Bitwarden export",
    )
    right = write(tmp_path / "right", FILE_PASSPHRASE)
    wrong_vault = {**env, "VAUTH_PASSPHRASE": "not " + PASSPHRASE}
    failed(
        cli(wrong_vault, "import", file, "--file-passphrase-file", right, check=False),
        5,
        "wrong passphrase",
    )
    vault_file = write(tmp_path / "vault-passphrase", PASSPHRASE)
    no_env = {k: v for k, v in env.items() if k != "VAUTH_PASSPHRASE"}
    assert listed(env) == []  # nothing changed so far
    cli(
        no_env,
        "import",
        file,
        "--file-passphrase-file",
        right,
        "--vault-passphrase-file",
        vault_file,
    )
    assert listed(env) == ["alice"]

    restricted = write(tmp_path / "restricted.json", dumps(bitwarden_account_restricted()))
    failed(cli(env, "import", restricted, check=False), 1, '"Password protected"')
    empty = write(tmp_path / "empty.json", dumps(bitwarden_plain(bitwarden_item())))
    failed(cli(env, "import", empty, check=False), 1, "holds no passkeys")
    failed(cli(env, "import", str(tmp_path / "missing.json"), check=False), 1, "cannot read")
    truncated = write(tmp_path / "cut.json", Path(file).read_bytes()[:100])
    failed(cli(env, "import", truncated, check=False), 1, "truncated")

    (tmp_path / "elsewhere").mkdir()
    nobody = environment(tmp_path / "elsewhere")
    failed(
        cli(nobody, "import", file, "--file-passphrase-file", right, check=False), 6, "vauth init"
    )
    failed(cli(nobody, "export", "--format", "bitwarden", check=False), 6, "vauth init")


def test_export_to_keepassxc_and_bitwarden_with_the_daemon_stopped_and_running(
    env: dict[str, str], tmp_path: Path
) -> None:
    from pykeepass import PyKeePass

    secret = write(tmp_path / "secret", FILE_PASSPHRASE)
    source = bitwarden_plain(
        bitwarden_item(bitwarden_passkey(Passkey(user_name="alice", counter=5)))
    )
    cli(env, "import", write(tmp_path / "in.json", dumps(source)))

    out = tmp_path / "passkeys.kdbx"
    done = cli(
        env, "export", "--format", "keepassxc", "-o", str(out), "--file-passphrase-file", secret
    )
    assert "Exporting 1 passkey(s)." in done.stderr
    assert "signature counters" in done.stderr  # said before the export is made
    database = PyKeePass(io.BytesIO(out.read_bytes()), password=FILE_PASSPHRASE)
    [entry] = [e for e in database.entries if "KPEX_PASSKEY_PRIVATE_KEY_PEM" in e.custom_properties]
    assert entry.custom_properties["KPEX_PASSKEY_USERNAME"] == "alice"
    plain = ["export", "--format", "keepassxc", "--plaintext", "--i-understand-plaintext"]
    failed(cli(env, *plain, "-o", str(tmp_path / "plain.kdbx"), check=False), 2, "always encrypted")

    running = Daemon(tmp_path, "--presence", "auto", env=env)
    try:
        out = tmp_path / "bitwarden-out.json"
        cli(
            env, "export", "--format", "bitwarden", "-o", str(out), "--file-passphrase-file", secret
        )
        document = bitwarden.opened(json.loads(out.read_bytes()), FILE_PASSPHRASE)
        [passkey] = document["items"][0]["login"]["fido2Credentials"]
        assert passkey["userName"] == "alice" and passkey["counter"] == "5"  # carried
    finally:
        assert running.stop() == 0
