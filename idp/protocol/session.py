"""The OP session of a shift and when it may answer an authorization request silently.

OIDC Core §3.1.2.1 (``prompt``, ``max_age``, ``acr_values``), §5.5.1.1 (essential ``acr``),
§3.1.2.6 (``login_required``, ``interaction_required``); NL GOV OIDC (deliver at least the level
asked for; ``acr`` never more than achieved); ASVS 7.3.1/7.3.2 (idle and absolute timeouts);
DECISIONS.md #8 (a shift: 10 h absolute, 2 h idle, configurable).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from idp.protocol import claims_request
from idp.protocol.models import LOA_ORDER, AuthorizationRequest, SsoSession, loa_rank


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    absolute_ttl: int
    idle_ttl: int

    def alive(self, session: SsoSession, now: int) -> bool:
        return (
            now < session.created_at + self.absolute_ttl and now < session.last_seen + self.idle_ttl
        )

    def remaining(self, session: SsoSession, now: int) -> int:
        """Seconds the stored record must live: until the earlier of the two deadlines."""
        return max(
            1,
            min(session.created_at + self.absolute_ttl, session.last_seen + self.idle_ttl) - now,
        )

    def touch(self, session: SsoSession, now: int) -> SsoSession:
        return replace(session, last_seen=now)


@dataclass(frozen=True, slots=True)
class LevelRequirement:
    """What the request asks for: a minimum rank, and optionally an exact set (essential acr)."""

    minimum: int = -1
    essential_values: tuple[str, ...] = ()

    def satisfied_by(self, acr: str) -> bool:
        if self.essential_values and acr not in self.essential_values:
            return False
        return loa_rank(acr) >= self.minimum


def level_requirement(request: AuthorizationRequest) -> LevelRequirement:
    """``acr_values`` as a minimum (NL GOV: at least the requested level); an essential ``acr``
    in the ``claims`` parameter as a hard set (OIDC Core §5.5.1.1). Unknown values are ignored."""
    known = [v for v in request.acr_values if v in LOA_ORDER]
    minimum = min((loa_rank(v) for v in known), default=-1)
    essential: tuple[str, ...] = ()
    if request.claims:
        acr = claims_request.section(request.claims, "id_token").get("acr")
        if isinstance(acr, dict) and acr.get("essential") is True:
            values = acr.get("values") or ([acr["value"]] if "value" in acr else [])
            essential = tuple(v for v in values if isinstance(v, str))
            if essential:
                minimum = max(minimum, min(loa_rank(v) for v in essential))
    return LevelRequirement(minimum=minimum, essential_values=essential)


def login_reason(
    request: AuthorizationRequest, session: SsoSession | None, policy: SessionPolicy, now: int
) -> str | None:
    """Why the user must (re-)authenticate, or ``None`` when the session can answer silently."""
    if session is None or not policy.alive(session, now):
        return "no session"
    if "login" in request.prompt:
        return "prompt=login"
    if request.max_age is not None and now - session.auth_time > request.max_age:
        return "max_age exceeded"
    if not level_requirement(request).satisfied_by(session.acr):
        return "step-up: a higher level is required"
    return None
