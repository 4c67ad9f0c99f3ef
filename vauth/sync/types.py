"""What the sync library answers with, and its errors: each message a sentence a person reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


class SyncError(Exception):
    """Sync cannot do what was asked; the message says why, for a person."""


class SegmentRefused(SyncError):
    """A file in the sync folder failed a check and was not applied (nothing changed)."""

    def __init__(self, path: Path | str, reason: str, repair: str = "") -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason
        self.repair = repair  # what repairs it, or what the person can do (a sentence)


@dataclass(frozen=True)
class DeviceInfo:
    device_id: str
    name: str
    fingerprint: str
    this_device: bool
    removed: bool
    last_seq: int
    last_seen: int | None  # unix seconds of the last segment applied from it


@dataclass(frozen=True)
class JoinRequest:
    device_id: str
    name: str
    fingerprint: str


@dataclass(frozen=True)
class Refusal:
    path: str
    reason: str  # why, a phrase ("it is a symbolic link, ...")
    at: int  # unix seconds
    repair: str = ""  # what repairs it, or what the person can do (a sentence)


@dataclass(frozen=True)
class SyncStatus:
    folder: str
    device_id: str
    devices: list[DeviceInfo]
    pending: list[JoinRequest]
    refused: list[Refusal]  # the most recent (at most vauth.vault.replica.MAX_REFUSALS)
    joined: bool
    unpublished: int
    refused_total: int = 0  # how many files are refused in all
    repairs: list[str] = field(default_factory=list)  # what this device restored lately


@dataclass(frozen=True)
class MergeReport:
    applied: int  # entries applied
    refused: list[Refusal] = field(default_factory=list)
    changed_ids: list[bytes] = field(default_factory=list)
