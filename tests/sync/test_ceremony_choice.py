"""The ceremony window's "Saved to your N devices" / "Only on this computer" choice (issue 13):
what the daemon offers with a create prompt, and the answer that carries the choice back to
makeCredential (PresenceResponse.synced)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import Daemon, creation
from tests.sync.test_sync_cli import standin_environment
from vauth.ctap.ports import Ceremony, PresenceRequest
from vauth.service import Prompts
from vauth.transport.unix_socket import Client


@pytest.mark.parametrize("synced", [True, False, None])
async def test_the_answer_carries_the_choice_to_the_core(synced: bool | None) -> None:
    prompts = Prompts(sync_offer=lambda: {"devices": 3, "default": "synced"})
    asking = asyncio.ensure_future(prompts.ask(PresenceRequest(Ceremony.MAKE_CREDENTIAL, "a.com")))
    shown = await prompts.wait(5)
    assert shown[0]["sync"] == {"devices": 3, "default": "synced"}
    prompts.answer(shown[0]["id"], True, True, None, synced)
    response = await asking
    assert response.present and response.synced is synced


async def test_a_sign_in_offers_no_choice() -> None:
    prompts = Prompts(sync_offer=lambda: {"devices": 3, "default": "synced"})
    asking = asyncio.ensure_future(prompts.ask(PresenceRequest(Ceremony.GET_ASSERTION, "a.com")))
    shown = await prompts.wait(5)
    assert shown[0]["sync"] is None
    prompts.answer(shown[0]["id"], False, False)
    await asking


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    running = Daemon(tmp_path, "--presence", "prompt", env=standin_environment(tmp_path))
    yield running
    if running.process.poll() is None:
        running.stop()


async def _prompt_while_creating(daemon: Daemon) -> tuple[dict[str, object], dict[str, object]]:
    """A create's prompt as prompts.wait shows it, and prompts.answer's reply to synced=false."""
    creator = await Client.connect(daemon.socket)
    ui = await Client.connect(daemon.socket)
    try:
        create = asyncio.ensure_future(
            creator.call("create", origin="https://example.com", options=creation("bob"))
        )
        reply = await ui.call("prompts.wait", timeout=10)
        prompt = reply["result"][0]  # type: ignore[index]
        bad = await ui.call("prompts.answer", id=prompt["id"], approve=True, synced="yes")
        assert bad["ok"] is False and "synced" in json.dumps(bad["error"])
        answered = await ui.call("prompts.answer", id=prompt["id"], approve=True, synced=False)
        assert answered["ok"], answered
        created = await create
        assert created["ok"], created
        return prompt, created
    finally:
        await creator.close()
        await ui.close()


def test_the_daemon_offers_the_choice_once_sync_is_set_up(daemon: Daemon, tmp_path: Path) -> None:
    before, _ = asyncio.run(_prompt_while_creating(daemon))
    assert before["sync"] is None  # this computer does not sync: the window shows no choice
    folder = tmp_path / "Sync"
    folder.mkdir()
    daemon.cli("sync", "init", str(folder))
    after, _ = asyncio.run(_prompt_while_creating(daemon))
    assert after["sync"] == {"devices": 1, "default": "synced"}
