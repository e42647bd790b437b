"""The OpenAPI document is served, is 3.1, and says exactly what the routes do."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route
from starlette.testclient import TestClient

from registry.api import DEFAULT_BASE_PATH, document, routes

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}


def routed() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for route in routes():
        assert isinstance(route, Route)
        for method in route.methods or ():
            if method != "HEAD":  # implied by GET (RFC 9110 §9.3.2)
                found.add((route.path, method.lower()))
    return found


def documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (path, method)
        for path, item in doc["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def test_served_document_is_the_document(http: TestClient) -> None:
    response = http.get("/api/v1/openapi.json")  # no token needed
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    served = response.json()
    assert served == document(DEFAULT_BASE_PATH)
    assert served["openapi"] == "3.1.0"
    assert served["servers"] == [{"url": "/api/v1"}]


def test_routes_and_document_agree() -> None:
    assert routed() == documented(document(DEFAULT_BASE_PATH))


def test_the_comparison_sees_a_difference() -> None:
    doc = document(DEFAULT_BASE_PATH)
    del doc["paths"]["/declarations/{declaration_id}/suspend"]
    assert routed() != documented(doc)


def test_every_operation_documents_its_errors_as_problems() -> None:
    doc = document(DEFAULT_BASE_PATH)
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            if path == "/openapi.json":
                assert operation["security"] == []
                continue
            assert {"401", "404", "default"} <= responses.keys(), (path, method)
            for code, response in responses.items():
                if code.startswith(("4", "5")) or code == "default":
                    name = response["$ref"].rsplit("/", 1)[-1]
                    content = doc["components"]["responses"][name]["content"]
                    assert list(content) == ["application/problem+json"]
            if method == "post":
                assert "Idempotency-Key" in {p["name"] for p in operation["parameters"]}
            if path.endswith(("/status", "/revoke", "/suspend")):
                assert {"412", "428"} <= responses.keys()
                if_match = [p for p in operation["parameters"] if p["name"] == "If-Match"]
                assert if_match and if_match[0]["required"] is True


def test_every_reference_resolves() -> None:
    doc = document(DEFAULT_BASE_PATH)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                target: Any = doc
                for part in ref.removeprefix("#/").split("/"):
                    target = target[part]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
