"""`vauth service install|uninstall` (issue 20): a systemd user unit that starts the daemon at
login, running this installation's own `vauth` by its absolute path. This machine has no
systemd user manager, so a stand-in `systemctl` on PATH records what vauth asks of it, while
systemd's own parser (`systemd-analyze verify --user`) judges the unit, and the unit's ExecStart
is run as systemd runs it (its Environment=, its quoting) to show that it starts vauth."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import PASSPHRASE, cli, environment
from tests.test_cli import Terminal

VAUTH = Path(os.path.abspath(sys.executable)).parent / "vauth"
STAND_IN = """#!/bin/sh
echo "$@" >> "$SYSTEMCTL_LOG"
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A person with a vault, and a stand-in systemctl that records its arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "systemctl").write_text(STAND_IN)
    (bin_dir / "systemctl").chmod(0o755)
    env = environment(tmp_path) | {"SYSTEMCTL_LOG": str(tmp_path / "systemctl.log")}
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    cli(env, "init")
    return env


def unit_of(env: dict[str, str]) -> Path:
    return Path(env["XDG_CONFIG_HOME"]) / "systemd" / "user" / "vauth.service"


def systemctl_calls(env: dict[str, str]) -> list[str]:
    log = Path(env["SYSTEMCTL_LOG"])
    return log.read_text().splitlines() if log.exists() else []


def passphrase_file(env: dict[str, str], text: str = PASSPHRASE, mode: int = 0o600) -> Path:
    path = Path(env["XDG_CONFIG_HOME"]) / "vauth" / "passphrase"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def setting(unit: str, name: str) -> list[str]:
    """A unit setting's words as systemd reads them (quotes, then %% and $$ undoubled)."""
    (line,) = [line for line in unit.splitlines() if line.startswith(f"{name}=")]
    words = shlex.split(line.removeprefix(f"{name}="))
    return [w.replace("%%", "%").replace("$$", "$") for w in words]


def test_install_writes_an_enabled_unit_that_starts_this_installations_vauth(
    env: dict[str, str], tmp_path: Path
) -> None:
    secret = passphrase_file(env)
    done = cli(env, "service", "install")
    assert "vauth now starts when you log in" in done.stdout and "It is running now" in done.stdout
    unit = unit_of(env)
    assert systemctl_calls(env) == [
        "--user show-environment",
        "--user daemon-reload",
        "--user enable vauth.service --now",
    ]
    text = unit.read_text()
    command = setting(text, "ExecStart")
    assert command[0] == str(VAUTH) and Path(command[0]).is_absolute()
    assert command[1:] == [
        "serve",
        "--vault",
        str(Path(env["XDG_DATA_HOME"]) / "vauth" / "vault.db"),
        "--vault-passphrase-file",
        str(secret),
        "--idle-lock",
        "900",
    ]
    assert oct(stat.S_IMODE(unit.stat().st_mode)) == "0o644"
    verify = shutil.which("systemd-analyze")
    if verify is not None:  # systemd's own reading of the unit
        run = tmp_path / "runtime"
        run.mkdir(mode=0o700)
        checked = subprocess.run(
            [verify, "verify", "--user", str(unit)],
            env=env | {"XDG_RUNTIME_DIR": str(run)},
            capture_output=True,
            text=True,
            check=False,
        )
        assert checked.returncode == 0, checked.stderr
    # Run as systemd runs it, in the unit's environment and no other: vauth answers.
    started = dict(word.split("=", 1) for word in setting(text, "Environment"))
    service_env = {"PATH": "/usr/bin:/bin", "HOME": env["HOME"]} | started
    service_env["XDG_RUNTIME_DIR"] = env["XDG_RUNTIME_DIR"]
    daemon = subprocess.Popen(
        command, env=service_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        status = None
        for _ in range(150):
            status = cli(env, "status", check=False)
            if status.returncode == 0:
                break
            time.sleep(0.2)
        assert status is not None and status.returncode == 0, status.stderr
    finally:
        daemon.terminate()
        daemon.wait(30)


def test_install_refuses_a_passphrase_file_others_can_read_or_that_does_not_open_the_vault(
    env: dict[str, str],
) -> None:
    readable = passphrase_file(env, mode=0o644)
    refused = cli(env, "service", "install", check=False)
    assert refused.returncode == 1 and f"chmod 600 {readable}" in refused.stderr
    passphrase_file(env, text="not the passphrase")
    wrong = cli(env, "service", "install", check=False)
    assert wrong.returncode == 5 and "Traceback" not in wrong.stderr
    assert not unit_of(env).exists()
    assert systemctl_calls(env) == ["--user show-environment"] * 2


def test_install_asks_for_the_passphrase_and_uninstall_removes_what_install_wrote(
    env: dict[str, str],
) -> None:
    del env["VAUTH_PASSPHRASE"]
    term = Terminal(env, "service", "install")
    said = term.expect("Vault passphrase:")
    assert "only you can read" in said
    term.type(PASSPHRASE)
    assert term.wait() == 0, term.screen
    secret = Path(env["XDG_CONFIG_HOME"]) / "vauth" / "passphrase"
    assert secret.read_text() == PASSPHRASE
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    removed = cli(env, "service", "uninstall")
    assert f"removed {unit_of(env)}" in removed.stdout and f"removed {secret}" in removed.stdout
    assert not unit_of(env).exists() and not secret.exists()
    assert systemctl_calls(env)[-2:] == [
        "--user disable --now vauth.service",
        "--user daemon-reload",
    ]
    again = cli(env, "service", "uninstall")
    assert "vauth's service was not installed" in again.stdout


def test_uninstall_keeps_a_passphrase_file_of_the_persons_own(env: dict[str, str]) -> None:
    secret = passphrase_file(env)
    cli(env, "service", "install")
    cli(env, "service", "uninstall")
    assert secret.exists() and not unit_of(env).exists()


@pytest.mark.parametrize("manager", ["none", "no user bus"])
def test_without_systemd_it_says_how_to_start_vauth_instead(tmp_path: Path, manager: str) -> None:
    env = environment(tmp_path)
    if manager == "none":
        env["PATH"] = str(tmp_path / "empty")
        reason = "this system has no systemd"
    else:
        if shutil.which("systemctl") is None:
            pytest.skip("systemctl is not installed here")
        env["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={tmp_path}/no-bus"
        reason = "systemd's user manager does not answer"
    refused = cli(env, "service", "install", check=False)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert reason in refused.stderr
    assert "vauth cannot be set to start at login this way" in refused.stderr
    # the command as it must be typed here: plain `vauth` only where PATH finds this one
    named = re.search(r"`(\S+) serve`", refused.stderr)
    assert named is not None, refused.stderr
    assert shutil.which(named.group(1), path=env["PATH"]) or named.group(1) == str(
        Path(sys.executable).parent / "vauth"
    )
    assert not unit_of(env).exists()


def test_without_a_vault_it_says_to_create_one_first(tmp_path: Path) -> None:
    env = environment(tmp_path)
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "systemctl").write_text("#!/bin/sh\n")
    (tmp_path / "bin" / "systemctl").chmod(0o755)
    env["PATH"] = f"{tmp_path / 'bin'}:{env['PATH']}"
    refused = cli(env, "service", "install", check=False)
    assert refused.returncode == 6 and "`vauth init`" in refused.stderr
