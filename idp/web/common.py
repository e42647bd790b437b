"""Small helpers shared by the route modules: rendering, parameter parsing, error pages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from idp.protocol.models import SsoSession
from idp.web import browser
from idp.web.edge import DEFAULT_CSP
from idp.web.responses import JSONResponse
from idp.web.services import Services

MAX_FIELDS = 64


class BadInput(Exception):
    """Input that cannot even be parsed (non-UTF-8, wrong content type, too many fields)."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    form_target: str | None = None,
    form_origins: Sequence[str] = (),
    script: bool = False,
) -> HTMLResponse:
    """Render a page. ``form_target`` adds one origin to CSP ``form-action``: the relying party
    a form may end up redirecting to (browsers apply form-action to redirects too).
    ``form_origins`` adds origins a form posts to directly (the UZI-pas mTLS origin).
    ``script`` allows this page, and only this page, to load script files from
    ``/static/`` (``script-src 'self'``; never inline script): the passkey ceremonies."""
    svc = services(request)
    page = svc.templates.get_template(template).render(
        {"issuer": svc.config.issuer, "environment": svc.settings.environment, **context}
    )
    response = HTMLResponse(page, status_code=status_code)
    targets = [*form_origins, *([form_target] if form_target is not None else [])]
    csp = DEFAULT_CSP
    if targets:
        origins = dict.fromkeys(f"{p.scheme}://{p.netloc}" for p in map(urlsplit, targets))
        csp = csp.replace("form-action 'self'", f"form-action 'self' {' '.join(origins)}")
    if script:
        csp = csp.replace("default-src 'none';", "default-src 'none'; script-src 'self';")
    if csp != DEFAULT_CSP:
        response.headers["Content-Security-Policy"] = csp
    return response


def error_page(request: Request, title: str, message: str, status_code: int = 400) -> HTMLResponse:
    return render(
        request, "error.html", {"title": title, "message": message}, status_code=status_code
    )


def see_other(url: str) -> RedirectResponse:
    """303 after POST and for every redirect that may carry credentials (RFC 9700 §4.12)."""
    return RedirectResponse(url, status_code=303)


def json_response(
    body: dict[str, Any], status_code: int = 200, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=status_code, headers=headers)


def _check_values(pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    if len(pairs) > MAX_FIELDS:
        raise BadInput("Too many parameters")
    for name, value in pairs:
        if "\x00" in name or "\x00" in value or "\ufffd" in name or "\ufffd" in value:
            raise BadInput("Parameters must be valid UTF-8 text")
    return list(pairs)


def query_pairs(request: Request) -> list[tuple[str, str]]:
    raw = request.scope.get("query_string", b"")
    try:
        text = raw.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise BadInput("Parameters must be valid UTF-8 text") from None
    return _check_values(pairs)


async def form_pairs(request: Request) -> list[tuple[str, str]]:
    """Parse an ``application/x-www-form-urlencoded`` body strictly (RFC 6749 §3.2)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise BadInput("Content-Type must be application/x-www-form-urlencoded")
    body = await request.body()
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise BadInput("The body must be valid UTF-8 form data") from None
    return _check_values(pairs)


def first(pairs: Sequence[tuple[str, str]], name: str) -> str | None:
    for key, value in pairs:
        if key == name:
            return value
    return None


def empty_response(status_code: int) -> Response:
    return Response(status_code=status_code)


async def read_session_form(
    request: Request,
    svc: Services,
    session: SsoSession,
    binding: str | None,
    purpose: str,
) -> dict[str, str] | Response:
    """A form posted on a page of the logged-in worker, or the page that refuses it: the CSRF
    token bound to the session and browser, and the Origin check (ASVS 3.5.1-3.5.3)."""
    try:
        form = dict(await form_pairs(request))
    except BadInput as exc:
        return error_page(request, "Invalid request", exc.description)
    if (
        binding is None
        or not browser.origin_ok(request, svc.config.issuer)
        or not browser.csrf_ok(
            svc.cookie_secret,
            f"{purpose}\x00{session.sid}",
            binding,
            form.get("csrf_token"),
        )
    ):
        return error_page(request, "Request refused", "The form could not be verified.", 403)
    return form
