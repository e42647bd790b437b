"""Consent: the first time a verklaring goes to a relying party, the care worker approves it
(DECISIONS.md #14; issue 6 item 5; ASVS 10.7.1-10.7.3).

A verklaring leaves the IdP only inside the Dezi userinfo JWE, which a client gets when it
registered an encryption key; so those clients ask for consent, once per relying party and
declaration. Approvals are kept in the register (audited) and read once per login with the
declarations; a withdrawal marks the person's consents in the state store (``consents:``), and a
marked set is read again. ``prompt=consent`` asks again; ``prompt=none`` without an approval
answers ``consent_required`` (OIDC Core §3.1.2.6).
"""

from __future__ import annotations

from dataclasses import replace

from idp.journey.deps import Journey
from idp.journey.results import ErrorPage, Page, Redirect, Step
from idp.journey.transactions import base_context, redirect_error, save
from idp.journey.usable import usable_for
from idp.protocol.models import LoginTransaction

__all__ = ["approve", "ask", "needed", "page"]


def _given(j: Journey, tx: LoginTransaction, client_id: str, declaration_id: str) -> bool:
    number = tx.dezi_nummer or ""
    if j.state.any_revoked((f"consents:{number}",)):
        return j.consents.has_consent(number, client_id, declaration_id)
    return f"{client_id}|{declaration_id}" in tx.consents


def needed(j: Journey, tx: LoginTransaction, declaration_id: str) -> bool:
    auth_request = tx.authorization_request()
    if not j.sends_verklaring(auth_request.client_id):
        return False
    if "consent" in auth_request.prompt:
        return True
    return not _given(j, tx, auth_request.client_id, declaration_id)


def ask(j: Journey, tx: LoginTransaction, declaration_id: str) -> Step:
    """Keep the transaction with the chosen declaration and show the consent page."""
    auth_request = tx.authorization_request()
    if "none" in auth_request.prompt:
        return redirect_error(j, auth_request, "consent_required", "Consent is required")
    save(j, replace(tx, declaration_ids=(declaration_id,), consent_pending=True))
    return Redirect(f"/consent/{tx.tx_id}")


def page(j: Journey, tx: LoginTransaction, binding: str, now: int) -> Step:
    if not tx.consent_pending or len(tx.declaration_ids) != 1:
        return Redirect(f"/login/{tx.tx_id}")
    auth_request = tx.authorization_request()
    wanted = tx.declaration_ids[0]
    client = j.client(auth_request.client_id)
    declaration = next(
        (d for d in usable_for(j, tx, client, now) if d.declaration_id == wanted), None
    )
    if declaration is None:
        return ErrorPage("Declaration not usable", "This declaration cannot be used.")
    context = base_context(j, tx, binding)
    context["declaration"] = declaration
    return Page("consent.html", context, form_target=auth_request.redirect_uri)


def approve(j: Journey, tx: LoginTransaction) -> LoginTransaction | None:
    """Record the approval; the transaction to finish with (None: nothing is pending)."""
    if not tx.consent_pending or len(tx.declaration_ids) != 1:
        return None
    client_id = tx.authorization_request().client_id
    declaration_id = tx.declaration_ids[0]
    j.consents.record_consent(tx.dezi_nummer or "", client_id, declaration_id)
    return replace(
        tx,
        consent_pending=False,
        consents=(*tx.consents, f"{client_id}|{declaration_id}"),
    )
