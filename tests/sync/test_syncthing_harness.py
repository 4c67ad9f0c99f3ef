"""The harness itself: two real Syncthing instances on loopback carry a file from A to B."""

from __future__ import annotations

import os
from collections.abc import Callable

from tests.sync.syncthing import Cluster, wait_for_file


def test_a_file_written_in_a_arrives_in_b(syncthing_cluster: Callable[[int], Cluster]) -> None:
    cluster = syncthing_cluster(2)
    a, b = cluster[0], cluster[1]
    payload = os.urandom(4096)
    (a.folder / "hello.bin").write_bytes(payload)
    a.scan()
    wait_for_file(b.folder / "hello.bin", timeout=60, content=payload)
    # nothing but loopback: each instance listens on 127.0.0.1 only and knows its peer statically
    config = a.get("/rest/config/options")
    assert isinstance(config, dict)
    assert config["listenAddresses"] == [a.address]
    assert not config["globalAnnounceEnabled"] and not config["localAnnounceEnabled"]
    assert not config["relaysEnabled"] and not config["natEnabled"]
    assert config["urAccepted"] == -1 and not config["crashReportingEnabled"]
