"""First-time identity binding (issue 5, item 1): a method proved who someone is, but what it
proved (a BSN, an upstream subject) is bound to no professional in the register yet.

The method raises ``BindingRequired`` with the keyed hash it would look up (never the value
itself, DECISIONS.md #12). The web adapter (``idp.web.linking``) then offers to bind it to the
professional of the browser's live OP session, only when that session was established at level
high with another method; otherwise it shows how to get linked. A method that can write the
binding implements ``IdentityLinker``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from idp.errors import LoginFailed


class BindingRequired(LoginFailed):
    """No professional is bound to this login subject yet. ``description`` explains how to get
    linked and is the same whoever logs in (ASVS 6.3.8)."""

    def __init__(
        self, description: str, *, method: str, subject_hash: str, acr: str, log_detail: str
    ) -> None:
        super().__init__(description, log_detail=log_detail)
        self.method = method
        self.subject_hash = subject_hash
        self.acr = acr  # the level the method proved in this login


class LinkConflict(Exception):
    """The subject was bound to another professional in the meantime."""


@runtime_checkable
class IdentityLinker(Protocol):
    @property
    def name(self) -> str: ...

    def link_identity(self, dezi_nummer: str, subject_hash: str, *, actor: str) -> None:
        """Bind ``subject_hash`` (under this method's name) to the professional, with its audit
        record in the same transaction; raise ``LinkConflict`` if it is bound to another."""
        ...


__all__ = ["BindingRequired", "IdentityLinker", "LinkConflict"]
