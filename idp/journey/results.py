"""What a journey step answers: typed results that ``idp.web`` turns into HTTP.

A step never builds a response itself: it says "send the browser there" (``Redirect``), "show
this page" (``Page``), or "show this error" (``ErrorPage``), plus what happens to the OP session
cookie. The web adapter renders templates, sets cookies and adds the CSP ``form-action``
origins a page needs; the CLI and background jobs use the same steps without any HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ErrorPage", "Page", "Redirect", "Step"]


@dataclass(frozen=True, slots=True)
class Redirect:
    """303 See Other to ``url`` (RFC 9700 §4.12). ``session``: the OP session id to set in
    the cookie (a fresh login or a touched session)."""

    url: str
    session: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """A page to render. ``form_target``: the relying party a form on it may end up at (CSP
    ``form-action`` applies to redirects too); ``form_origins``: other origins a form posts
    to (the UZI-pas mTLS origin); ``script``: the page loads a script file of ours."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)
    status: int = 200
    form_target: str | None = None
    form_origins: tuple[str, ...] = ()
    script: bool = False
    clear_session: bool = False
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ErrorPage:
    title: str
    message: str
    status: int = 400
    headers: tuple[tuple[str, str], ...] = ()


Step = Redirect | Page | ErrorPage
