"""The dispatch table's routes are generic over context, request and response, so mypy --strict
refuses a route whose handler disagrees with them (CTAP 2.1 section 6: each command is parsed
into its own request before its handler runs; a handler given another command's request or
context would act on the wrong members)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parents[2]

AGREEING = """
from vauth.ctap.commands import get_assertion
from vauth.ctap.dispatch import Route
from vauth.ctap.messages.get_assertion import GetAssertionRequest

route = Route(get_assertion.handle, get_assertion.Context, GetAssertionRequest)
"""
DISAGREEING = {
    "request": """
        from vauth.ctap.commands import get_assertion
        from vauth.ctap.dispatch import Route
        from vauth.ctap.messages.make_credential import MakeCredentialRequest

        route = Route(get_assertion.handle, get_assertion.Context, MakeCredentialRequest)
    """,
    "context": """
        from vauth.ctap.commands import get_assertion, selection
        from vauth.ctap.dispatch import Route
        from vauth.ctap.messages.get_assertion import GetAssertionRequest

        route = Route(get_assertion.handle, selection.Context, GetAssertionRequest)
    """,
    "response": """
        from vauth.ctap.commands import get_info
        from vauth.ctap.dispatch import Route
        from vauth.ctap.messages.command import NoParameters
        from vauth.ctap.messages.get_assertion import GetAssertionResponse

        route: Route[get_info.Context, NoParameters, GetAssertionResponse] = Route(
            get_info.handle, get_info.Context, NoParameters
        )
    """,
}


def mypy(tmp_path: Path, source: str) -> tuple[str, int]:
    module = tmp_path / "route_check.py"
    module.write_text(textwrap.dedent(source))
    stdout, stderr, status = api.run(
        ["--strict", "--config-file", str(ROOT / "pyproject.toml"), str(module)]
    )
    return stdout + stderr, status


def test_a_route_that_agrees_passes(tmp_path: Path) -> None:
    output, status = mypy(tmp_path, AGREEING)
    assert status == 0, output


@pytest.mark.parametrize("part", sorted(DISAGREEING))
def test_a_route_that_disagrees_is_a_type_error(tmp_path: Path, part: str) -> None:
    output, status = mypy(tmp_path, DISAGREEING[part])
    assert status == 1, output
    assert "route_check.py" in output
