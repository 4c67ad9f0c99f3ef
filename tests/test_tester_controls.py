"""House style rule 23 (issue 23): a tester's controls belong to a tester's object. The vault's
production ``Device`` cannot be asked for them: its type has none, and mypy says so."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from vauth.app.device import Device, TesterDevice, authenticator_config
from vauth.app.presence import AutoPresence
from vauth.app.tester import CeremonyEvents, TesterControls

ROOT = Path(__file__).resolve().parents[1]
ASKED = """
from vauth.app.device import Device

async def tamper(device: Device) -> None:
    device.tester.set_user_verified(False)
    device.set_response_override_bits(True)
    device.fail_next("NO_CREDENTIALS")
    await device.set_credential_properties("AA", backup_eligibility=True)
    device.set_user_verified(False)
    device.set_automatic_presence_simulation(False)
"""
CONTROLS = (
    "set_response_override_bits",
    "fail_next",
    "set_credential_properties",
    "set_user_verified",
    "set_automatic_presence_simulation",
)


def test_the_production_device_has_none_of_the_five_controls() -> None:
    for name in (*CONTROLS, "tester"):
        assert not hasattr(Device, name), name
        assert hasattr(TesterControls, name) or name == "tester"
    tester = TesterDevice.ephemeral(authenticator_config(), AutoPresence())
    assert isinstance(tester.tester, TesterControls)
    assert type(tester.responses) is not CeremonyEvents  # it overrides what it signs


def test_mypy_refuses_asking_the_vault_device_for_a_testers_control(tmp_path: Path) -> None:
    snippet = tmp_path / "asked.py"
    snippet.write_text(ASKED)
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", str(snippet)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 6, done.stdout + done.stderr
    assert all('"Device" has no attribute' in line for line in errors), done.stdout
