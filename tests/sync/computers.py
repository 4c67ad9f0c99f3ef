"""Computers for the application-side sync tests: each a real `vauth serve` with its own vault
and XDG directories (tests/support.py), talked to over its socket and through the `vauth` CLI."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support import Daemon, environment
from vauth.transport.unix_socket import Client


class Computer:
    """One computer: a daemon (``--presence auto`` unless told) on its own vault."""

    def __init__(self, base: Path, name: str, *serve: str) -> None:
        self.name = name
        self.base = base / name
        self.base.mkdir(parents=True, exist_ok=True)
        self.env = environment(self.base)
        self.serve = serve or ("--presence", "auto")
        self.daemon: Daemon | None = None

    def start(self) -> Computer:
        self.daemon = Daemon(self.base, *self.serve, env=self.env)
        return self

    def stop(self) -> None:
        if self.daemon is not None and self.daemon.process.poll() is None:
            self.daemon.stop()

    @property
    def vault(self) -> Path:
        return Path(self.env["XDG_DATA_HOME"]) / "vauth" / "vault.db"

    def cli(self, *args: str, check: bool = True) -> Any:
        from tests.support import cli

        return cli(self.env, *args, check=check)

    def json(self, *args: str) -> Any:
        return json.loads(self.cli(*args, "--json").stdout)

    def request(self, action: str, **params: Any) -> dict[str, Any]:
        """The daemon's whole reply to ``action``."""
        assert self.daemon is not None

        async def ask() -> dict[str, Any]:
            client = await Client.connect(self.daemon.socket)  # type: ignore[union-attr]
            try:
                return await client.call(action, **params)
            finally:
                await client.close()

        return asyncio.run(ask())

    def call(self, action: str, **params: Any) -> Any:
        reply = self.request(action, **params)
        assert reply["ok"], reply
        return reply["result"]


def eventually(condition: Callable[[], Any], timeout: float, what: str) -> float:
    """Poll until ``condition()`` is truthy; the seconds it took."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)
    return time.monotonic() - start


# -- WebAuthn ceremonies, answered as a person would in the ceremony window ------------------------

RP_ID, ORIGIN = "example.com", "https://example.com"


async def _ceremony(computer: Computer, action: str, options: Any, **answer: Any) -> Any:
    """``action`` ("create"/"get") with ``options``; any presence prompt it raises is approved
    with ``answer`` (e.g. synced=False). Returns the daemon's whole reply."""
    assert computer.daemon is not None
    caller = await Client.connect(computer.daemon.socket)
    ui = await Client.connect(computer.daemon.socket)
    try:
        ceremony = asyncio.ensure_future(caller.call(action, origin=ORIGIN, options=options))
        while not ceremony.done():
            waiting = asyncio.ensure_future(ui.call("prompts.wait", timeout=1))
            await asyncio.wait({ceremony, waiting}, return_when=asyncio.FIRST_COMPLETED)
            if not waiting.done():  # the ceremony is over (no prompt, or answered)
                waiting.cancel()
                break
            for prompt in waiting.result()["result"]:
                await ui.call("prompts.answer", id=prompt["id"], approve=True, **answer)
        return await ceremony
    finally:
        await caller.close()
        await ui.close()


def register(computer: Computer, user: str, **answer: Any) -> Any:
    """A discoverable passkey made on ``computer``, verified by py_webauthn (its public key)."""
    import webauthn
    from webauthn.helpers.structs import (
        AuthenticatorSelectionCriteria,
        ResidentKeyRequirement,
    )

    options = webauthn.generate_registration_options(
        rp_id=RP_ID,
        rp_name="Example",
        user_name=user,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED
        ),
    )
    reply = asyncio.run(
        _ceremony(computer, "create", json.loads(webauthn.options_to_json(options)), **answer)
    )
    assert reply["ok"], reply
    return webauthn.verify_registration_response(
        credential=reply["result"],
        expected_challenge=options.challenge,
        expected_rp_id=RP_ID,
        expected_origin=ORIGIN,
    )


def sign_in(computer: Computer, registered: Any) -> Any:
    """An assertion from ``computer`` for ``registered``, verified by py_webauthn with the public
    key it was registered with (on whichever computer); the daemon's error reply otherwise."""
    import webauthn
    from webauthn.helpers.structs import PublicKeyCredentialDescriptor

    options = webauthn.generate_authentication_options(
        rp_id=RP_ID,
        allow_credentials=[PublicKeyCredentialDescriptor(id=registered.credential_id)],
    )
    reply = asyncio.run(_ceremony(computer, "get", json.loads(webauthn.options_to_json(options))))
    if not reply["ok"]:
        return reply
    return webauthn.verify_authentication_response(
        credential=reply["result"],
        expected_challenge=options.challenge,
        expected_rp_id=RP_ID,
        expected_origin=ORIGIN,
        credential_public_key=registered.credential_public_key,
        credential_current_sign_count=0,
    )


def b64url(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def passkey(computer: Computer, registered: Any) -> dict[str, Any] | None:
    """``registered`` as ``computer`` lists it, or None."""
    wanted = b64url(registered.credential_id)
    found = [c for c in computer.call("credentials.list") if c["credentialId"] == wanted]
    return found[0] if found else None
