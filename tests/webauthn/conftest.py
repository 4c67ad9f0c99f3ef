"""Fixtures for the client layer: a vauth authenticator in memory and a WebAuthnClient on it."""

from __future__ import annotations

import pytest
from webauthn_support import AuthenticatorFactory, make_authenticator

from vauth.ctap.authenticator import Authenticator
from vauth.webauthn.client import WebAuthnClient


@pytest.fixture
def new_authenticator() -> AuthenticatorFactory:
    return make_authenticator


@pytest.fixture
def authenticator() -> Authenticator:
    return make_authenticator()


@pytest.fixture
def client(authenticator: Authenticator) -> WebAuthnClient:
    return WebAuthnClient(authenticator.process)
