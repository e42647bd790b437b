"""The OP session cookie (one shift) and its record in the state store.

The cookie holds only a random session id (``__Host-`` prefixed, ``Secure``, ``HttpOnly``,
``SameSite=Lax`` when the issuer is https; checklist J3). Every fresh login gets a new id and the
old record is deleted (session fixation, ASVS 7.2.4, checklist J4). Any worker can serve the
session because the record lives in the shared state store.
"""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response

from idp.journey import sessions
from idp.protocol.models import SsoSession
from idp.web.offload import offload
from idp.web.services import Services

SESSION_COOKIE_SECURE = "__Host-zorg_session"
SESSION_COOKIE_PLAIN = "zorg_session"


def cookie_name(svc: Services) -> str:
    return SESSION_COOKIE_SECURE if svc.settings.secure_cookies else SESSION_COOKIE_PLAIN


def session_id(request: Request, svc: Services) -> str | None:
    value = request.cookies.get(cookie_name(svc))
    return value if value and 20 <= len(value) <= 100 else None


async def current_session(request: Request, svc: Services) -> SsoSession | None:
    """The live session of this browser, or None (expired records count as none)."""
    sid = session_id(request, svc)
    if sid is None:
        return None
    return await offload(svc, sessions.current_session, svc.journey, sid, int(time.time()))


def set_cookie(response: Response, svc: Services, sid: str) -> None:
    # A browser-session cookie: closing the browser on a shared tablet ends it; the server
    # enforces the absolute and idle limits regardless.
    response.set_cookie(
        cookie_name(svc),
        sid,
        httponly=True,
        secure=svc.settings.secure_cookies,
        samesite="lax",
        path="/",
    )


def clear_cookie(response: Response, svc: Services) -> None:
    response.delete_cookie(
        cookie_name(svc), path="/", secure=svc.settings.secure_cookies, httponly=True
    )
