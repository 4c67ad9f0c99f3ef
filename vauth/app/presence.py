"""UserPresence implementations: automatic (tester mode), deny, scripted, and prompt."""

from __future__ import annotations

import asyncio
import contextvars
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable

from vauth.ctap.ports import PresenceRequest, PresenceResponse

# Set while a ceremony runs for a front end that may call it off (the page aborted it or went
# away: vauth.app.service.Cancellations); a presence request of a ceremony called off gets no
# presence, so nothing is signed or made for it.
CANCELLED: contextvars.ContextVar[asyncio.Event | None] = contextvars.ContextVar(
    "cancelled", default=None
)
ABSENT = PresenceResponse(present=False)


def called_off() -> bool:
    cancelled = CANCELLED.get()
    return cancelled is not None and cancelled.is_set()


async def unless_called_off(answer: Awaitable[PresenceResponse]) -> PresenceResponse:
    """``answer``, unless the ceremony is called off first: then no presence (and ``answer``
    is cancelled, so a prompt it shows goes away)."""
    cancelled = CANCELLED.get()
    if cancelled is None:
        return await answer
    if cancelled.is_set():
        if isinstance(answer, Coroutine):
            answer.close()
        return ABSENT
    task = asyncio.ensure_future(answer)
    waiter = asyncio.ensure_future(cancelled.wait())
    try:
        await asyncio.wait((task, waiter), return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    return ABSENT if cancelled.is_set() or task.cancelled() else task.result()


class AutoPresence:
    """Approves at once, like WebDriver's isUserConsenting / isUserVerified; both can change.

    ``automatic`` is CDP's automaticPresenceSimulation: when it is off, a request waits for it
    to be turned on again, as for a touch that may never come; after ``wait_s`` (WebAuthn's
    longest recommended ceremony timeout by default) the user is taken not to be there."""

    def __init__(
        self,
        consenting: bool = True,
        verified: bool = True,
        automatic: bool = True,
        wait_s: float = 600.0,
    ) -> None:
        self.consenting = consenting
        self.verified = verified
        self.wait_s = wait_s
        self._automatic = asyncio.Event()
        self.automatic = automatic

    @property
    def automatic(self) -> bool:
        return self._automatic.is_set()

    @automatic.setter
    def automatic(self, value: bool) -> None:
        if value:
            self._automatic.set()
        else:
            self._automatic.clear()

    async def confirm(self, request: PresenceRequest) -> PresenceResponse:
        if not self._automatic.is_set():
            waited = await unless_called_off(self._wait())
            if not waited.present:
                return waited
        if called_off():
            return ABSENT
        return PresenceResponse(present=self.consenting, verified=self.consenting and self.verified)

    async def _wait(self) -> PresenceResponse:
        try:
            async with asyncio.timeout(self.wait_s):
                await self._automatic.wait()
        except TimeoutError:
            return ABSENT
        return PresenceResponse(present=True)


class DenyPresence:
    """Declines every request."""

    async def confirm(self, request: PresenceRequest) -> PresenceResponse:
        return PresenceResponse(present=False)


class ScriptedPresence:
    """Answers from a script, in order, and records every request it was asked."""

    def __init__(self, responses: Iterable[PresenceResponse | bool]) -> None:
        self._responses = deque(
            r if isinstance(r, PresenceResponse) else PresenceResponse(r, r) for r in responses
        )
        self.requests: list[PresenceRequest] = []

    async def confirm(self, request: PresenceRequest) -> PresenceResponse:
        self.requests.append(request)
        if not self._responses:
            raise RuntimeError(f"presence script exhausted at {request.ceremony.value}")
        return self._responses.popleft()


class PromptPresence:
    """Asks a front end (a callback that shows the request to a person) and waits."""

    def __init__(self, ask: Callable[[PresenceRequest], Awaitable[PresenceResponse]]) -> None:
        self._ask = ask

    async def confirm(self, request: PresenceRequest) -> PresenceResponse:
        return await unless_called_off(self._ask(request))
