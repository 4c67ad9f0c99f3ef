"""The vault: an encrypted SQLCipher file plus its key file, opened with a passphrase."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from vauth.secret import Secret, wipe
from vauth.vault.database import Database
from vauth.vault.errors import VaultError, VaultLockedError
from vauth.vault.kdf import KdfParams
from vauth.vault.keyfile import KeyFile, keyfile_path
from vauth.vault.store import VaultStore

logger = logging.getLogger(__name__)
T = TypeVar("T")


def create_private(path: Path, content: bytes = b"") -> None:
    """Create ``path`` with mode 0600 (owner only) and ``content``; FileExistsError if it is
    there. The mode is set by open(), so no byte is ever readable by others."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(content)


class Vault:
    """Open with :meth:`open`; ``store`` is the CredentialStore the authenticator uses.

    A locked vault holds no key material: the connection is closed and the data key wiped.
    Passphrases may be given as ``bytearray`` (vauth wipes its own once used).
    """

    def __init__(
        self, path: Path, keyfile: KeyFile, data_key: bytearray, idle_lock_s: float | None = None
    ) -> None:
        """Takes ``data_key``: the vault wipes it when it locks (or now, if the database does
        not open with it)."""
        self.path = path
        self.keyfile = keyfile
        self.idle_lock_s = idle_lock_s
        self.recovery_key: str | None = None  # set only when this call created the vault
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="vauth-vault")
        self._lock = threading.Lock()
        self._data_key: bytearray | None = data_key
        try:
            self._database: Database | None = self._call(lambda: Database(path, data_key))
        except BaseException:
            wipe(data_key)
            self.executor.shutdown(wait=False)
            raise
        self._last_use = time.monotonic()
        self.store = VaultStore(self)
        self.with_database_sync(self.store.purge)  # the trash forgets lazily: when opened

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        passphrase: Secret,
        *,
        create: bool = True,
        kdf: KdfParams | None = None,
        idle_lock_s: float | None = None,
    ) -> Vault:
        """Open the vault at ``path`` (creating it if absent and ``create``). A wrong
        passphrase raises WrongPassphraseError and changes nothing on disk."""
        path = Path(path).expanduser().absolute()
        keys = keyfile_path(path)
        if path.exists() or keys.exists():
            keyfile = KeyFile.read(keys)
            if not path.exists():
                raise VaultError(f"the vault {path} is missing (its key file is there)")
            if not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
                raise VaultError(
                    f"the vault {path} is read-only (its file or folder cannot be written): "
                    "vauth must write to it to count signatures and keep new passkeys"
                )
            return cls(path, keyfile, keyfile.unwrap(passphrase), idle_lock_s)
        if not create:
            raise VaultError(f"there is no vault at {path}")
        if not passphrase:
            raise VaultError("a new vault needs a passphrase")
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        keyfile, data_key, recovery = KeyFile.create(passphrase, kdf)
        keyfile.write(keys)
        create_private(path)  # SQLCipher's -wal and -shm take the database file's mode
        vault = cls(path, keyfile, data_key, idle_lock_s)
        vault.recovery_key = recovery
        return vault

    @classmethod
    def recover(
        cls,
        path: str | Path,
        recovery_key: str,
        new_passphrase: Secret,
        kdf: KdfParams | None = None,
    ) -> Vault:
        """Open with the recovery key and set a new passphrase. The database is untouched, so
        a daemon that has the vault open keeps working (it reads the key file again to unlock)."""
        path = Path(path).expanduser().absolute()
        if not new_passphrase:
            raise VaultError("the new passphrase is empty")
        keyfile = KeyFile.read(keyfile_path(path))
        data_key = keyfile.unwrap_with_recovery_key(recovery_key)
        try:
            updated = keyfile.with_passphrase(data_key, new_passphrase, kdf)
        except BaseException:
            wipe(data_key)
            raise
        vault = cls(path, updated, data_key)  # proves the key opens the database first
        updated.write(keyfile_path(path))
        return vault

    @staticmethod
    def check_recovery_key(path: str | Path, recovery_key: str) -> None:
        """WrongPassphraseError unless ``recovery_key`` opens the vault at ``path``; nothing is
        changed (so a person is told before choosing a new passphrase)."""
        keyfile = KeyFile.read(keyfile_path(Path(path).expanduser().absolute()))
        wipe(keyfile.unwrap_with_recovery_key(recovery_key))

    @staticmethod
    def issue_recovery_key(path: str | Path, passphrase: Secret) -> str:
        """A new recovery key for the vault at ``path`` (its passphrase proves the right to
        one); the old recovery key stops working. Works whether or not the vault is open."""
        keys = keyfile_path(Path(path).expanduser().absolute())
        keyfile = KeyFile.read(keys)
        data_key = keyfile.unwrap(passphrase)
        try:
            updated, recovery = keyfile.with_new_recovery_key(data_key)
        finally:
            wipe(data_key)
        updated.write(keys)
        return recovery

    # -- passphrase, lock, backup ----------------------------------------------------------

    def _current_keyfile(self) -> KeyFile:
        """The key file as it is on disk now: another process (``vauth recover`` while the
        daemon runs) may have replaced it, and it is the truth."""
        self.keyfile = KeyFile.read(keyfile_path(self.path))
        return self.keyfile

    def change_passphrase(self, old: Secret, new: Secret, kdf: KdfParams | None = None) -> None:
        """Rewrap the data key under ``new``; the key file is replaced atomically."""
        if not new:
            raise VaultError("the new passphrase is empty")
        data_key = self._current_keyfile().unwrap(old)
        try:
            updated = self.keyfile.with_passphrase(data_key, new, kdf)
        finally:
            wipe(data_key)
        updated.write(keyfile_path(self.path))
        self.keyfile = updated

    def reset_passphrase(
        self, recovery_key: str, new: Secret, kdf: KdfParams | None = None
    ) -> None:
        """Set a new passphrase with the recovery key (the old passphrase is lost), and unlock."""
        if not new:
            raise VaultError("the new passphrase is empty")
        data_key = self._current_keyfile().unwrap_with_recovery_key(recovery_key)
        try:
            updated = self.keyfile.with_passphrase(data_key, new, kdf)
        except BaseException:
            wipe(data_key)
            raise
        if self.locked:
            self._open_with(data_key)  # proves the key opens the database before writing
        else:
            wipe(data_key)
        updated.write(keyfile_path(self.path))
        self.keyfile = updated

    def new_recovery_key(self, passphrase: Secret) -> str:
        """Replace the recovery key (the old one stops working); the new one, to show once."""
        recovery = Vault.issue_recovery_key(self.path, passphrase)
        self._current_keyfile()
        return recovery

    @property
    def locked(self) -> bool:
        return self._database is None

    def lock(self) -> None:
        """Write what is queued, close the database and forget the data key."""

        def work() -> None:
            with self._lock:
                self._close_locked()

        self._call(work)

    def _close_locked(self) -> None:
        """Lock: write what is queued, forget the data key and close the database, the last
        two even if the write fails (on the vault's thread, holding ``_lock``)."""
        database, self._database = self._database, None
        try:
            if database is not None:
                self.store.flush(database)
        finally:
            self._forget_key()
            if database is not None:
                database.close()

    def _forget_key(self) -> None:
        wipe(self._data_key)
        self._data_key = None
        self.store.forget()

    def flush_quietly(self) -> None:
        """Write the store's queued bookkeeping if the vault is open (a locked vault's waits)."""
        with contextlib.suppress(VaultLockedError):
            self.with_database(self.store.flush)

    def check_passphrase(self, passphrase: Secret) -> None:
        """WrongPassphraseError unless ``passphrase`` opens this vault's key file (slow on
        purpose: the same Argon2id as unlocking). Works locked or not."""
        wipe(self._current_keyfile().unwrap(passphrase))

    def unlock(self, passphrase: Secret) -> None:
        self._open_with(self._current_keyfile().unwrap(passphrase))

    def _open_with(self, data_key: bytearray) -> None:
        """Open the database with ``data_key``, which the vault then owns and wipes on lock
        (or at once, if the vault was unlocked already: that connection stays)."""
        try:
            database = self._call(lambda: Database(self.path, data_key))
        except BaseException:
            wipe(data_key)
            raise
        with self._lock:
            unused = self._database is not None
            if not unused:
                self._data_key, self._database = data_key, database
                self._last_use = time.monotonic()
        if unused:
            wipe(data_key)
            self._call(database.close)
            return
        self.with_database_sync(self.store.purge)  # the trash forgets lazily: when unlocked

    def backup(self, destination: str | Path) -> Path:
        """A consistent, encrypted copy (database and key file) while the vault is in use."""
        target = Path(destination).expanduser().absolute()
        if target.exists():
            raise VaultError(f"{target} exists already")
        try:
            return self._backup(target)
        except OSError as exc:
            raise VaultError(f"vauth cannot write the backup {target}: {exc.strerror}") from None

    def _backup(self, target: Path) -> Path:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = target.with_name(target.name + ".partial")
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        create_private(partial)  # 0600 before a byte is written, whatever the umask

        def work(db: Database) -> None:
            assert self._data_key is not None
            db.backup_to(partial, self._data_key)

        self.with_database_sync(work)
        keys = keyfile_path(target)
        with contextlib.suppress(FileNotFoundError):
            keys.unlink()
        create_private(keys, keyfile_path(self.path).read_bytes())
        partial.replace(target)
        return target

    def integrity_check(self) -> str:
        return self.with_database_sync(lambda db: db.integrity_check())

    def close(self) -> None:
        self.lock()
        self.executor.shutdown(wait=True)

    # -- the worker thread -----------------------------------------------------------------

    def ensure_open(self) -> None:
        """Raise VaultLockedError if locked, locking first if it sat idle too long (for
        answers served from memory, which do not pass through ``with_database``)."""
        with self._lock:
            idle = self._idle()
            if not idle and self._database is not None:
                self._last_use = time.monotonic()
                return
        if idle:
            self.lock()
        raise VaultLockedError()

    def with_database(self, work: Callable[[Database], T]) -> T:
        """Run ``work`` with the open database (on the vault's thread)."""
        with self._lock:
            if self._idle():
                logger.info("vault locked after %.0f s idle", self.idle_lock_s)
                self._close_locked()
            current = self._database
            self._last_use = time.monotonic()
        if current is None:
            raise VaultLockedError()
        return work(current)

    def _idle(self) -> bool:
        """Whether the vault is open but unused for longer than ``idle_lock_s`` (hold ``_lock``)."""
        return (
            self._database is not None
            and self.idle_lock_s is not None
            and time.monotonic() - self._last_use > self.idle_lock_s
        )

    def with_database_sync(self, work: Callable[[Database], T]) -> T:
        return self._call(lambda: self.with_database(work))

    def _call(self, work: Callable[[], T]) -> T:
        return self.executor.submit(work).result()
