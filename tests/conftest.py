"""Shared fixtures: authenticators in memory, python-fido2 speaking CTAP2 to them."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

import pytest
from fido2.ctap2 import Ctap2

from vauth import VirtualAuthenticator
from vauth.testing import VauthCtapDevice

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
