"""Redirect URIs: exact string matching and building responses.

RFC 9700 §2.1 and §4.1.3, ASVS 10.4.1: the redirect URI of a request must equal a registered one
character for character; nothing is normalised.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit


def matches(requested: str, registered: tuple[str, ...]) -> bool:
    return requested in registered


def with_query(uri: str, params: list[tuple[str, str]]) -> str:
    """Add parameters to the query of ``uri`` (RFC 6749 §4.1.2: keep the existing query)."""
    parts = urlsplit(uri)
    extra = urlencode(params)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
