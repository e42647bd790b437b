"""The one way to parse JSON that anyone may send: bounded depth, and unique member names.

RFC 8259 §9 lets a parser limit nesting; ours does, at ``MAX_DEPTH``, far below what any of our
inputs needs (the ``claims`` parameter nests four levels, a JOSE header or claim set two or
three). orjson's own limit (1024 levels) and the standard library's recursion limit are not
ours to rely on: one raises ``JSONDecodeError``, the other ``RecursionError``, and each caller
caught a different set. Here every failure is one exception, ``UntrustedJson``.

RFC 7515 §5.2 step 4 and RFC 7519 §4: a JOSE header or claim set with duplicate member names
MUST be rejected (RFC 8725 §3.1 warns why: two parsers may read different values). orjson keeps
the last value silently, so ``unique_keys`` re-reads the (already size- and depth-checked)
object with the standard library and an ``object_pairs_hook`` that refuses a repeated name.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

MAX_DEPTH = 32
# The end of every member name: its closing quote, optional whitespace, the colon. A string
# value can also contain such bytes (an escaped quote before a colon), so counting them can only
# overcount the member names, never undercount them.
_NAME_END = re.compile(rb'"[ \t\r\n]*:')


class UntrustedJson(ValueError):
    """Input that is not acceptable JSON. ``reason`` is for logs, never for the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def loads(data: bytes | str, *, max_depth: int = MAX_DEPTH, unique_keys: bool = False) -> Any:
    """Parse ``data``; refuse invalid JSON, nesting beyond ``max_depth`` and, with
    ``unique_keys``, an object that names a member twice. Callers bound the size first."""
    try:
        value = orjson.loads(data)
    except (orjson.JSONDecodeError, ValueError, TypeError, RecursionError) as exc:
        raise UntrustedJson("not valid JSON") from exc
    members = _members_within(value, max_depth)
    if members is None:
        raise UntrustedJson(f"nested deeper than {max_depth} levels")
    raw = data.encode("utf-8") if isinstance(data, str) else data
    # Only when the text names more members than the parsed objects hold can a name repeat;
    # then the standard library's slower parse says which (the usual token skips it).
    if unique_keys and members and len(_NAME_END.findall(raw)) != members:
        try:
            json.loads(data, object_pairs_hook=_unique_object)
        except _DuplicateMember as exc:
            raise UntrustedJson(f"duplicate member {exc.name[:64]!r}") from None
    return value


def _members_within(value: Any, max_depth: int) -> int | None:
    """The number of object members in ``value``, or ``None`` when it nests deeper than
    ``max_depth``. Iterative, so the check itself cannot exhaust the stack."""
    members = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            members += len(item)
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > max_depth:
            return None
        stack.extend((child, depth + 1) for child in children)
    return members


class _DuplicateMember(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise _DuplicateMember(name)
            seen.add(name)
    return result
