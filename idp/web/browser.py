"""Browser binding and CSRF protection for the interactive steps (ASVS 3.5, checklist J3-J5).

At ``/authorize`` the browser gets a random binding value in a cookie (``__Host-`` prefixed,
``Secure``, ``HttpOnly``, ``SameSite=Lax`` when the issuer is https). A login transaction stores
only the SHA-256 of it, so only the browser that started a login can finish it. Each form carries
a CSRF token, an HMAC over the transaction id and the binding; POSTs also have their ``Origin``
checked against the issuer.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from idp.journey.transactions import binding_hash, csrf_ok, csrf_token
from idp.settings import Settings

__all__ = [
    "binding_hash",
    "binding_value",
    "cookie_name",
    "csrf_ok",
    "csrf_token",
    "new_binding",
    "origin_ok",
    "set_binding_cookie",
]

BINDING_COOKIE_SECURE = "__Host-zorg_bb"
BINDING_COOKIE_PLAIN = "zorg_bb"


def cookie_name(settings: Settings) -> str:
    return BINDING_COOKIE_SECURE if settings.secure_cookies else BINDING_COOKIE_PLAIN


def binding_value(request: Request, settings: Settings) -> str | None:
    value = request.cookies.get(cookie_name(settings))
    if value and 20 <= len(value) <= 100:
        return value
    return None


def new_binding() -> str:
    return secrets.token_urlsafe(32)


def set_binding_cookie(response: Response, settings: Settings, value: str) -> None:
    response.set_cookie(
        cookie_name(settings),
        value,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
        path="/",
        max_age=settings.session_absolute_ttl,
    )


def origin_ok(request: Request, issuer: str, *also: str) -> bool:
    """A cross-site POST is refused (ASVS 3.5.3).

    Pages are served with ``Referrer-Policy: no-referrer`` (RFC 9700 §4.2.4), under which browsers
    send ``Origin: null`` even for same-origin form posts; such a request is accepted only when
    the browser's own Fetch Metadata says it is same-origin. Clients that send no ``Origin`` at
    all go on to the CSRF token check, which is the primary defence.

    ``also`` are this OP's other origins (the UZI-pas mTLS origin: the issuer's host on another
    port). A form posting from one of its origins to the other is same-site, not same-origin.
    """
    origin = request.headers.get("origin")
    if origin is None:
        return True
    if origin == "null":
        site = request.headers.get("sec-fetch-site")
        return site == "same-origin" or (bool(also) and site == "same-site")
    wanted = urlsplit(issuer)
    return origin == f"{wanted.scheme}://{wanted.netloc}" or origin in also
