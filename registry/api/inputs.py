"""Reading API requests strictly: query strings, JSON bodies, path identifiers, pagination.

Anything that cannot be read is a 400 problem before it reaches SQL: invalid UTF-8, repeated or
unknown query parameters, and NUL characters, which PostgreSQL refuses in text
(security-checklist.md K1). Search text is matched literally later (``queries``). Bodies must be
``application/json`` (else 415) and hold exactly the documented members (else 422).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from registry.api.problems import ApiProblem, bad_request, not_found, unprocessable

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "MAX_SEARCH",
    "Body",
    "Page",
    "choice",
    "json_body",
    "next_cursor",
    "page_of",
    "path_declaration_id",
    "path_identifier",
    "pattern",
    "query_params",
    "search_text",
]

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
MAX_SEARCH = 128
MAX_QUERY_FIELDS = 16
MAX_CURSOR = 512
JSON_TYPE = "application/json"


def query_params(request: Request, allowed: frozenset[str]) -> dict[str, str]:
    """The query as a dict; 400 for bad text, NUL, repeated, unknown or empty parameters."""
    raw = request.scope.get("query_string", b"")
    try:
        text = raw.decode("utf-8")
        pairs = parse_qsl(
            text, keep_blank_values=True, errors="strict", max_num_fields=MAX_QUERY_FIELDS
        )
    except (UnicodeDecodeError, ValueError):
        raise bad_request("The query must be valid UTF-8 with few parameters") from None
    params: dict[str, str] = {}
    for name, value in pairs:
        if name not in allowed:
            raise bad_request("Unknown query parameter", name[:64])
        if name in params:
            raise bad_request("Query parameters must not repeat", name)
        if "\x00" in value:
            raise bad_request("Query parameters must not contain NUL characters", name)
        if not value:
            raise bad_request("Query parameters must not be empty", name)
        params[name] = value
    return params


def search_text(params: dict[str, str], name: str) -> str | None:
    """A free-text filter, NFC like the stored names (UN5), at most ``MAX_SEARCH`` long."""
    value = params.get(name)
    if value is None:
        return None
    if len(value) > MAX_SEARCH:
        raise bad_request(f"Search text is limited to {MAX_SEARCH} characters", name)
    return unicodedata.normalize("NFC", value)


def choice(params: dict[str, str], name: str, allowed: tuple[str, ...]) -> str | None:
    value = params.get(name)
    if value is not None and value not in allowed:
        raise bad_request(f"Must be one of {', '.join(allowed)}", name)
    return value


def pattern(params: dict[str, str], name: str, regex: re.Pattern[str], rule: str) -> str | None:
    value = params.get(name)
    if value is not None and regex.fullmatch(value) is None:
        raise bad_request(rule, name)
    return value


# -- pagination ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """``limit`` items after the key ``after`` (keyset pagination: stable under inserts)."""

    limit: int
    after: str | None


def page_of(params: dict[str, str]) -> Page:
    raw_limit = params.get("limit")
    limit = DEFAULT_LIMIT
    if raw_limit is not None:
        if not raw_limit.isascii() or not raw_limit.isdigit() or len(raw_limit) > 3:
            raise bad_request(f"limit must be an integer from 1 to {MAX_LIMIT}", "limit")
        limit = int(raw_limit)
        if not 1 <= limit <= MAX_LIMIT:
            raise bad_request(f"limit must be an integer from 1 to {MAX_LIMIT}", "limit")
    cursor = params.get("cursor")
    return Page(limit=limit, after=None if cursor is None else _decode_cursor(cursor))


def next_cursor(last_key: str) -> str:
    """An opaque cursor for the page after ``last_key``."""
    raw = json.dumps({"after": last_key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode_cursor(cursor: str) -> str:
    invalid = bad_request("cursor is not one this API handed out", "cursor")
    if len(cursor) > MAX_CURSOR or not cursor.isascii():
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, RecursionError):
        raise invalid from None
    after = data.get("after") if isinstance(data, dict) else None
    if not isinstance(after, str) or "\x00" in after:
        raise invalid
    return after


# -- path identifiers --------------------------------------------------------------------------


def path_identifier(request: Request, name: str, regex: re.Pattern[str]) -> str:
    """A path parameter of a fixed form; anything else names no resource (404)."""
    value = str(request.path_params.get(name, ""))
    if regex.fullmatch(value) is None:
        raise not_found()
    return value


def path_declaration_id(request: Request) -> str:
    value = str(request.path_params.get("declaration_id", ""))
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise not_found() from None
    if str(parsed) != value:
        raise not_found()
    return value


# -- bodies -----------------------------------------------------------------------------------


async def json_body(request: Request) -> dict[str, Any]:
    """The body as a JSON object (415 for another media type, 400 when it is not one)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != JSON_TYPE:
        raise ApiProblem(
            415, "The body must be application/json", headers={"Accept-Post": JSON_TYPE}
        )
    raw = await request.body()
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        # RecursionError: the stdlib parser's answer to deeply nested input (RFC 8259 §9).
        raise bad_request("The body must be a JSON object in UTF-8") from None
    if not isinstance(data, dict):
        raise bad_request("The body must be a JSON object")
    return data


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class Body:
    """Typed access to the members of a JSON body; unknown members are refused (422)."""

    def __init__(self, data: dict[str, Any], allowed: frozenset[str]) -> None:
        for name in data:
            if name not in allowed:
                raise unprocessable("Unknown member", name[:64])
        self._data = data

    def present(self, name: str) -> bool:
        return name in self._data

    def text(self, name: str, *, max_length: int = 512) -> str:
        value = self.optional_text(name, max_length=max_length)
        if value is None:
            raise unprocessable("Required", name)
        return value

    def optional_text(
        self, name: str, *, max_length: int = 512, nullable: bool = True
    ) -> str | None:
        """The member, or ``None`` when absent (or ``null``, where the schema allows it)."""
        value = self._data.get(name)
        if value is None:
            if name in self._data and not nullable:
                raise unprocessable("Must be a string, not null", name)
            return None
        if not isinstance(value, str):
            raise unprocessable("Must be a string", name)
        if len(value) > max_length:
            raise unprocessable(f"Must be at most {max_length} characters", name)
        if "\x00" in value:
            raise unprocessable("Must not contain NUL characters", name)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate from a JSON \uD800 escape
            raise unprocessable("Must be valid Unicode text", name) from None
        return value

    def timestamp(self, name: str) -> datetime:
        value = self.optional_timestamp(name)
        if value is None:
            raise unprocessable("Required", name)
        return value

    def optional_timestamp(self, name: str) -> datetime | None:
        """RFC 3339 date-time with an offset (``2026-12-01T00:00:00Z``)."""
        value = self.optional_text(name, max_length=64)
        if value is None:
            return None
        text = value.upper()  # RFC 3339 §5.6 allows "t" and "z"
        try:
            parsed = datetime.fromisoformat(text)
            if parsed.utcoffset() is None or "T" not in text:
                raise ValueError("no offset")
            return parsed.astimezone(UTC)
        except (ValueError, OverflowError):
            raise unprocessable("Must be an RFC 3339 date-time with an offset", name) from None
