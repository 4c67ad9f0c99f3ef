"""Every object a page gets from WebAuthn with vauth answering in the page is the browser's own
(house style rule 19; issue 21): the same call, once in Chromium with vauth (page script,
tester mode) and once in Chromium alone before its CDP virtual authenticator, described by
object_model.js: property descriptors along each prototype chain (attributes as accessors,
operations enumerable), the functions' names, lengths and source text, what each attribute and
operation gives (and [SameObject]), enumeration, JSON.stringify and toJSON (members in WebIDL's
order), instanceof, structured cloning, calls on the wrong object, and the static operations of
PublicKeyCredential and CredentialsContainer. References: see object_model.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.conftest import (
    chromium_alone,
    chromium_with_vauth,
    virtual_platform_authenticator,
)
from tests.e2e.object_model import PROBE, SECTIONS, comparable

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def chromium_objects(playwright: Any, origin: str) -> dict[str, Any]:
    """Chromium alone, its CDP virtual authenticator standing in for the platform one."""
    with chromium_alone(playwright, origin) as (context, page):
        virtual_platform_authenticator(context, page)
        return comparable(page.evaluate(PROBE))


@pytest.fixture(scope="module")
def vauth_objects(
    playwright: Any, origin: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """Chromium with vauth answering in the page (its daemon in tester mode); the passkey the
    probe made must be in vauth's vault (so the objects were vauth's)."""
    base = tmp_path_factory.mktemp("object-model")
    with chromium_with_vauth(playwright, origin, base) as (environment, page):
        description = page.evaluate(PROBE)
        passkeys = json.loads(environment.cli("list", "--json").stdout)
        assert [p["userName"] for p in passkeys] == ["model"]
        return comparable(description)


@pytest.mark.parametrize("section", SECTIONS)
def test_what_a_page_sees_is_chromiums_own(
    chromium_objects: dict[str, Any], vauth_objects: dict[str, Any], section: str
) -> None:
    assert vauth_objects[section] == chromium_objects[section]
