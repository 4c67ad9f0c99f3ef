"""Sync between a person's own devices through a folder that a file-replication engine
(Syncthing, Nextcloud, rsync) keeps the same on each: vauth itself never opens a connection.

Each device writes only its own journal segments, encrypted under the group key, signed by
the device and chained; every device merges every other's by the rule in merge.py."""

from vauth.sync.sync import Sync
from vauth.sync.types import (
    DeviceInfo,
    JoinRequest,
    MergeReport,
    Refusal,
    SegmentRefused,
    SyncError,
    SyncStatus,
)

__all__ = [
    "DeviceInfo",
    "JoinRequest",
    "MergeReport",
    "Refusal",
    "SegmentRefused",
    "Sync",
    "SyncError",
    "SyncStatus",
]
