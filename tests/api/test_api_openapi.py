"""/openapi.json describes exactly the routes the application registers."""

from __future__ import annotations

from typing import Any

from api_support import TOKEN, Api

from vauth.app.service import Prompts, Service
from vauth.daemon.api import create_app
from vauth.daemon.api.openapi import OPENAPI

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def registered_routes() -> set[tuple[str, str]]:
    app = create_app(Service(None, Prompts()), TOKEN)
    return {
        (route.method.lower(), route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None
    }


def documented_routes(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS
    }


def test_every_route_is_documented_and_every_documented_route_exists() -> None:
    registered = registered_routes()
    assert len(registered) == 18
    assert documented_routes(OPENAPI) == registered


def test_operations_are_complete() -> None:
    operation_ids = []
    for path, item in OPENAPI["paths"].items():
        for method, operation in item.items():
            operation_ids.append(operation["operationId"])
            responses = operation["responses"]
            assert {"200", "401", "403", "421"} <= set(responses), (method, path)
            names = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
            assert names == {s.strip("{}") for s in path.split("/") if s.startswith("{")}
            if method == "post":
                assert operation["requestBody"]["required"] is True
                assert {"400", "413"} <= set(responses)
    assert len(operation_ids) == len(set(operation_ids))


def test_references_resolve() -> None:
    def refs(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                yield node["$ref"]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    found = list(refs(OPENAPI))
    assert found
    for ref in found:
        node: Any = OPENAPI
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        assert isinstance(node, dict)


async def test_served_document_needs_the_token_and_is_the_same(api: Api) -> None:
    document = await api.ok("GET", "/openapi.json")
    assert document == OPENAPI
    assert document["openapi"] == "3.1.0"
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    async with api.session.get(api.base + "/openapi.json") as response:
        assert response.status == 401


WRONG = {  # a value of another JSON type than the documented one
    "string": 5,
    "boolean": "no",
    "integer": "7",
    "number": "7",
    "object": [],
    "array": "usb",
}


def _request_bodies() -> list[tuple[str, str, dict[str, Any]]]:
    bodies = []
    for path, item in OPENAPI["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            ref = content["application/json"]["schema"]["$ref"].removeprefix("#/")
            node: Any = OPENAPI
            for part in ref.split("/"):
                node = node[part]
            bodies.append((method, path, node))
    return bodies


def _wrong(schema: dict[str, Any]) -> Any:
    if "enum" in schema:
        return "not-one-of-them"
    kind = schema.get("type") or schema["oneOf"][0]["type"]
    if kind == ["integer", "string"]:
        return []
    return WRONG[kind]


async def test_every_documented_member_is_checked_as_documented(api: Api) -> None:
    """Rule 16: /openapi.json is generated from the declarations the handlers check, so every
    documented member is refused, by name, when it has another type than documented or is not
    among the documented values (WebDriver 11.1: {"hasResidentKey": "no"} is not true), and a
    closed body refuses a member it does not document."""
    bodies = _request_bodies()
    assert {path for _m, path, _s in bodies} >= {"/webauthn/authenticator"}
    authenticator = (await api.ok("POST", "/webauthn/authenticator", json={}))["authenticatorId"]
    for method, template, schema in bodies:
        path = template.replace("{authenticatorId}", authenticator).replace("{credentialId}", "AA")
        for member, member_schema in schema["properties"].items():
            body = {member: _wrong(member_schema)}
            status, answer = await api.call(method.upper(), path, json=body)
            assert status == 400, (path, member, answer)
            assert answer["message"].startswith(f"{member} must be"), (path, member, answer)
        if schema.get("additionalProperties") is False:
            status, answer = await api.call(method.upper(), path, json={"undocumented": 1})
            assert status == 400 and "undocumented" in answer["message"], (path, answer)
