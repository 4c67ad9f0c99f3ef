"""vauth.testing, the testing kit's package (issue 23): its doubles keep their public import path,
``from vauth.testing import VauthCtapDevice``, now that they live in vauth/testing/doubles.py."""

from __future__ import annotations

import pytest

import vauth.testing
import vauth.testing.doubles


def test_every_double_is_importable_from_the_package() -> None:
    assert vauth.testing.__all__ == vauth.testing.doubles.__all__
    for name in vauth.testing.__all__:
        assert getattr(vauth.testing, name) is getattr(vauth.testing.doubles, name)
    from vauth.testing import VauthCtapDevice, open_hid_device

    assert VauthCtapDevice is vauth.testing.doubles.VauthCtapDevice
    assert open_hid_device is vauth.testing.doubles.open_hid_device


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchDouble"):
        vauth.testing.NoSuchDouble  # noqa: B018
