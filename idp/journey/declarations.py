"""After authentication: the declarations this person may use at this client, the organisation
and role choice, consent, and the code with the OP session.

ARCHITECTURE.md "The hot path": the register is read once per login (``read_login_profile``).
Its declarations and consents travel in the transaction and then in the OP session, so a
silent login at the next relying party of the shift needs no database. A snapshot is trusted
only while no revocation mark names it (``registry`` changes write those marks before they
return, ``idp.register_feed``); a marked one is read from the register again.
"""

from __future__ import annotations

from dataclasses import replace

from idp.authn.base import LoginOutcome
from idp.journey import consent
from idp.journey.deps import Journey
from idp.journey.results import ErrorPage, Page, Redirect, Step
from idp.journey.sessions import new_session_id
from idp.journey.transactions import (
    EXPIRED_TEXT,
    base_context,
    redirect_error,
    save,
)
from idp.journey.usable import read_login_profile, usable_for
from idp.protocol.models import DeclarationSnapshot, LoginTransaction, SsoSession
from idp.protocol.tokens import is_administrator

__all__ = ["ADMINISTRATOR", "after_login", "finish", "offer", "select_page"]

# The choice of an administrator who logs in for the register's API: no organisation, no
# declaration (issue 4). A value no declaration id can take (those are UUIDs).
ADMINISTRATOR = "administrator"
NOT_USABLE = ErrorPage("Declaration not usable", "This declaration cannot be used.")


def after_login(
    j: Journey,
    tx: LoginTransaction,
    binding: str,
    outcome: LoginOutcome,
    now: int,
    current: SsoSession | None,
) -> Step:
    """A login method succeeded: read the register once, then offer the declarations."""
    fresh = replace(
        tx,
        dezi_nummer=outcome.dezi_nummer,
        acr=outcome.acr,
        auth_time=now,
        login_method=outcome.method,
        restrict_to=tuple(f"{ura}:{role}" for ura, role in outcome.restrict_to),
        sid=None,
    )
    return offer(j, read_login_profile(j, fresh, now), binding, now, current)


def offer(
    j: Journey, tx: LoginTransaction, binding: str, now: int, current: SsoSession | None
) -> Step:
    """None usable → a clear page; one → the code; several (or ``prompt=select_account``) →
    the organisation and role choice."""
    auth_request = tx.authorization_request()
    client = j.client(auth_request.client_id)
    declarations = usable_for(j, tx, client, now)
    silent_only = "none" in auth_request.prompt
    if (
        not declarations
        and "registry" in auth_request.scope
        and is_administrator(j.register, tx.dezi_nummer or "")
    ):
        # An administrator logging in for the register's API (issue 4) needs no declaration;
        # the rights are checked again when the token is issued and at every use.
        return finish(j, tx, ADMINISTRATOR, now, current, stored=False)
    if not declarations:
        if silent_only:
            return redirect_error(j, auth_request, "access_denied", "No usable declaration")
        save(j, replace(tx, declaration_ids=()))
        return Page(
            "no_declaration.html",
            base_context(j, tx, binding),
            status=403,
            form_target=auth_request.redirect_uri,
        )
    tx = replace(tx, declaration_ids=tuple(d.declaration_id for d in declarations))
    if len(declarations) == 1 and "select_account" not in auth_request.prompt:
        return finish(j, tx, declarations[0].declaration_id, now, current, stored=False)
    if silent_only:
        return redirect_error(
            j, auth_request, "account_selection_required", "Choose an organisation"
        )
    save(j, tx)
    return Redirect(f"/select/{tx.tx_id}")


def select_page(j: Journey, tx: LoginTransaction, binding: str, now: int) -> Step:
    """The organisation and role choice (only the declarations offered, still usable)."""
    auth_request = tx.authorization_request()
    offered = set(tx.declaration_ids)
    declarations = [
        d
        for d in usable_for(j, tx, j.client(auth_request.client_id), now)
        if d.declaration_id in offered
    ]
    context = base_context(j, tx, binding)
    context["declarations"] = declarations
    return Page("select.html", context, form_target=auth_request.redirect_uri)


def _chosen(
    j: Journey, tx: LoginTransaction, declaration_id: str, now: int
) -> DeclarationSnapshot | None:
    client = j.client(tx.authorization_request().client_id)
    return next(
        (d for d in usable_for(j, tx, client, now) if d.declaration_id == declaration_id), None
    )


def finish(
    j: Journey,
    tx: LoginTransaction,
    choice: str,
    now: int,
    existing: SsoSession | None,
    *,
    stored: bool = True,
    consented: bool = False,
) -> Step:
    """Issue the code and start or extend the OP session, in one state-store operation.

    Taking the stored transaction is atomic, so a double submit issues one code. A fresh login
    always gets a new session id and the old session ends (session fixation, ASVS 7.2.4). A
    relying party that receives the verklaring needs the worker's consent first.
    """
    administrator = choice == ADMINISTRATOR
    if not administrator and not consented and consent.needed(j, tx, choice):
        return consent.ask(j, tx, choice)
    if stored and j.state.take_transaction(tx.tx_id) is None:
        return ErrorPage("Login expired", EXPIRED_TEXT)
    if tx.dezi_nummer is None or tx.acr is None or tx.auth_time is None:
        return NOT_USABLE
    declaration: DeclarationSnapshot | None = None
    if administrator:
        if not is_administrator(j.register, tx.dezi_nummer):
            return NOT_USABLE
    else:
        declaration = _chosen(j, tx, choice, now)
        if declaration is None:
            return NOT_USABLE
    auth_request = tx.authorization_request()
    end: str | None = None
    if tx.sid is not None and existing is not None and existing.sid == tx.sid:
        session = replace(existing, declarations=tx.declarations, consents=tx.consents)
    else:
        end = existing.sid if existing is not None else None
        session = SsoSession(
            sid=new_session_id(),
            dezi_nummer=tx.dezi_nummer,
            acr=tx.acr,
            auth_time=tx.auth_time,
            login_method=tx.login_method or "",
            created_at=now,
            last_seen=now,
            restrict_to=tx.restrict_to,
            declarations=tx.declarations,
            consents=tx.consents,
        )
    issued = j.code_grant.new_code(
        auth_request,
        dezi_nummer=session.dezi_nummer,
        acting_as="administrator" if administrator else "declaration",
        declaration=declaration,
        acr=session.acr,
        auth_time=session.auth_time,
        sid=session.sid,
    )
    clients = session.clients
    if auth_request.client_id not in clients:
        clients = (*clients, auth_request.client_id)
    session = replace(
        j.policy.touch(session, now),
        clients=clients,
        grants=(*session.grants, issued.record.grant_id),
    )
    j.state.save_login(
        session,
        j.policy.remaining(session, now),
        code=issued.code,
        code_record=issued.record,
        code_ttl=j.config.code_ttl,
        reuse_window=j.config.code_reuse_window,
        end_session=end,
    )
    return Redirect(issued.location, session=session.sid)
