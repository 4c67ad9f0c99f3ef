"""pytest plugin (entry point ``pytest11``): ``virtual_authenticator`` and ``vauth_ctap_device``.

def test_login(virtual_authenticator):
    response = virtual_authenticator.create(options, origin="https://example.com")
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from vauth.virtual import VirtualAuthenticator


@pytest.fixture
def virtual_authenticator() -> Iterator[VirtualAuthenticator]:
    """A fresh in-memory VirtualAuthenticator with WebDriver defaults, closed afterwards."""
    from vauth.virtual import VirtualAuthenticator  # imported late: loading pytest stays cheap

    authenticator = VirtualAuthenticator()
    try:
        yield authenticator
    finally:
        authenticator.close()


@pytest.fixture
def vauth_ctap_device(virtual_authenticator: VirtualAuthenticator) -> Any:
    """A python-fido2 CtapDevice over ``virtual_authenticator`` (needs the fido2 package)."""
    from vauth.testing import VauthCtapDevice

    return VauthCtapDevice(virtual_authenticator)
