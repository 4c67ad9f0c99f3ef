"""The sync folder's layout, and writing to it so that it never holds half a file.

    FOLDER/vauth/group.json                          the group, signed by its first device
    FOLDER/vauth/devices/<device>/device.json        a member's public identity, self-signed
    FOLDER/vauth/devices/<device>/seg-<seq>.vseg     its journal segments (immutable)
    FOLDER/vauth/devices/<device>/snap-<seq>.vsnap   its latest snapshot: the group's passkeys
                                                     as it held them after its segment <seq>
    FOLDER/vauth/join/<device>.json                  a request to join
    FOLDER/vauth/keys/<n>-<author>/<device>.vkey     a group key (epoch n, made by the device
                                                     <author>) sealed to one member, with the
                                                     membership change that made it

Each device writes only its own files (and, when it changes the membership, the key envelopes
of that change), so the replication engine never sees two writers of one file. A file is
written complete in the vault's own directory, flushed to disk, then moved into the folder in
one rename; when the two are on different file systems it is copied beside its final name
under a name Syncthing ignores (``.syncthing.*.tmp``), flushed, then renamed. Whatever stands
in the way of a file this device writes (a link, a pipe, a folder someone put there) is
replaced, never followed. Reading is vauth/sync/reader.py's alone.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path

from vauth.sync import reader

ROOT = "vauth"
DEVICE_ID = re.compile(r"[0-9a-f]{20}")
SEGMENT = re.compile(r"seg-(\d{10})\.vseg")
SNAPSHOT = re.compile(r"snap-(\d{10})\.vsnap")
EPOCH = re.compile(r"([1-9]\d{0,17})-([0-9a-f]{20})")
JOIN = re.compile(r"([0-9a-f]{20})\.json")
# What a replication engine leaves while it works; never judged.
IGNORED = re.compile(r"(\.syncthing\..*\.tmp|~syncthing~.*\.tmp|\.stfolder|\.stignore|\.vauth-.*)")


def epoch_name(number: int, author: str) -> str:
    return f"{number}-{author}"


class Folder:
    def __init__(self, folder: Path, scratch: Path) -> None:
        self.path = folder
        self.root = folder / ROOT
        self.scratch = scratch  # the vault's own directory: temporary files start there

    def group(self) -> Path:
        return self.root / "group.json"

    def devices(self) -> Path:
        return self.root / "devices"

    def device_dir(self, device_id: str) -> Path:
        return self.root / "devices" / device_id

    def device_doc(self, device_id: str) -> Path:
        return self.device_dir(device_id) / "device.json"

    def segment(self, device_id: str, seq: int) -> Path:
        return self.device_dir(device_id) / f"seg-{seq:010d}.vseg"

    def snapshot(self, device_id: str, seq: int) -> Path:
        return self.device_dir(device_id) / f"snap-{seq:010d}.vsnap"

    def join(self) -> Path:
        return self.root / "join"

    def join_request(self, device_id: str) -> Path:
        return self.root / "join" / f"{device_id}.json"

    def keys(self) -> Path:
        return self.root / "keys"

    def key_envelope(self, epoch: str, device_id: str) -> Path:
        return self.root / "keys" / epoch / f"{device_id}.vkey"

    def relative(self, path: Path) -> str:
        """``path`` as the vault keeps it (relative to the sync folder)."""
        return path.relative_to(self.path).as_posix()

    def absolute(self, relative: str) -> Path:
        return self.path / relative

    def listing(self, directory: Path) -> dict[str, reader.Version]:
        return reader.listing(self.path, directory)

    def snapshots(self, device_id: str) -> dict[int, Path]:
        found = {}
        for name in self.listing(self.device_dir(device_id)):
            match = SNAPSHOT.fullmatch(name)
            if match:
                found[int(match.group(1))] = self.device_dir(device_id) / name
        return found

    def write(self, target: Path, data: bytes, replace: bool = False) -> None:
        """Put ``data`` at ``target`` whole or not at all. An existing target is kept unless
        ``replace`` (a segment is never rewritten: FileExistsError)."""
        if not replace and reader.version(target) is not None:
            raise FileExistsError(target)
        self._clear_way(target)
        fd, temporary = tempfile.mkstemp(prefix=".vauth-", suffix=".tmp", dir=self.scratch)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            try:
                os.replace(temporary, target)
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                # beside its final name: whatever someone left there goes, never followed
                beside = target.with_name(f".syncthing.{target.name}.tmp")
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(beside)
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
                with os.fdopen(os.open(beside, flags, 0o600), "wb") as copy:
                    copy.write(data)
                    copy.flush()
                    os.fsync(copy.fileno())
                os.replace(beside, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
        _fsync_dir(target.parent)

    def take_away(self, path: Path, seen: reader.Version) -> bool:
        """Remove ``path`` if it still is the link, pipe, socket or device seen there: vauth
        writes none, and a replication engine may stall on one (Syncthing 1.19 stops pulling
        over a link to /dev/zero). Never a file or a folder; whether it went."""
        if seen.kind in (stat.S_IFREG, stat.S_IFDIR) or not path.is_relative_to(self.root):
            return False
        if reader.version(path) != seen:
            return False
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return True

    def _clear_way(self, target: Path) -> None:
        """Real folders from the sync folder down to ``target``'s, and nothing but a file at
        ``target``: a link or a file where a folder belongs, or a folder where the file
        belongs, was put there by someone else and goes (a link is removed, not followed)."""
        current = self.path
        for part in target.relative_to(self.path).parts[:-1]:
            current = current / part
            found = reader.version(current)
            if found is not None and found.kind != stat.S_IFDIR:
                os.unlink(current)
            if found is None or found.kind != stat.S_IFDIR:
                os.mkdir(current, 0o700)
        found = reader.version(target)
        if found is not None and found.kind == stat.S_IFDIR:
            shutil.rmtree(target)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # a folder, or nothing: never a pipe that blocks
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
