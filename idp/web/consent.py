"""Consent: the first time a verklaring goes to a relying party, the care worker approves it
(issue 6 item 5; ASVS 10.7.1-10.7.3).

A verklaring leaves the IdP only inside the Dezi userinfo JWE, which a client gets when it
registered an encryption key; so those clients ask for consent, once per relying party and
declaration. The approval is kept in the register (audited) and can be withdrawn on /account.
``prompt=consent`` asks again; ``prompt=none`` without an approval answers ``consent_required``
(OIDC Core §3.1.2.6).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.audit import get_logger
from idp.protocol.models import LoginTransaction
from idp.web.common import error_page, render, see_other, services
from idp.web.services import Services
from idp.web.transactions import (
    base_context,
    cancel,
    check_post,
    forbidden,
    redirect_error,
    require_tx,
)

log = get_logger("idp.consent")


def _sends_verklaring(svc: Services, client_id: str) -> bool:
    client = svc.clients.get_client(client_id)
    dezi = svc.userinfo.dezi
    return client is not None and dezi is not None and dezi.encryption_key(client) is not None


async def needed(svc: Services, tx: LoginTransaction, declaration_id: str) -> bool:
    auth_request = tx.authorization_request()
    if not await run_in_threadpool(_sends_verklaring, svc, auth_request.client_id):
        return False
    if "consent" in auth_request.prompt:
        return True
    return not await run_in_threadpool(
        svc.consents.has_consent, tx.dezi_nummer or "", auth_request.client_id, declaration_id
    )


async def ask(svc: Services, tx: LoginTransaction, declaration_id: str) -> Response:
    """Keep the transaction with the chosen declaration and show the consent page."""
    auth_request = tx.authorization_request()
    if "none" in auth_request.prompt:
        return redirect_error(svc, auth_request, "consent_required", "Consent is required")
    pending = replace(tx, declaration_ids=(declaration_id,), consent_pending=True)
    await run_in_threadpool(svc.state.put_transaction, pending, svc.settings.login_transaction_ttl)
    return see_other(f"/consent/{tx.tx_id}")


async def consent_page(request: Request) -> Response:
    from idp.web.declarations import finish  # finish asks this module first

    svc = services(request)
    loaded = await require_tx(request)
    if isinstance(loaded, Response):
        return loaded
    tx, binding = loaded
    if not tx.consent_pending or len(tx.declaration_ids) != 1:
        return see_other(f"/login/{tx.tx_id}")
    declaration_id = tx.declaration_ids[0]
    auth_request = tx.authorization_request()
    if request.method == "POST":
        form = await check_post(request, tx, binding)
        if form is None:
            return forbidden(request)
        if form.get("action") != "approve":
            return await cancel(svc, tx)
        await run_in_threadpool(
            svc.consents.record_consent,
            tx.dezi_nummer or "",
            auth_request.client_id,
            declaration_id,
        )
        log.info("consent_given", client_id=auth_request.client_id)
        approved = replace(tx, consent_pending=False)
        return await finish(request, svc, approved, declaration_id, consented=True)
    declaration = await run_in_threadpool(
        svc.register.usable_declaration, declaration_id, datetime.now(UTC)
    )
    if declaration is None:
        return error_page(request, "Declaration not usable", "This declaration cannot be used.")
    context = await run_in_threadpool(base_context, svc, tx, binding)
    context["declaration"] = declaration
    return render(request, "consent.html", context, form_target=auth_request.redirect_uri)
