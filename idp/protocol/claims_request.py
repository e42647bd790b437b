"""The ``claims`` request parameter: OIDC Core §5.5 and §5.5.1.

Its structure is checked once, when the authorization request arrives; a malformed one is an
``invalid_request`` there (OIDC Core §3.1.2.6), so later readers (the ID token's claims, the
level an essential ``acr`` demands) only ever see a well-formed value.
"""

from __future__ import annotations

from typing import Any

from idp.protocol import untrusted_json
from idp.protocol.errors import named

# OIDC Core §5.5: the two members we act on. "Other members MAY be present. Any members used
# that are not understood MUST be ignored."
MEMBERS = ("userinfo", "id_token")
# Four levels suffice: {"id_token": {"acr": {"values": ["..."]}}}; a value a client asks for
# (``value``/``values``) may itself be a small JSON value.
MAX_DEPTH = 8


class MalformedClaims(ValueError):
    """The ``claims`` parameter is not what OIDC Core §5.5 describes. ``reason`` is public."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse(text: str) -> dict[str, Any]:
    """Parse and check a ``claims`` parameter; raise ``MalformedClaims``."""
    try:
        parsed = untrusted_json.loads(text, max_depth=MAX_DEPTH, unique_keys=True)
    except untrusted_json.UntrustedJson as exc:
        # Not exc.reason: it may quote a member name from the request (RFC 6749 §5.2 charset).
        raise MalformedClaims(
            "claims is not acceptable JSON (malformed, nested too deeply or repeating a member)"
        ) from exc
    if not isinstance(parsed, dict):
        raise MalformedClaims("claims must be a JSON object")
    for member in MEMBERS:
        if member not in parsed:
            continue
        requests = parsed[member]
        if not isinstance(requests, dict):
            raise MalformedClaims(f"claims.{member} must be a JSON object")
        for name, request in requests.items():
            _check_request(member, name, request)
    return parsed


def _check_request(member: str, name: str, request: Any) -> None:
    """OIDC Core §5.5.1: each claim is ``null`` or an object with ``essential`` (a boolean),
    ``value`` or ``values`` (an array); for ``acr`` (§5.5.1.1) the values are strings."""
    where = f"claims.{member}.{named(name)}"
    if request is None:
        return
    if not isinstance(request, dict):
        raise MalformedClaims(f"{where} must be null or a JSON object")
    if "essential" in request and not isinstance(request["essential"], bool):
        raise MalformedClaims(f"{where}.essential must be a boolean")
    if "values" in request and not isinstance(request["values"], list):
        raise MalformedClaims(f"{where}.values must be an array")
    if name == "acr":
        if "value" in request and not isinstance(request["value"], str):
            raise MalformedClaims(f"{where}.value must be a string")
        if not all(isinstance(v, str) for v in request.get("values", [])):
            raise MalformedClaims(f"{where}.values must be strings")


def section(text: str | None, member: str) -> dict[str, Any]:
    """The ``id_token`` or ``userinfo`` member of an already validated ``claims`` parameter;
    empty when absent. A value that fails the checks (stored before they existed) counts as
    absent rather than failing the login or the token request."""
    if not text:
        return {}
    try:
        parsed = parse(text)
    except MalformedClaims:
        return {}
    value = parsed.get(member)
    return value if isinstance(value, dict) else {}
