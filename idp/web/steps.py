"""Running journey steps from HTTP handlers, and turning their results into responses.

``offload`` runs a step inline when no port does blocking I/O (the in-process state store with
warm caches), else once in the threadpool: one thread hop per HTTP request at most
(ARCHITECTURE.md "idp/web"). ``respond`` renders ``Page``/``ErrorPage`` and follows
``Redirect`` with a 303, setting the OP session cookie a result asks for.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idp.journey.results import Page, Redirect, Step
from idp.journey.transactions import Posted
from idp.web import browser, sso
from idp.web.common import BadInput, error_page, form_pairs, render, see_other
from idp.web.offload import offload
from idp.web.services import Services

__all__ = ["offload", "posted", "respond"]


async def posted(request: Request, svc: Services) -> Posted:
    """A login step's posted form as read here; the journey checks its CSRF token."""
    try:
        form: dict[str, str] | None = dict(await form_pairs(request))
    except BadInput:
        form = None
    return Posted(form, browser.origin_ok(request, svc.config.issuer, *svc.settings.extra_origins))


def respond(request: Request, svc: Services, step: Step) -> Response:
    response: Response
    if isinstance(step, Redirect):
        response = see_other(step.url)
        if step.session is not None:
            sso.set_cookie(response, svc, step.session)
        return response
    if isinstance(step, Page):
        response = render(
            request,
            step.template,
            step.context,
            status_code=step.status,
            form_target=step.form_target,
            form_origins=step.form_origins,
            script=step.script,
        )
        if step.clear_session:
            sso.clear_cookie(response, svc)
    else:
        response = error_page(request, step.title, step.message, step.status)
    for name, value in step.headers:
        response.headers[name] = value
    return response
