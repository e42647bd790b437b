"""The authorization request: validate it, then answer from the OP session or start a login.

RFC 6749 §4.1.1 and §4.1.2.1, OIDC Core §3.1.2.1-§3.1.2.6, RFC 9207 (``iss``), NL GOV OIDC
(never less than the level asked for). A live session at a sufficient level answers without
authentication (one login per shift); only the organisation choice may still be asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from idp.audit import get_logger
from idp.journey.declarations import offer
from idp.journey.deps import Journey
from idp.journey.login import methods_for
from idp.journey.results import ErrorPage, Redirect, Step
from idp.journey.sessions import current_session
from idp.journey.transactions import binding_hash, redirect_error, save
from idp.protocol.authorization import validate_authorization_request
from idp.protocol.errors import AuthorizationError
from idp.protocol.models import LoginTransaction
from idp.protocol.redirect import with_query
from idp.protocol.session import login_reason
from idp.protocol.tokens import new_id

__all__ = ["authorize"]

log = get_logger("idp.login")


def authorize(
    j: Journey, pairs: Sequence[tuple[str, str]], binding: str, sid: str | None, now: int
) -> Step:
    """``/authorize`` for the browser with this binding value and OP session id."""
    try:
        auth_request, client = validate_authorization_request(pairs, j.clients)
    except AuthorizationError as exc:
        log.info("authorize_rejected", error=exc.oauth.error, detail=exc.log_detail)
        if exc.redirect_uri is None:
            return ErrorPage("This login request cannot be handled", exc.description)
        params = exc.oauth.redirect_params(exc.state, j.config.issuer)
        return Redirect(with_query(exc.redirect_uri, params))
    session = current_session(j, sid, now)
    reason = login_reason(auth_request, session, j.policy, now)
    if reason is not None and "none" in auth_request.prompt:
        # OIDC Core §3.1.2.6: no UI with prompt=none.
        return redirect_error(j, auth_request, "login_required", "The user must log in")
    if reason is not None and not methods_for(j, auth_request):
        # NL GOV OIDC: never deliver less than asked; OIDC Core §5.5.1.1 for an essential acr.
        return redirect_error(
            j, auth_request, "access_denied", "No login method meets the requested level"
        )
    tx = LoginTransaction(
        tx_id=new_id(),
        request=auth_request.to_json(),
        browser_binding=binding_hash(binding),
        created_at=now,
    )
    if reason is None and session is not None:
        log.info("authorize_silent", client_id=client.client_id, sid=session.sid[:8])
        tx = replace(
            tx,
            dezi_nummer=session.dezi_nummer,
            acr=session.acr,
            auth_time=session.auth_time,
            login_method=session.login_method,
            restrict_to=session.restrict_to,
            sid=session.sid,
            declarations=session.declarations,
            consents=session.consents,
        )
        return offer(j, tx, binding, now, session)
    save(j, tx)
    log.info("authorize_accepted", client_id=client.client_id, tx=tx.tx_id[:8], reason=reason)
    methods = methods_for(j, auth_request)
    if len(methods) == 1:
        # Nothing to choose: straight to the method (one redirect less on every login).
        return Redirect(f"/login/{tx.tx_id}/{methods[0].name}")
    return Redirect(f"/login/{tx.tx_id}")
