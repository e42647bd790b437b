"""The API's reads, always limited to what the caller administers (security-checklist.md K4).

``scope`` is the set of URAs the caller sees, or ``None`` for a registry administrator. An
organisation administrator (or an HR client) sees their organisations, the declarations at them,
and the professionals who have a declaration or a staff number there; an empty scope sees
nothing. Objects outside the scope read as absent, so that a 404 never tells them apart from
objects that do not exist.

Filters use bound parameters only; text filters are LIKE patterns with ``%``, ``_`` and ``\\``
escaped (``registry.queries.like_pattern``), so they match literally (K1). Pages are keyset
pages on a unique key (``inputs.Page``), fetched one row long to know if another page follows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, false
from sqlmodel import Session, col, or_, select
from sqlmodel.sql.expression import SelectOfScalar

from registry.api.inputs import Page, next_cursor
from registry.api.views import (
    client_organisations,
    client_view,
    declaration_view,
    organisation_view,
    professional_view,
)
from registry.models import Declaration, Employment, Organisation, Professional, RelyingParty
from registry.queries import like_pattern

__all__ = [
    "Listing",
    "declaration_in_scope",
    "find_client",
    "find_declaration",
    "find_organisation",
    "find_professional",
    "list_clients",
    "list_declarations",
    "list_organisations",
    "list_professionals",
]

Scope = frozenset[str] | None
T = TypeVar("T")


@dataclass(frozen=True)
class Listing:
    items: list[dict[str, Any]]
    next_cursor: str | None

    def body(self) -> dict[str, Any]:
        return {"items": self.items, "next_cursor": self.next_cursor}


def _cut(rows: Sequence[T], page: Page) -> tuple[list[T], bool]:
    return list(rows[: page.limit]), len(rows) > page.limit


def _in_scope(column: Any, scope: Scope) -> ColumnElement[bool] | None:
    if scope is None:
        return None
    if not scope:
        return false()
    return col(column).in_(sorted(scope))


# -- organisations --------------------------------------------------------------------------------


def list_organisations(
    session: Session,
    scope: Scope,
    page: Page,
    *,
    status: str | None,
    naam: str | None,
    categorie: str | None,
) -> Listing:
    statement = select(Organisation).order_by(col(Organisation.ura)).limit(page.limit + 1)
    where = _in_scope(Organisation.ura, scope)
    if where is not None:
        statement = statement.where(where)
    if page.after is not None:
        statement = statement.where(col(Organisation.ura) > page.after)
    if status is not None:
        statement = statement.where(Organisation.status == status)
    if categorie is not None:
        statement = statement.where(Organisation.categorie == categorie)
    if naam is not None:
        statement = statement.where(col(Organisation.naam).ilike(like_pattern(naam), "\\"))
    rows, more = _cut(session.exec(statement).all(), page)
    return Listing(
        [organisation_view(row) for row in rows],
        next_cursor(rows[-1].ura) if more and rows else None,
    )


def find_organisation(session: Session, scope: Scope, ura: str) -> Organisation | None:
    if scope is not None and ura not in scope:
        return None
    return session.exec(select(Organisation).where(Organisation.ura == ura)).first()


# -- professionals ----------------------------------------------------------------------------


def _professionals_in(scope: frozenset[str]) -> ColumnElement[bool]:
    """Professionals with a declaration or a staff number at one of ``scope``'s URAs."""
    uras = sorted(scope)
    declared = (
        select(Declaration.professional_id)
        .join(Organisation, col(Organisation.id) == col(Declaration.organisation_id))
        .where(col(Organisation.ura).in_(uras))
    )
    employed = (
        select(Employment.professional_id)
        .join(Organisation, col(Organisation.id) == col(Employment.organisation_id))
        .where(col(Organisation.ura).in_(uras))
    )
    return or_(col(Professional.id).in_(declared), col(Professional.id).in_(employed))


def _scoped_professionals(scope: Scope) -> SelectOfScalar[Professional]:
    statement = select(Professional)
    if scope is not None:
        statement = statement.where(_professionals_in(scope) if scope else false())
    return statement


def list_professionals(
    session: Session,
    scope: Scope,
    page: Page,
    *,
    achternaam: str | None,
    dezi_nummer: str | None,
    big_nummer: str | None,
    ura: str | None,
) -> Listing:
    statement = (
        _scoped_professionals(scope).order_by(col(Professional.dezi_nummer)).limit(page.limit + 1)
    )
    if page.after is not None:
        statement = statement.where(col(Professional.dezi_nummer) > page.after)
    if achternaam is not None:
        statement = statement.where(
            col(Professional.achternaam).ilike(like_pattern(achternaam), "\\")
        )
    if dezi_nummer is not None:
        statement = statement.where(Professional.dezi_nummer == dezi_nummer)
    if big_nummer is not None:
        statement = statement.where(Professional.big_nummer == big_nummer)
    if ura is not None:
        statement = statement.where(_professionals_in(frozenset({ura})))
    rows, more = _cut(session.exec(statement).all(), page)
    return Listing(
        [professional_view(row) for row in rows],
        next_cursor(rows[-1].dezi_nummer) if more and rows else None,
    )


def find_professional(session: Session, scope: Scope, dezi_nummer: str) -> Professional | None:
    statement = _scoped_professionals(scope).where(Professional.dezi_nummer == dezi_nummer)
    return session.exec(statement).first()


# -- declarations ---------------------------------------------------------------------------------


def _declarations(scope: Scope) -> Any:
    statement = (
        select(Declaration, Professional.dezi_nummer, Organisation.ura)
        .join(Professional, col(Professional.id) == col(Declaration.professional_id))
        .join(Organisation, col(Organisation.id) == col(Declaration.organisation_id))
    )
    where = _in_scope(Organisation.ura, scope)
    return statement if where is None else statement.where(where)


def list_declarations(
    session: Session,
    scope: Scope,
    page: Page,
    *,
    ura: str | None,
    status: str | None,
    dezi_nummer: str | None,
    rol_code: str | None,
) -> Listing:
    statement = _declarations(scope).order_by(col(Declaration.id)).limit(page.limit + 1)
    if page.after is not None:
        statement = statement.where(col(Declaration.id) > page.after)
    if ura is not None:
        statement = statement.where(Organisation.ura == ura)
    if status is not None:
        statement = statement.where(Declaration.status == status)
    if dezi_nummer is not None:
        statement = statement.where(Professional.dezi_nummer == dezi_nummer)
    if rol_code is not None:
        statement = statement.where(Declaration.rol_code == rol_code)
    rows, more = _cut(session.exec(statement).all(), page)
    return Listing(
        [declaration_view(row, dezi, row_ura) for row, dezi, row_ura in rows],
        next_cursor(rows[-1][0].id) if more and rows else None,
    )


def find_declaration(
    session: Session, scope: Scope, declaration_id: str, *, lock: bool = False
) -> tuple[Declaration, str, str] | None:
    """The declaration with its Dezi number and URA; ``lock`` takes the row lock of a write
    (``SELECT … FOR UPDATE`` on PostgreSQL) so that an ``If-Match`` check holds until commit."""
    statement = _declarations(scope).where(Declaration.id == declaration_id)
    if lock:
        statement = statement.with_for_update(of=Declaration)
    row = session.exec(statement).first()
    if row is None:
        return None
    declaration, dezi_nummer, ura = row
    return declaration, dezi_nummer, ura


def declaration_in_scope(session: Session, scope: Scope, declaration_id: str) -> str | None:
    """The URA of the declaration when the caller may see it, else ``None``."""
    found = find_declaration(session, scope, declaration_id)
    return None if found is None else found[2]


# -- relying parties (registry administrators only) -------------------------------------------


def list_clients(session: Session, page: Page) -> Listing:
    statement = select(RelyingParty).order_by(col(RelyingParty.client_id)).limit(page.limit + 1)
    if page.after is not None:
        statement = statement.where(col(RelyingParty.client_id) > page.after)
    rows, more = _cut(session.exec(statement).all(), page)
    links = client_organisations(session, [row.id for row in rows])
    return Listing(
        [client_view(row, links.get(row.id, [])) for row in rows],
        next_cursor(rows[-1].client_id) if more and rows else None,
    )


def find_client(session: Session, client_id: str) -> dict[str, Any] | None:
    row = session.exec(select(RelyingParty).where(RelyingParty.client_id == client_id)).first()
    if row is None:
        return None
    return client_view(row, client_organisations(session, [row.id]).get(row.id, []))
