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
