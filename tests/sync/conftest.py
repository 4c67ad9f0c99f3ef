"""Fixtures for the sync tests: real Syncthing instances on loopback (tests/sync/syncthing.py).

Without ``syncthing`` on PATH the tests that need it skip and say why."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.sync.syncthing import SYNCTHING, Cluster


def _need_syncthing() -> None:
    if SYNCTHING is None:
        pytest.skip("syncthing is not installed (apt install syncthing); the Syncthing tests skip")


@pytest.fixture
def syncthing_cluster(tmp_path: Path) -> Iterator[Callable[[int], Cluster]]:
    """``syncthing_cluster(n)`` starts n connected instances sharing one folder; all stop after."""
    _need_syncthing()
    started: list[Cluster] = []

    def start(n: int) -> Cluster:
        cluster = Cluster(tmp_path, [chr(ord("a") + i) for i in range(n)])
        started.append(cluster)
        try:
            cluster.start()
        except BaseException:
            print(cluster.logs())
            raise
        return cluster

    yield start
    for cluster in started:
        cluster.stop()
