"""The one way vauth reads from the sync folder (issue 19; house style rule 20).

Anyone who can write to the folder (a peer's replication engine, another local user) may
leave anything there: a symbolic link to /dev/zero, a 256 MiB sparse file, a named pipe, a
socket, a directory where a file belongs. So every file vauth takes from the folder is read
here, and only here:

- the path is walked from the person's folder down with ``O_NOFOLLOW``: no symbolic link is
  followed, in the file's name or in a folder on its way;
- ``lstat`` first: only a regular file, of at most the size its kind may have, is opened;
- it is opened with ``O_NOFOLLOW | O_NONBLOCK`` (a pipe swapped in meanwhile cannot block),
  ``fstat`` checks that what was opened is the same regular file, and the read stops at the cap.

A refusal is a phrase for a sentence (:class:`Refused`). :class:`Judged` remembers what was
concluded about each file, by version (size, modification time, inode), in bounded space: a
file is judged once per version, however often the folder is merged.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Generic, TypeVar

T = TypeVar("T")
KIB, MIB = 1 << 10, 1 << 20

# What each kind of file may weigh, at most (checked before a byte is read).
DOCUMENT = 16 * KIB  # group.json, device.json, a join request
ENVELOPE = 256 * KIB  # a group key envelope (a joining device's carries the whole roster)
SEGMENT = 8 * MIB  # a journal segment (publish writes at most SEGMENT_PLAIN bytes of entries)
SNAPSHOT = 64 * MIB  # a snapshot: every synced passkey (read only by a device joining)
SEGMENT_PLAIN = 2 * MIB

_OPEN = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class Refused(Exception):
    """Not read: the reason is a phrase ("it is a symbolic link ...")."""


class Missing(Refused):
    """There is no such file (yet)."""


@dataclass(frozen=True, slots=True)
class Version:
    """What tells one version of a file from another without reading it."""

    kind: int  # the file type bits of st_mode
    size: int
    mtime_ns: int
    inode: int

    @classmethod
    def of(cls, found: os.stat_result) -> Version:
        return cls(stat.S_IFMT(found.st_mode), found.st_size, found.st_mtime_ns, found.st_ino)


def version(path: Path) -> Version | None:
    """The version of whatever is at ``path`` (not following a link there); None if nothing."""
    try:
        return Version.of(os.lstat(path))
    except OSError:
        return None


def read(root: Path, path: Path, cap: int) -> tuple[bytes, Version]:
    """The bytes of the regular file ``path`` under ``root`` (the person's sync folder, which
    may itself be a link they made), and its version; Refused (Missing) otherwise."""
    parts = PurePosixPath(os.path.relpath(path, root)).parts
    if not parts or parts[0] == ".." or any(p in ("", ".", "..") for p in parts):
        raise Refused("it lies outside the sync folder")
    try:
        directory = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise Refused(f"the sync folder cannot be opened ({exc.strerror or exc})") from None
    try:
        for part in parts[:-1]:
            inner = _enter(directory, part)
            os.close(directory)
            directory = inner
        return _read_file(directory, parts[-1], cap)
    finally:
        os.close(directory)


def _enter(directory: int, name: str) -> int:
    try:
        inner = os.open(name, _DIRECTORY, dir_fd=directory)
    except FileNotFoundError:
        raise Missing("it is not there") from None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise Refused(
                f"the folder {name} on its way is a symbolic link or not a folder"
            ) from None
        raise Refused(f"it cannot be read ({exc.strerror or exc})") from None
    return inner


def _read_file(directory: int, name: str, cap: int) -> tuple[bytes, Version]:
    try:
        found = os.stat(name, dir_fd=directory, follow_symlinks=False)
    except FileNotFoundError:
        raise Missing("it is not there") from None
    except OSError as exc:
        raise Refused(f"it cannot be read ({exc.strerror or exc})") from None
    _check(found, cap)
    try:
        fd = os.open(name, _OPEN, dir_fd=directory)
    except FileNotFoundError:
        raise Missing("it is not there") from None
    except OSError as exc:
        raise Refused(f"it cannot be read ({exc.strerror or exc})") from None
    try:
        opened = os.fstat(fd)
        if (opened.st_dev, opened.st_ino) != (found.st_dev, found.st_ino):
            raise Refused("it was replaced while vauth read it")
        _check(opened, cap)
        chunks, total = [], 0
        while total <= cap:
            chunk = os.read(fd, min(cap + 1 - total, MIB))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > cap:
            raise Refused(f"it grew beyond {_size(cap)} while vauth read it")
        return b"".join(chunks), Version.of(opened)
    except OSError as exc:
        raise Refused(f"it cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)


def _check(found: os.stat_result, cap: int) -> None:
    mode = found.st_mode
    if stat.S_ISLNK(mode):
        raise Refused("it is a symbolic link, and vauth follows none in the sync folder")
    if not stat.S_ISREG(mode):
        raise Refused(f"it is {_what(mode)}, not a file")
    if found.st_size > cap:
        raise Refused(f"it is {_size(found.st_size)}, more than such a file can be ({_size(cap)})")


def unlike_a_file(found: Version) -> str | None:
    """Why what ``found`` describes cannot be read as a file (None: it is a regular file)."""
    if found.kind == stat.S_IFLNK:
        return "it is a symbolic link, and vauth follows none in the sync folder"
    if found.kind != stat.S_IFREG:
        return f"it is {_what(found.kind)}, not a file"
    return None


def _what(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _size(size: int) -> str:
    return f"{size / MIB:.0f} MiB" if size >= MIB else f"{size / KIB:.0f} KiB"


def read_json(root: Path, path: Path, cap: int = DOCUMENT) -> tuple[Any, Version]:
    """The JSON document at ``path`` (read as :func:`read` does); Refused if it is not JSON."""
    data, found = read(root, path, cap)
    try:
        return json.loads(data), found
    except (ValueError, RecursionError):
        raise Refused("it is not a JSON document (damaged, or still arriving)") from None


def listing(root: Path, directory: Path) -> dict[str, Version]:
    """What ``directory`` under ``root`` holds (reached without following a link), by name,
    each with its version (a link is a link, never what it points to); nothing if it is
    missing or is not a real folder."""
    parts = PurePosixPath(os.path.relpath(directory, root)).parts
    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return {}
    try:
        for part in parts:
            if part != ".":
                inner = _enter(fd, part)
                os.close(fd)
                fd = inner
    except Refused:
        os.close(fd)
        return {}
    found = {}
    try:
        with os.scandir(fd) as entries:
            for entry in entries:
                try:
                    found[entry.name] = Version.of(entry.stat(follow_symlinks=False))
                except OSError:
                    continue  # gone meanwhile
    except OSError:
        return {}
    finally:
        os.close(fd)
    return found


@dataclass(frozen=True, slots=True)
class _Entry(Generic[T]):
    version: object
    verdict: T


class Judged(Generic[T]):
    """What was concluded about files, by name and version, at most ``limit`` of them (the
    least recently seen go first). Thread-safe: `vauth sync status` reads while a merge runs."""

    def __init__(self, limit: int = 20_000) -> None:
        self.limit = limit
        self._entries: OrderedDict[str, _Entry[T]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, name: str, current: object) -> T | None:
        """The verdict on ``name`` if it was judged at this version, else None."""
        with self._lock:
            entry = self._entries.get(name)
            if entry is None or entry.version != current:
                return None
            self._entries.move_to_end(name)
            return entry.verdict

    def put(self, name: str, current: object, verdict: T) -> None:
        with self._lock:
            self._entries[name] = _Entry(current, verdict)
            self._entries.move_to_end(name)
            while len(self._entries) > self.limit:
                self._entries.popitem(last=False)

    def forget(self, name: str) -> None:
        with self._lock:
            self._entries.pop(name, None)

    def __len__(self) -> int:
        return len(self._entries)
