"""Fixtures for the native host's tests: a running daemon and a host attached to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from native_host_support import Daemon, Host


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    running = Daemon(tmp_path, "--presence", "auto")
    yield running
    running.stop()


@pytest.fixture
def host(tmp_path: Path) -> Iterator[Host]:
    started = Host(tmp_path)
    yield started
    started.kill()
