"""The sync folder's layout, and writing to it so that it never holds half a file.

    FOLDER/vauth/group.json                          the group, signed by its first device
    FOLDER/vauth/devices/<device>/device.json        a member's public identity, self-signed
    FOLDER/vauth/devices/<device>/seg-<seq>.vseg     its journal segments (immutable)
    FOLDER/vauth/devices/<device>/snap-<seq>.vsnap   its latest snapshot: the group's passkeys
                                                     as it held them after its segment <seq>
    FOLDER/vauth/join/<device>.json                  a request to join
    FOLDER/vauth/keys/<epoch>/<device>.vkey          the group keys sealed to a member

Each device writes only its own files (and, when it approves or removes, key envelopes), so
the replication engine never sees two writers of one file. A file is written complete in the
vault's own directory, flushed to disk, then moved into the folder in one rename; when the two
are on different file systems it is copied beside its final name under a name Syncthing
ignores (``.syncthing.*.tmp``), flushed, then renamed.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

ROOT = "vauth"
SEGMENT = re.compile(r"seg-(\d{10})\.vseg")
SNAPSHOT = re.compile(r"snap-(\d{10})\.vsnap")


class Folder:
    def __init__(self, folder: Path, scratch: Path) -> None:
        self.path = folder
        self.root = folder / ROOT
        self.scratch = scratch  # the vault's own directory: temporary files start there

    def group(self) -> Path:
        return self.root / "group.json"

    def device_dir(self, device_id: str) -> Path:
        return self.root / "devices" / device_id

    def device_doc(self, device_id: str) -> Path:
        return self.device_dir(device_id) / "device.json"

    def segment(self, device_id: str, seq: int) -> Path:
        return self.device_dir(device_id) / f"seg-{seq:010d}.vseg"

    def snapshot(self, device_id: str, seq: int) -> Path:
        return self.device_dir(device_id) / f"snap-{seq:010d}.vsnap"

    def join_request(self, device_id: str) -> Path:
        return self.root / "join" / f"{device_id}.json"

    def key_envelope(self, epoch: int, device_id: str) -> Path:
        return self.root / "keys" / str(epoch) / f"{device_id}.vkey"

    def device_ids(self) -> list[str]:
        devices = self.root / "devices"
        return sorted(p.name for p in devices.iterdir() if p.is_dir()) if devices.is_dir() else []

    def join_requests(self) -> list[Path]:
        join = self.root / "join"
        return sorted(join.glob("*.json")) if join.is_dir() else []

    def epochs(self) -> list[int]:
        keys = self.root / "keys"
        if not keys.is_dir():
            return []
        return sorted(int(p.name) for p in keys.iterdir() if p.is_dir() and p.name.isdigit())

    def segments(self, device_id: str, pattern: re.Pattern[str] = SEGMENT) -> dict[int, Path]:
        directory = self.device_dir(device_id)
        if not directory.is_dir():
            return {}
        found = {}
        for path in directory.iterdir():
            match = pattern.fullmatch(path.name)
            if match:
                found[int(match.group(1))] = path
        return found

    def write(self, target: Path, data: bytes, replace: bool = False) -> None:
        """Put ``data`` at ``target`` whole or not at all. An existing target is kept unless
        ``replace`` (a segment is never rewritten: FileExistsError)."""
        if target.exists() and not replace:
            raise FileExistsError(target)
        target.parent.mkdir(parents=True, exist_ok=True)
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
                beside = target.with_name(f".syncthing.{target.name}.tmp")
                shutil.copyfile(temporary, beside)
                with open(beside, "rb+") as copy:
                    os.fsync(copy.fileno())
                os.replace(beside, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
        _fsync_dir(target.parent)

    def write_json(self, target: Path, document: dict[str, Any], replace: bool = True) -> None:
        self.write(target, json.dumps(document, indent=1, sort_keys=True).encode(), replace)


def read_json(path: Path) -> Any:
    """The JSON in ``path``, or None if it is missing or not JSON (a file still arriving)."""
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
