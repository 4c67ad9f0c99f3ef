"""The object model in Firefox (issue 21): every object a page gets from WebAuthn with vauth
answering in the page is Firefox's own, compared with what Firefox alone gives before its own
virtual authenticator (object_model.js: descriptors along each prototype chain, functions'
names, lengths and source, results and [SameObject], enumeration, toJSON, instanceof, cloning,
calls on the wrong object, static operations). References: see tests/e2e/object_model.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests import support
from tests.e2e.conftest import PASSPHRASE, Environment
from tests.e2e.firefox.conftest import Firefox
from tests.e2e.object_model import PROBE, SECTIONS, comparable
from tests.e2e.rp_server import RelyingParty

pytestmark = pytest.mark.e2e


@contextmanager
def firefox_alone(rp: RelyingParty, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A page of the relying party in Firefox alone, its own virtual authenticator answering."""
    base = tmp_path_factory.mktemp("firefox-alone")
    alone = Firefox(Environment(base, support.environment(base, PASSPHRASE)), with_addon=False)
    try:
        yield alone.open(rp.origin + "/")
    finally:
        alone.close()


@pytest.fixture(scope="module")
def firefox_objects(rp: RelyingParty, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    with firefox_alone(rp, tmp_path_factory) as page:
        return comparable(page.evaluate(PROBE), firefox=True)


@pytest.fixture(scope="module")
def vauth_objects(
    firefox: Firefox, rp: RelyingParty, firefox_environment: Environment
) -> dict[str, Any]:
    """Firefox with vauth answering in the page (its daemon in tester mode); the passkey the
    probe made is in vauth's vault (so the objects were vauth's)."""
    daemon = support.Daemon(
        firefox_environment.base, "--presence", "auto", env=firefox_environment.env
    )
    try:
        page = firefox.open(rp.origin + "/")
        description = page.evaluate(PROBE)
        page.close()
        passkeys = json.loads(firefox_environment.cli("list", "--json").stdout)
        assert [p["userName"] for p in passkeys] == ["model"]
        assert json.loads(firefox.own_credentials()) == []
        return comparable(description, firefox=True)
    finally:
        daemon.stop()


@pytest.mark.parametrize("section", SECTIONS)
def test_what_a_page_sees_is_firefoxs_own(
    firefox_objects: dict[str, Any], vauth_objects: dict[str, Any], section: str
) -> None:
    assert vauth_objects[section] == firefox_objects[section]
