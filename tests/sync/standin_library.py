"""A stand-in for ``vauth.sync`` (the library sync13 builds), with the contract's names and
types, for testing the application side -- CLI, socket actions, daemon -- on its own.

Its state is a JSON file beside the vault and files in the folder, so that a daemon and an
offline CLI see the same group. It does no crypto and no merge: those are the library's, tested
there. ``tests/sync/standin/sitecustomize.py`` installs it in a daemon's process."""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


class SyncError(Exception):
    pass


class SegmentRefused(SyncError):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path} was refused: {reason}")
        self.path, self.reason = path, reason


@dataclass(frozen=True)
class DeviceInfo:
    device_id: str
    name: str
    fingerprint: str
    this_device: bool
    removed: bool
    last_seq: int
    last_seen: int | None


@dataclass(frozen=True)
class JoinRequest:
    device_id: str
    name: str
    fingerprint: str


@dataclass(frozen=True)
class Refusal:
    path: str
    reason: str
    at: int


@dataclass(frozen=True)
class SyncStatus:
    folder: str
    device_id: str
    devices: list[DeviceInfo]
    pending: list[JoinRequest]
    refused: list[Refusal]
    joined: bool
    unpublished: int


@dataclass(frozen=True)
class MergeReport:
    applied: int
    refused: list[Refusal]
    changed_ids: list[bytes]


def fingerprint(device_id: str) -> str:
    digest = hashlib.sha256(device_id.encode()).hexdigest()
    return " ".join(str(int(digest[i : i + 5], 16) % 100000).zfill(5) for i in range(0, 20, 5))


class Sync:
    def __init__(self, vault: Any) -> None:
        self._state_path = Path(f"{vault.path}.standin-sync.json")

    def _state(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self._state_path.read_text()))
        except FileNotFoundError:
            return {}

    def _save(self, state: dict[str, Any]) -> None:
        self._state_path.write_text(json.dumps(state))

    @property
    def configured(self) -> bool:
        return "folder" in self._state()

    @property
    def folder(self) -> Path | None:
        folder = self._state().get("folder")
        return None if folder is None else Path(folder)

    def _start(self, folder: Path, name: str, joined: bool) -> dict[str, Any]:
        if self.configured:
            raise SyncError(f"this computer already syncs through {self.folder}")
        if not folder.is_dir():
            raise SyncError(f"{folder} is not a folder")
        device_id = os.urandom(8).hex()
        me = {"device_id": device_id, "name": name, "fingerprint": fingerprint(device_id)}
        state = {
            "folder": str(folder),
            "me": me,
            "joined": joined,
            "members": [me] if joined else [],
        }
        self._save(state)
        return state

    def init(self, folder: Path, device_name: str) -> DeviceInfo:
        state = self._start(folder, device_name, joined=True)
        return self._info(state["me"], state)

    def request_join(self, folder: Path, device_name: str) -> JoinRequest:
        state = self._start(folder, device_name, joined=False)
        join = folder / "vauth" / "join"
        join.mkdir(parents=True, exist_ok=True)
        (join / f"{state['me']['device_id']}.json").write_text(json.dumps(state["me"]))
        return JoinRequest(**state["me"])

    def pending(self) -> list[JoinRequest]:
        state = self._state()
        members = {m["device_id"] for m in state["members"]}
        join = Path(state["folder"]) / "vauth" / "join"
        requests = [json.loads(p.read_text()) for p in sorted(join.glob("*.json"))]
        return [JoinRequest(**r) for r in requests if r["device_id"] not in members]

    def approve(self, device_id: str, fingerprint: str) -> DeviceInfo:
        for request in self.pending():
            if request.device_id == device_id:
                break
        else:
            raise SyncError(f"no computer with ID {device_id} asked to join")
        if " ".join(fingerprint.split()) != request.fingerprint:
            raise SyncError(
                "the fingerprint you gave is not the one this computer sees, so it was not "
                "approved; compare them again"
            )
        state = self._state()
        state["members"].append(asdict(request))
        self._save(state)
        return self._info(asdict(request), state)

    def _info(self, member: dict[str, Any], state: dict[str, Any]) -> DeviceInfo:
        return DeviceInfo(
            member["device_id"],
            member["name"],
            member["fingerprint"],
            member["device_id"] == state["me"]["device_id"],
            bool(member.get("removed")),
            0,
            None,
        )

    def devices(self) -> list[DeviceInfo]:
        state = self._state()
        return [self._info(m, state) for m in state["members"]]

    def remove(self, device_id: str) -> None:
        state = self._state()
        for member in state["members"]:
            if member["device_id"] == device_id:
                member["removed"] = True
                self._save(state)
                return
        raise SyncError(f"no device with ID {device_id} is in the group")

    def status(self) -> SyncStatus:
        state = self._state()
        return SyncStatus(
            state["folder"],
            state["me"]["device_id"],
            self.devices(),
            self.pending(),
            [
                Refusal(
                    "vauth/devices/x/seg-0000000002.vseg",
                    "its signature is not valid",
                    int(time.time()),
                )
            ]
            if (Path(state["folder"]) / "refuse-me").exists()
            else [],
            state["joined"],
            0,
        )

    def _record(self, what: str) -> None:
        """What the daemon asked of the library, and when, for the tests to read."""
        with Path(f"{self._state_path}.calls").open("a") as log:
            log.write(f"{what} {time.time()}\n")

    def publish(self) -> int:
        self._record("publish")
        return 0

    def merge(self) -> MergeReport:
        self._record("merge")
        return MergeReport(0, [], [])
