"""Shared fixtures: authenticators in memory, python-fido2 speaking CTAP2 to them."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

import pytest
from fido2.ctap2 import Ctap2

from vauth import VirtualAuthenticator
from vauth.testing.doubles import VauthCtapDevice

# Tests that drive a real browser or real Syncthing instances wait on processes this suite does
# not schedule (Chromium's related-origins check stalls 1-5 s at random with no network; a
# loaded 2-core machine starves a window's first paint): such a test gets one rerun
# (pytest-rerunfailures, shown as R in the output) so that one stall does not fail the run.
# Everything else runs once; a test that fails twice fails.
REAL_PROCESS_TESTS = ("tests/e2e/", "tests/sync/test_syncthing")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith(REAL_PROCESS_TESTS):
            item.add_marker(pytest.mark.flaky(reruns=1, reruns_delay=1))


pytest_plugins = ["pytester"]

RP = {"id": "example.com", "name": "Example"}


def cdh() -> bytes:
    """A fresh clientDataHash."""
    return hashlib.sha256(os.urandom(32)).digest()


def user(name: str = "alice") -> dict[str, object]:
    return {"id": hashlib.sha256(name.encode()).digest()[:16], "name": name, "displayName": name}


@pytest.fixture
def va() -> Iterator[VirtualAuthenticator]:
    authenticator = VirtualAuthenticator()
    yield authenticator
    authenticator.close()


@pytest.fixture
def ctap(va: VirtualAuthenticator) -> Ctap2:
    return Ctap2(VauthCtapDevice(va))
