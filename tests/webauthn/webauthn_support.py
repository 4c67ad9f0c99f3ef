"""Helpers shared by the client-layer tests (imported by name: tests/webauthn is on sys.path)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from vauth.app.clock import SystemClock
from vauth.app.keys import RandomKeySource
from vauth.app.presence import AutoPresence
from vauth.app.store import InMemoryStore
from vauth.ctap.attestation import AttestationMode
from vauth.ctap.authenticator import Authenticator
from vauth.ctap.config import AuthenticatorConfig
from vauth.ctap.ports import Environment

AuthenticatorFactory = Callable[..., Authenticator]


def make_authenticator(
    attestation: AttestationMode = AttestationMode.NONE, **config: Any
) -> Authenticator:
    env = Environment(InMemoryStore(), AutoPresence(), SystemClock(), RandomKeySource())
    return Authenticator(env, AuthenticatorConfig(attestation=attestation, **config))


class Recorder:
    """A ``process`` that forwards to an authenticator and keeps every request it carried."""

    def __init__(self, process: Callable[[bytes], Awaitable[bytes]]) -> None:
        self._process = process
        self.requests: list[bytes] = []

    async def __call__(self, message: bytes) -> bytes:
        self.requests.append(message)
        return await self._process(message)
