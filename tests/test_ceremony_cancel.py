"""A ceremony called off (issue 21): the extension tells the daemon `cancel {ceremonyId}` when a
page aborts a request (AbortSignal, WebAuthn L3 5.6) or goes away, and from then on the ceremony
gets no presence: nothing is signed or made for it, whether it waits for a person (`--presence
prompt`), for a tester's presence simulation (held), or has not even arrived yet. Checked
against a real daemon: its socket, its audit log, its CDP events and signature counters."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from pathlib import Path
from typing import Any

from tests.support import Daemon, b64, creation
from vauth.testing.harness import VauthDaemon
from vauth.transport.unix_socket import Client

ORIGIN = "https://example.com"


def request() -> dict[str, Any]:
    return {"challenge": b64(b"c" * 32), "rpId": "example.com", "userVerification": "discouraged"}


async def call(socket: Path, action: str, **params: Any) -> dict[str, Any]:
    client = await Client.connect(socket)
    try:
        return await client.call(action, **params)  # type: ignore[no-any-return]
    finally:
        await client.close()


async def prompts(socket: Path) -> list[dict[str, Any]]:
    reply = await call(socket, "prompts.wait", timeout=5)
    return reply["result"]  # type: ignore[no-any-return]


def test_a_prompt_called_off_goes_away_and_nothing_is_signed(tmp_path: Path) -> None:
    daemon = Daemon(tmp_path, "--presence", "prompt")
    counts: list[int] = []
    try:

        async def run() -> tuple[dict[str, Any], list[dict[str, Any]]]:
            made = asyncio.create_task(
                call(daemon.socket, "create", origin=ORIGIN, options=creation("ann"))
            )
            (prompt,) = await prompts(daemon.socket)
            await call(daemon.socket, "prompts.answer", id=prompt["id"], approve=True)
            assert (await made)["ok"]
            counts.extend(p["signCount"] for p in json.loads(daemon.cli("list", "--json").stdout))
            held = asyncio.create_task(
                call(daemon.socket, "get", origin=ORIGIN, options=request(), ceremonyId="c1")
            )
            (prompt,) = await prompts(daemon.socket)
            assert prompt["ceremonyId"] == "c1"
            assert (await call(daemon.socket, "cancel", ceremonyId="c1"))["result"] == {
                "running": True
            }
            answer = await asyncio.wait_for(held, 5)
            late = await call(daemon.socket, "prompts.answer", id=prompt["id"], approve=True)
            assert late["error"]["code"] == "no such prompt"
            return answer, await prompts_now(daemon.socket)

        answer, left = asyncio.run(run())
        assert answer["error"]["code"] == "NotAllowedError"
        assert left == []
        audit = json.loads(daemon.cli("audit", "--json").stdout)
        assert [(entry["ceremony"], entry["outcome"]) for entry in audit] == [
            ("getAssertion", "OPERATION_DENIED"),  # audited, not signed
            ("makeCredential", "ok"),
        ]
        (passkey,) = json.loads(daemon.cli("list", "--json").stdout)
        assert [passkey["signCount"]] == counts
    finally:
        daemon.stop()


async def prompts_now(socket: Path) -> list[dict[str, Any]]:
    reply = await call(socket, "prompts.wait", timeout=0)
    return reply["result"]  # type: ignore[no-any-return]


def test_a_held_get_called_off_is_not_signed_when_presence_comes(tmp_path: Path) -> None:
    """CDP's automaticPresenceSimulation off holds a get until it is turned on; called off
    meanwhile, it is never signed: no credentialAsserted event, the counter stays."""
    with VauthDaemon.start(tmp_path) as daemon:
        base = "/webauthn/authenticator/vault"
        assert asyncio.run(call(daemon.socket, "create", origin=ORIGIN, options=creation("bea")))[
            "ok"
        ]
        (before,) = daemon.credentials()
        names: list[str] = []
        with daemon.events() as events:
            threading.Thread(target=lambda: collect(events, names), daemon=True).start()

            async def run() -> dict[str, Any]:
                daemon.request("POST", base + "/presence-simulation", {"enabled": False})
                held = asyncio.create_task(
                    call(daemon.socket, "get", origin=ORIGIN, options=request(), ceremonyId="c2")
                )
                await asyncio.sleep(0.3)
                assert not held.done()
                await call(daemon.socket, "cancel", ceremonyId="c2")
                answer = await asyncio.wait_for(held, 5)
                daemon.request("POST", base + "/presence-simulation", {"enabled": True})
                await asyncio.sleep(0.3)
                return answer

            answer = asyncio.run(run())
        assert answer["error"]["code"] == "NotAllowedError"
        (after,) = daemon.credentials()
        assert after["signCount"] == before["signCount"]
        assert names == []


def collect(events: Any, names: list[str]) -> None:
    with contextlib.suppress(Exception):  # the stream ends with the test
        while True:
            names.append(events.next()[0])


def test_a_ceremony_called_off_before_it_arrives_is_refused_at_once(tmp_path: Path) -> None:
    daemon = Daemon(tmp_path, "--presence", "auto")
    try:

        async def run() -> tuple[dict[str, Any], dict[str, Any]]:
            early = await call(daemon.socket, "cancel", ceremonyId="c3")
            answer = await call(
                daemon.socket, "create", origin=ORIGIN, options=creation("cy"), ceremonyId="c3"
            )
            return early, answer

        early, answer = asyncio.run(run())
        assert early["result"] == {"running": False}
        assert answer["error"]["code"] == "NotAllowedError"
        assert json.loads(daemon.cli("list", "--json").stdout) == []
        assert json.loads(daemon.cli("audit", "--json").stdout) == []
    finally:
        daemon.stop()
