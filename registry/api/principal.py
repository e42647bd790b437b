"""Who calls the REST API, and what they may administer.

The API does not know tokens: the deployment hands it an ``Authenticate`` callable that turns a
request into a ``Principal`` (the IdP implements it from its own access tokens,
``idp/web/api_auth.py``), so the register never imports the IdP (ARCHITECTURE.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from starlette.requests import Request

__all__ = ["Authenticate", "Principal"]


@dataclass(frozen=True, slots=True)
class Principal:
    """A caller and its rights, read from the register at this request.

    ``registry_admin`` may do everything; otherwise the caller administers exactly
    ``organisations`` (URAs): an organisation administrator's grants, or the organisations a
    client (an HR system) is registered for. An empty set gives nothing, never everything.
    """

    actor: str  # "dezi:<nummer>" or "client:<client_id>", as the audit trail records it
    registry_admin: bool = False
    organisations: frozenset[str] = frozenset()

    def may_administer(self, ura: str) -> bool:
        return self.registry_admin or ura in self.organisations

    def scope(self) -> frozenset[str] | None:
        """The URAs this caller sees, or ``None`` for all of them (registry administrator)."""
        return None if self.registry_admin else self.organisations

    def on_behalf_of(self, uras: Iterable[str] = ()) -> str | None:
        """NEN 7513 "on whose behalf": the organisation the change concerns, or the caller's
        only organisation when the object belongs to none."""
        concerned = sorted(set(uras))
        if len(concerned) == 1:
            return concerned[0]
        if not concerned and len(self.organisations) == 1 and not self.registry_admin:
            return next(iter(self.organisations))
        return None


class Authenticate(Protocol):
    """``Authorization`` header → ``Principal``; ``None`` when missing or not acceptable."""

    async def __call__(self, request: Request) -> Principal | None: ...
