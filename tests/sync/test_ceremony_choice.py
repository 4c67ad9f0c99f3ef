"""The ceremony window's "Saved to your N devices" / "Only on this computer" choice (issue 13):
what a create prompt offers, and the answer's `synced` reaching makeCredential -- seen in the
new passkey's backup eligibility (WebAuthn L3 6.1: BE is fixed at creation; synced passkeys are
BE=1, device-only BE=0)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import creation
from tests.sync.computers import Computer
from vauth.app.service import Prompts
from vauth.ctap.ports import Ceremony, PresenceRequest, SyncOffer
from vauth.transport.unix_socket import Client


@pytest.mark.parametrize("synced", [True, False, None])
async def test_the_answer_carries_the_choice(synced: bool | None) -> None:
    prompts = Prompts()
    offer = SyncOffer(default=False, devices=3)
    request = PresenceRequest(Ceremony.MAKE_CREDENTIAL, "a.com", sync_offer=offer)
    asking = asyncio.ensure_future(prompts.ask(request))
    shown = await prompts.wait(5)
    assert shown[0]["sync"] == {"devices": 3, "default": "device"}
    prompts.answer(shown[0]["id"], True, True, None, synced)
    response = await asking
    assert response.present and response.synced is synced


@pytest.fixture
def laptop(tmp_path: Path) -> Iterator[Computer]:
    computer = Computer(tmp_path, "laptop", "--presence", "prompt").start()
    yield computer
    computer.stop()


async def _create(laptop: Computer, user: str, **answer: Any) -> tuple[dict[str, Any], Any]:
    """A create's prompt as prompts.wait shows it, and the new passkey once answered."""
    assert laptop.daemon is not None
    creator = await Client.connect(laptop.daemon.socket)
    ui = await Client.connect(laptop.daemon.socket)
    try:
        create = asyncio.ensure_future(
            creator.call("create", origin="https://example.com", options=creation(user))
        )
        prompt = (await ui.call("prompts.wait", timeout=10))["result"][0]
        bad = await ui.call("prompts.answer", id=prompt["id"], approve=True, synced="yes")
        assert bad["ok"] is False and "synced" in json.dumps(bad["error"])
        answered = await ui.call("prompts.answer", id=prompt["id"], approve=True, **answer)
        assert answered["ok"], answered
        created = await create
        assert created["ok"], created
        return prompt, created["result"]
    finally:
        await creator.close()
        await ui.close()


def be(laptop: Computer, user: str) -> bool:
    (passkey,) = [c for c in laptop.call("credentials.list") if c["userName"] == user]
    return bool(passkey["backupEligibility"])


def test_the_choice_reaches_the_new_passkey(laptop: Computer, tmp_path: Path) -> None:
    before, _ = asyncio.run(_create(laptop, "ann"))
    assert before["sync"] is None  # this computer does not sync: the window shows no choice
    assert not be(laptop, "ann")
    folder = tmp_path / "Sync"
    folder.mkdir()
    laptop.cli("sync", "init", str(folder))
    offered, _ = asyncio.run(_create(laptop, "bob"))  # no choice sent: the vault's default
    assert offered["sync"] == {"devices": 1, "default": "synced"}
    assert be(laptop, "bob")
    asyncio.run(_create(laptop, "cyd", synced=False))  # "Only on this computer"
    assert not be(laptop, "cyd")


def test_the_vaults_default_is_set_with_vauth_sync_default(
    laptop: Computer, tmp_path: Path
) -> None:
    folder = tmp_path / "Sync"
    folder.mkdir()
    laptop.cli("sync", "init", str(folder))
    assert "kept on all your devices" in laptop.cli("sync", "default").stdout
    changed = laptop.cli("sync", "default", "device")
    assert "New passkeys are now kept only on this computer" in changed.stdout
    offered, _ = asyncio.run(_create(laptop, "dan"))
    assert offered["sync"] == {"devices": 1, "default": "device"}
    assert not be(laptop, "dan")
    asyncio.run(_create(laptop, "eva", synced=True))  # the person chose "Saved to your devices"
    assert be(laptop, "eva")
    bad = laptop.cli("sync", "default", "cloud", check=False)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert laptop.request("sync.default", default="cloud")["error"]["code"] == "invalid argument"
