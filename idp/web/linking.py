"""First-time identity binding in the browser (``idp.authn.binding``; issue 5, item 1).

A method raised ``BindingRequired``: it proved a person (a BSN through DigiD) whom no identity
binding names yet. The link is offered only when this browser has a live OP session at level
high established with another method (the UZI-pas; in tests the ``dev`` method) at most 15
minutes ago: that session proved, at the highest level and recently, which professional sits
at this browser, so the person may bind the new means to herself. Otherwise a page says how to
get linked, the same text for everyone: nothing on it depends on whether the BSN is known
(ASVS 6.3.8).

``POST /login/{tx}/{method}/link`` writes the binding (``registry.bind_identity``: the audit
record in the same transaction, actor ``dezi:<number>``) and the login continues as a login
with the new means, at the level it proved. The pending link is a sealed one-time ticket
(``idp.web.postback``) tied to the transaction, the method and the session.
"""

from __future__ import annotations

import time

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.audit import get_logger
from idp.authn.base import LoginMethod, LoginOutcome
from idp.authn.binding import BindingRequired, IdentityLinker, LinkConflict
from idp.journey import login as journey_login
from idp.journey import transactions
from idp.protocol.models import LOA_HIGH, LoginTransaction, SsoSession
from idp.protocol.session import level_requirement
from idp.web import browser, postback, sso
from idp.web.common import error_page, render, services
from idp.web.services import Services
from idp.web.steps import offload, posted, respond

log = get_logger("idp.linking")

LINK_TTL = 300
LINK_MAX_AGE = 15 * 60
KIND_LINK = "identity-link"
LINK_EXPIRED_TEXT = (
    "This link request has expired or your session has ended. Go back to the application and "
    "log in again."
)
LINK_FAILED_TEXT = (
    "This login means could not be linked to your registration. Ask the administrator of your "
    "organisation."
)


def may_offer_link(session: SsoSession | None, method: str, now: int) -> bool:
    """A live session, at level high, from another method than the one being linked, that
    authenticated at most ``LINK_MAX_AGE`` seconds ago: binding a new means is a sensitive
    change (ASVS 6.4.x, 7.5.x), like adding a passkey (``idp.authn.passkey_registration``)."""
    return (
        session is not None
        and session.acr == LOA_HIGH
        and session.login_method != method
        and 0 <= now - session.auth_time <= LINK_MAX_AGE
    )


async def offer(
    request: Request,
    svc: Services,
    tx: LoginTransaction,
    binding: str,
    method: LoginMethod,
    required: BindingRequired,
) -> Response:
    """The page after ``BindingRequired``: the link offer, or how to get linked."""
    session = await sso.current_session(request, svc)
    context = transactions.base_context(svc.journey, tx, binding)
    context.update({"method": method.name, "method_label": method.label})
    redirect_uri = tx.authorization_request().redirect_uri
    offered = isinstance(method, IdentityLinker) and may_offer_link(
        session, method.name, int(time.time())
    )
    if session is None or not offered:
        log.info("identity_link_not_offered", method=method.name, tx=tx.tx_id[:8])
        return render(
            request,
            "link_required.html",
            {**context, "message": required.description},
            status_code=403,
            form_target=redirect_uri,
        )
    pending = {
        "tx": tx.tx_id,
        "method": method.name,
        "sid": session.sid,
        "subject_hash": required.subject_hash,
        "acr": required.acr,
    }
    ticket = await postback.stash(svc, KIND_LINK, pending, LINK_TTL)
    professional = await run_in_threadpool(svc.register.find_professional, session.dezi_nummer)
    name = (
        " ".join(filter(None, (p.voorletters, p.voorvoegsel, p.achternaam)))
        if (p := professional) is not None
        else session.dezi_nummer
    )
    log.info(
        "identity_link_offered",
        method=method.name,
        tx=tx.tx_id[:8],
        dezi_nummer=session.dezi_nummer,
        subject=required.subject_hash[:12],
    )
    return render(
        request,
        "link_identity.html",
        {**context, "ticket": ticket, "professional_name": name},
        form_target=redirect_uri,
    )


async def confirm(request: Request) -> Response:
    """``POST /login/{tx}/{method}/link``: bind, then continue the login (or cancel it)."""
    svc = services(request)
    j = svc.journey
    binding = browser.binding_value(request, svc.settings)
    tx = await offload(svc, transactions.load, j, request.path_params["tx_id"], binding)
    if tx is None or binding is None:
        return respond(request, svc, transactions.EXPIRED)
    form = (await posted(request, svc)).verified(j.cookie_secret, tx.tx_id, binding)
    if form is None:
        return respond(request, svc, transactions.FORBIDDEN)
    name = request.path_params["method"]
    pending = await postback.take(svc, KIND_LINK, form.get("ticket", ""))
    if form.get("action") == "cancel":
        return respond(request, svc, await offload(svc, transactions.cancel, j, tx))
    method = svc.login_methods.get(name)
    session = await sso.current_session(request, svc)
    if (
        pending is None
        or pending.get("tx") != tx.tx_id
        or pending.get("method") != name
        or not isinstance(method, IdentityLinker)
        or session is None
        or session.sid != pending.get("sid")
        or not may_offer_link(session, name, int(time.time()))
    ):
        log.info("identity_link_refused", method=name, tx=tx.tx_id[:8], reason="stale")
        return error_page(request, "Link expired", LINK_EXPIRED_TEXT, 400)
    subject_hash, acr = pending["subject_hash"], pending["acr"]
    if not level_requirement(tx.authorization_request()).satisfied_by(acr):
        return error_page(request, "Login failed", transactions.LEVEL_TOO_LOW_TEXT, 403)
    actor = f"dezi:{session.dezi_nummer}"
    try:
        await run_in_threadpool(
            lambda: method.link_identity(session.dezi_nummer, subject_hash, actor=actor)
        )
    except LinkConflict:
        log.warning("identity_link_refused", method=name, tx=tx.tx_id[:8], reason="conflict")
        return error_page(request, "Link failed", LINK_FAILED_TEXT, 409)
    log.info(
        "identity_linked",
        method=name,
        tx=tx.tx_id[:8],
        dezi_nummer=session.dezi_nummer,
        subject=subject_hash[:12],
    )
    svc.metrics.logins.labels(name, "ok").inc()
    outcome = LoginOutcome(dezi_nummer=session.dezi_nummer, acr=acr, method=name)
    step = await offload(
        svc,
        journey_login.logged_in,
        j,
        tx,
        binding,
        outcome,
        sid=session.sid,
        now=int(time.time()),
        thread=True,
    )
    return respond(request, svc, step)


__all__ = ["confirm", "may_offer_link", "offer"]
