"""Helpers for the Dezi tests: the served JSON schemas, relying-party keys, a counting fake web.

The schemas are read from ``config/json_schemas/v1/`` (what the server serves) and applied with
``jsonschema`` (Draft 2020-12, formats checked where the library can).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from joserfc.jwk import RSAKey
from jsonschema import Draft202012Validator

SCHEMAS = Path(__file__).resolve().parents[1] / "config" / "json_schemas" / "v1"


def validate(instance: Any, name: str) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``instance`` fits schema ``name``."""
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    validator.validate(instance)


def rp_encryption_key(alg: str | None = None, size: int = 2048) -> RSAKey:
    """A relying party's RSA key pair for the userinfo JWE (``use: enc``)."""
    key = RSAKey.generate_key(
        size, private=True, parameters={"use": "enc", "alg": alg} if alg else {"use": "enc"}
    )
    key.ensure_kid()
    return key


def public_jwk(key: RSAKey) -> dict[str, Any]:
    return key.as_dict(private=False)


@dataclass
class FakeWeb:
    """An ``httpx.Client`` over a dict of URL → handler, counting requests per URL."""

    routes: dict[str, Callable[[httpx.Request], httpx.Response]] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)

    def json(self, url: str, body: Callable[[], Any], status: int = 200) -> None:
        self.routes[url] = lambda _: httpx.Response(status, json=body())

    def text(self, url: str, body: Callable[[], str], content_type: str) -> None:
        self.routes[url] = lambda _: httpx.Response(
            200, text=body(), headers={"Content-Type": content_type}
        )

    def handle(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        self.hits[url] = self.hits.get(url, 0) + 1
        handler = self.routes.get(url)
        return handler(request) if handler else httpx.Response(404)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handle))

    def total(self) -> int:
        return sum(self.hits.values())
