"""Step-up from the account pages: log in again at level high, then come back.

Adding a passkey needs a recent login at level high (``idp.authn.passkey_registration``). A
session at a lower level, or an older one, is sent through the ordinary login pages with a login
transaction of its own: an authorization request of the OP to itself, for the pseudo-client
``ACCOUNT_CLIENT`` with ``acr_values`` high and ``prompt=login`` (OIDC Core §3.1.2.1), so the
chooser offers only methods at high. When the method succeeds, the login hands the transaction
here instead of issuing a code: a NEW session replaces the old one (session fixation, ASVS
7.2.4) and the browser goes back to the page that asked.
"""

from __future__ import annotations

from dataclasses import replace

from idp.audit import get_logger
from idp.authn.base import LoginOutcome
from idp.journey.deps import Journey
from idp.journey.results import ErrorPage, Redirect, Step
from idp.journey.sessions import new_session_id
from idp.journey.transactions import binding_hash, save
from idp.protocol.models import LOA_HIGH, AuthorizationRequest, LoginTransaction, SsoSession
from idp.protocol.tokens import new_id

__all__ = ["ACCOUNT_CLIENT", "finish", "is_step_up", "methods_at_high", "start"]

log = get_logger("idp.account")

# Registered client ids never contain a space (registry.clients), so this cannot be one. It is
# also what the login pages show as "Log in to …".
ACCOUNT_CLIENT = "your zorg-idp account"


def methods_at_high(j: Journey) -> list[str]:
    return [name for name, m in j.login_methods.items() if m.acr == LOA_HIGH]


def start(j: Journey, binding: str, return_path: str, now: int) -> Step:
    """Begin a login at level high that returns to ``return_path`` (a path on this OP)."""
    if not methods_at_high(j):
        return ErrorPage(
            "No login method at level high",
            "This service offers no login method at level high, so a passkey cannot be added.",
            403,
        )
    auth_request = AuthorizationRequest(
        client_id=ACCOUNT_CLIENT,
        redirect_uri=f"{j.config.issuer}{return_path}",
        scope=(),
        state=None,
        nonce=None,
        code_challenge="",
        code_challenge_method="",
        prompt=("login",),
        acr_values=(LOA_HIGH,),
    )
    tx = LoginTransaction(
        tx_id=new_id(),
        request=auth_request.to_json(),
        browser_binding=binding_hash(binding),
        created_at=now,
    )
    save(j, tx)
    log.info("account_step_up_started", tx=tx.tx_id[:8])
    return Redirect(f"/login/{tx.tx_id}")


def is_step_up(tx: LoginTransaction) -> bool:
    return tx.authorization_request().client_id == ACCOUNT_CLIENT


def finish(
    j: Journey,
    tx: LoginTransaction,
    outcome: LoginOutcome,
    existing: SsoSession | None,
    now: int,
) -> Step:
    """The login at high succeeded: a new session, then back to the account page."""
    if j.state.take_transaction(tx.tx_id) is None:
        return ErrorPage("Login expired", "This login has expired. Start again.")
    if outcome.acr != LOA_HIGH:
        return ErrorPage("Login failed", "The login did not reach level high.", 403)
    session = SsoSession(
        sid=new_session_id(),
        dezi_nummer=outcome.dezi_nummer,
        acr=outcome.acr,
        auth_time=now,
        login_method=outcome.method,
        created_at=now,
        last_seen=now,
        restrict_to=tuple(f"{ura}:{role}" for ura, role in outcome.restrict_to),
    )
    end: str | None = None
    if existing is not None:
        end = existing.sid
        if existing.dezi_nummer == session.dezi_nummer:
            # The same person: her applications and what she may use stay in the session, so
            # logging out still reaches them (OIDC Back-Channel Logout) and the shift goes on.
            session = replace(
                session,
                clients=existing.clients,
                grants=existing.grants,
                declarations=existing.declarations,
                consents=existing.consents,
            )
    j.state.save_login(session, j.policy.remaining(session, now), end_session=end)
    log.info("account_step_up_done", sid=session.sid[:8], method=session.login_method)
    return Redirect(tx.authorization_request().redirect_uri, session=session.sid)
