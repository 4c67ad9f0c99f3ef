"""The daemon's side of sync (issue 13): it publishes this device's changes to the sync folder
and merges other devices' changes from it, while the vault is open and sync is set up.

The journal, its crypto and the merge are the library's (``vauth.sync``, the contract in
/work/prompts/sync-contract.md); this module only decides *when* they run:

- a change in the folder (another device's segment arriving through Syncthing, a join request,
  a key envelope) is noticed through ``watchfiles`` (inotify on Linux) and merged at once;
- local changes (a new passkey, a rename, a delete) are published DEBOUNCE_S after the first
  operation that may have made one, so a burst of edits goes out as one segment, and a merge
  never waits for a pending publish;
- every POLL_S seconds the folder is merged and the outbox published anyway: the fallback when
  the watcher cannot run (no inotify, a network file system) or missed an event.

Publishing and merging are blocking (SQLCipher, files, signatures): they run one at a time, in a
thread of their own, never on the event loop. That thread is a daemon thread, not the loop's
executor (whose threads the interpreter joins at exit), and `status` takes no turn behind a
merge: a read of the folder that blocks (the library reads none that can, issue 19, but a
network disk may hang) can delay neither `vauth sync status` nor stopping the daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

import watchfiles

from vauth.vault import VaultLockedError

logger = logging.getLogger(__name__)
T = TypeVar("T")

POLL_S = 30.0  # merge and publish at least this often, watcher or not
LOCK_WAIT_S = 30.0  # a command waits this long for a merge or publish to end, then says so
DEBOUNCE_S = 0.2  # local changes within this window after the first go out as one segment
WATCH_DEBOUNCE_MS = 200  # folder events this close together make one merge


class SyncEngine(Protocol):
    """What the daemon uses of ``vauth.sync.Sync`` (the contract's blocking API)."""

    @property
    def configured(self) -> bool: ...

    @property
    def folder(self) -> Path | None: ...

    def init(self, folder: Path, device_name: str) -> Any: ...
    def request_join(self, folder: Path, device_name: str) -> Any: ...
    def pending(self) -> list[Any]: ...
    def approve(self, device_id: str, fingerprint: str) -> Any: ...
    def devices(self) -> list[Any]: ...
    def remove(self, device_id: str) -> None: ...
    def status(self) -> Any: ...
    @property
    def default(self) -> str: ...

    def set_default(self, value: str) -> None: ...
    def leave(self) -> None: ...
    def publish(self) -> int: ...
    def merge(self) -> Any: ...


def sync_module() -> Any:
    """``vauth.sync``, the library (imported when first needed: the daemon starts without it)."""
    return importlib.import_module("vauth.sync")


def library_engine(vault: object) -> SyncEngine:
    return cast(SyncEngine, sync_module().Sync(vault))


def is_sync_error(exc: BaseException) -> bool:
    """Whether ``exc`` is the library's ``SyncError`` (its message is a sentence for a person)."""
    try:
        return isinstance(exc, sync_module().SyncError)
    except ImportError:
        return False


class SyncBusy(Exception):
    """A command waited LOCK_WAIT_S for a merge or publish that has not ended."""


async def off_loop(work: Callable[[], T]) -> T:
    """``work()`` in a daemon thread of its own: the loop awaits it without blocking, and a
    thread that never returns keeps neither the loop nor the process from ending."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, failure: BaseException | None) -> None:
        if future.done():  # cancelled meanwhile
            return
        if failure is not None:
            future.set_exception(failure)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        result, failure = None, None
        try:
            result = work()
        except BaseException as exc:
            failure = exc
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits
            loop.call_soon_threadsafe(settle, result, failure)

    threading.Thread(target=run, name="vauth-sync", daemon=True).start()
    return await future


def _ignored(_change: watchfiles.Change, path: str) -> bool:
    """Files no merge needs: Syncthing's temporaries and markers, and vauth's own temporaries."""
    name = Path(path).name
    return name.startswith((".syncthing.", "~syncthing~", ".stfolder", ".stignore")) or (
        name.endswith(".tmp")
    )


class SyncRunner:
    """Runs ``publish`` and ``merge`` of one vault's sync engine at the right moments."""

    def __init__(
        self,
        engine: Callable[[], SyncEngine],
        *,
        poll_s: float = POLL_S,
        debounce_s: float = DEBOUNCE_S,
        force_polling: bool = False,
        on_merged: Callable[[Any], Awaitable[None] | None] | None = None,
    ) -> None:
        self._make_engine = engine
        self._engine: SyncEngine | None = None
        self.poll_s = poll_s
        self.debounce_s = debounce_s
        self.force_polling = force_polling
        self.on_merged = on_merged
        self.lock = asyncio.Lock()  # one publish, merge or command on the engine at a time
        self._making = asyncio.Lock()
        self._wake = asyncio.Event()
        self._local_since: float | None = None  # when the first unpublished local change came
        self._folder_change = False
        self._folder_watched: Path | None = None
        self._unreadable = False  # the sync settings could not be read at the last look
        self.merges = 0
        self.publishes = 0
        self.merge_s: deque[float] = deque(maxlen=10)  # how long the last merges took
        self._errors: dict[str, str] = {}  # the last failure of merging, of publishing
        self._logged: dict[str, str] = {}  # the failure of each step logged last (once each)

    async def engine(self) -> SyncEngine:
        """The engine, made on first use in a thread of its own (it reads the vault)."""
        async with self._making:
            if self._engine is None:
                self._engine = await off_loop(self._make_engine)
            return self._engine

    async def call(self, work: Callable[[SyncEngine], T]) -> T:
        """``work(engine)`` off the loop, alone on the engine (SyncBusy after LOCK_WAIT_S);
        wakes the loop afterwards (a command such as ``init`` or ``approve`` may change what
        to watch or to publish)."""
        try:
            await asyncio.wait_for(self.lock.acquire(), LOCK_WAIT_S)
        except TimeoutError:
            raise SyncBusy() from None
        try:
            engine = await self.engine()
            return await off_loop(lambda: work(engine))
        finally:
            self.lock.release()
            self._folder_change = True
            self._local_since = time.monotonic() - self.debounce_s  # publish at once
            self._wake.set()

    async def peek(self, work: Callable[[SyncEngine], T]) -> T:
        """``work(engine)`` off the loop without waiting for a merge or publish to end (for
        what only reads: the engine answers `status` while it merges)."""
        engine = await self.engine()
        return await off_loop(lambda: work(engine))

    def changed_locally(self) -> None:
        """A local operation may have changed a synced passkey: publish within DEBOUNCE_S, with
        whatever else changes meanwhile (nothing to do while sync is not set up; the sync
        settings are read again if they could not be: the operation may have unlocked the
        vault)."""
        if self._folder_watched is None:
            if self._unreadable:
                self._wake.set()
        elif self._local_since is None:
            self._local_since = time.monotonic()
            self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop``: watch the folder, merge on its changes, publish local changes.
        Without a folder (sync not set up, or its settings unreadable) it sleeps until a
        command, an operation (after a failure) or the poll."""
        watcher: asyncio.Task[None] | None = None
        try:
            while not stop.is_set():
                self._wake.clear()  # whatever wakes it from here on ends the next sleep
                folder = await self._folder()
                if folder != self._folder_watched:
                    if watcher is not None:
                        await _cancel(watcher)
                        watcher = None
                    self._folder_watched = folder
                    if folder is not None:
                        watcher = asyncio.create_task(self._watch(folder, stop))
                        # catch up on what came, and publish what was left, while we were away
                        self._folder_change = True
                        self._local_since = time.monotonic() - self.debounce_s
                if folder is None:  # nothing to merge or publish until sync is set up
                    self._folder_change, self._local_since = False, None
                else:
                    await self._step()
                await self._sleep(stop)
        finally:
            if watcher is not None:
                await _cancel(watcher)

    async def _folder(self) -> Path | None:
        try:
            async with self.lock:
                engine = await self.engine()
                configured = await off_loop(lambda: engine.configured)
                self._worked("settings")
                self._unreadable = False
                return engine.folder if configured else None
        except Exception as exc:
            self._failed("settings", "cannot read the sync settings", exc)
            self._unreadable = True
            return None

    async def _sleep(self, stop: asyncio.Event) -> None:
        """Until the folder changes, a pending publish is due, or the poll comes round."""
        if self._folder_change or self._publish_due():
            return
        timeout = self.poll_s
        if self._local_since is not None:
            timeout = max(self._local_since + self.debounce_s - time.monotonic(), 0.0)
        waits = {asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())}
        done, pending = await asyncio.wait(
            waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()
        if not done and self._local_since is None:
            # the poll: merge and publish whatever the watcher may have missed
            self._folder_change = True
            self._local_since = time.monotonic() - self.debounce_s

    def _publish_due(self) -> bool:
        since = self._local_since
        return since is not None and time.monotonic() - since >= self.debounce_s

    async def _step(self) -> None:
        if self._folder_change:  # another computer's change: merge at once
            self._folder_change = False
            await self._merge()
        if self._publish_due():
            self._local_since = None
            await self._publish()

    async def _merge(self) -> None:
        try:
            async with self.lock:
                engine = await self.engine()
                started = time.monotonic()
                report = await off_loop(engine.merge)
                self.merge_s.append(round(time.monotonic() - started, 4))
        except Exception as exc:
            self._failed("merging", "merging other devices' changes failed", exc)
            return
        self.merges += 1
        self._worked("merging")  # what failed before is over
        applied = getattr(report, "applied", 0)
        refused = getattr(report, "refused", [])
        if applied:  # each refusal was logged once, when it was first judged
            logger.info("sync: merged %d change(s) from other devices", applied)
        if self.on_merged is not None and (applied or refused):
            result = self.on_merged(report)
            if result is not None:
                await result

    async def _publish(self) -> None:
        try:
            async with self.lock:
                engine = await self.engine()
                written = await off_loop(engine.publish)
        except Exception as exc:
            self._failed("publishing", "publishing this device's changes failed", exc)
            return
        self.publishes += 1
        self._worked("publishing")
        if written:
            logger.info("sync: published %d change(s) to the sync folder", written)

    async def _watch(self, folder: Path, stop: asyncio.Event) -> None:
        """Wake the loop when files in ``folder`` change; on failure, only the poll is left."""
        try:
            async for _changes in watchfiles.awatch(
                folder,
                watch_filter=lambda change, path: not _ignored(change, path),
                debounce=WATCH_DEBOUNCE_MS,
                stop_event=stop,
                force_polling=self.force_polling,
                poll_delay_ms=int(self.poll_s * 1000) if self.force_polling else 300,
            ):
                self._folder_change = True
                self._wake.set()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning(
                "sync: cannot watch %s (%s); checking it every %.0f s instead",
                folder,
                exc,
                self.poll_s,
            )

    @property
    def last_error(self) -> str | None:
        """What failed last and has not worked since (a sentence), or None."""
        return next(reversed(self._errors.values()), None)

    def _worked(self, step: str) -> None:
        self._errors.pop(step, None)
        self._logged.pop(step, None)

    def _failed(self, step: str, what: str, exc: Exception) -> None:
        """Keep the failure for status; log it once, not at each poll while it lasts."""
        self._errors.pop(step, None)
        failure = f"{type(exc).__name__}: {exc}"
        again = self._logged.get(step) == failure
        self._logged[step] = failure
        if isinstance(exc, VaultLockedError):  # unlocking resumes sync; nothing to report
            logger.debug("sync: %s: the vault is locked", what)
            return
        self._errors[step] = str(exc) if is_sync_error(exc) else f"{what}; see the daemon's log"
        if again:
            logger.debug("sync: %s, again (logged when it first failed)", what)
        elif is_sync_error(exc):
            logger.warning("sync: %s: %s", what, exc)
        else:
            logger.exception("sync: %s", what)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
