"""/openapi.json describes exactly the routes the application registers."""

from __future__ import annotations

from typing import Any

from api_support import TOKEN, Api

from vauth.api import create_app
from vauth.api.openapi import OPENAPI
from vauth.service import Prompts, Service

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
    assert len(registered) == 11
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
