"""The OP session of a shift: finding it, ending it, and ending what used a revoked declaration.

The session record lives in the shared state store, so any worker serves it. Ending a session
deletes it, revokes every grant issued in it (their access tokens stop working at once) and
yields the back-channel logout tokens for its relying parties (OIDC Back-Channel Logout 1.0
§2.5; ASVS 7.4.x); sending them is the caller's (``idp.web.backchannel``), so the CLI and the
revocation watcher use these functions without the web app.
"""

from __future__ import annotations

import secrets

from idp.journey.deps import Journey
from idp.protocol.logout import BackchannelMessage
from idp.protocol.models import SsoSession

__all__ = ["current_session", "end_declaration", "end_session", "new_session_id"]


def current_session(j: Journey, sid: str | None, now: int) -> SsoSession | None:
    """The live session with this id, or None (expired records count as none)."""
    if sid is None:
        return None
    session = j.state.get_session(sid)
    if session is None or not j.policy.alive(session, now):
        return None
    return session


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def end_session(j: Journey, session: SsoSession) -> list[BackchannelMessage]:
    """End one OP session everywhere; returns the logout tokens to send."""
    j.state.delete_session(session.sid)
    for grant_id in session.grants:
        j.state.revoke_grant(grant_id)
    return j.logout.backchannel_messages(session)


def end_declaration(
    j: Journey, dezi_nummer: str, declaration_id: str
) -> tuple[int, list[BackchannelMessage]]:
    """Revoke every live grant that uses the declaration: how many relying parties held one,
    and the logout tokens for them (issue 6 item 8). The worker's session goes on for her other
    organisations."""
    messages: list[BackchannelMessage] = []
    affected = 0
    for session in j.state.sessions_of(dezi_nummer):
        clients: set[str] = set()
        for grant_id in session.grants:
            grant = j.state.get_grant(grant_id)
            if grant is not None and grant.declaration_id == declaration_id:
                j.state.revoke_grant(grant_id)
                clients.add(grant.client_id)
        if clients:
            messages.extend(j.logout.backchannel_messages(session, clients))
            affected += len(clients)
    return affected, messages
