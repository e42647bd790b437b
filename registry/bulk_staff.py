"""Planning staff rows (one declaration each) for a chunk of the staging table.

The chunk's reads are a handful of queries that join the staging table (``registry.bulk_stage``)
against the register: the organisations, the professionals linked to the rows' staff numbers,
the holders of the rows' BIG numbers, those people's declarations and employers. The rows are
then decided in file order against those maps, in memory; a row checks every rule before it
adds anything to the ``ChunkPlan``, so a rejected row leaves no trace.

Rules (INTERFACES.md "Bulk import files", plus these choices):

- A professional is matched on (URA, personeelsnummer) through ``Employment``; without that
  link, on the BIG number (the same BIG number is the same person); else a new professional gets
  a new Dezi number, and its ``professional.enrol`` audit record names the staff number.
- An empty ``big_nummer`` means "not given": an import never removes or replaces a BIG number
  (K5: it comes from the BIG register); it may add one to a professional who has none.
- Names follow the file, except for a professional who also works for another organisation:
  one employer's HR file does not rename someone in every other organisation's tokens. The row
  then carries a note that the name was kept.
- A role that requires a BIG registration needs a BIG number, from the row or the register.
- An active or suspended declaration of the same role takes the row's validity (an import never
  lifts a suspension); a revoked one is not reinstated: the row is rejected unless it starts
  after the revoked one did (a new period of employment).

The audit records are those ``registry.staff``'s per-change functions write, in the same order
and with the same details (a test compares them with the per-row import this replaced).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from registry.bulk_file import StaffRow
from registry.bulk_rows import (
    ChunkPlan,
    Detail,
    Event,
    Importer,
    Outcome,
    Person,
    Planned,
    end_of,
    first_day,
    last_day,
    new_row_id,
    start_of,
)
from registry.bulk_stage import UNCHANGED
from registry.errors import InvariantViolation, RegistryError
from registry.models import Declaration, Employment, Organisation, Professional, utcnow
from registry.staff import Names

__all__ = ["StaffPlanner"]

_ORG: sa.Table = Organisation.__table__  # type: ignore[attr-defined]
_PRO: sa.Table = Professional.__table__  # type: ignore[attr-defined]
_EMP: sa.Table = Employment.__table__  # type: ignore[attr-defined]
_DEC: sa.Table = Declaration.__table__  # type: ignore[attr-defined]
_NAME_KEPT = "name kept: the professional also works for another organisation"


@dataclass(eq=False)
class _Declaration:
    id: str
    status: str
    valid_from: datetime
    valid_until: datetime | None
    new: bool = False


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _names(person: Person) -> Names:
    return Names(person.voorletters, person.voorvoegsel, person.achternaam)


def _person(values: sa.Row[tuple[object, ...]]) -> Person:
    m = values._mapping
    return Person(
        id=str(m["id"]),
        dezi_nummer=str(m["dezi_nummer"]),
        big_nummer=None if m["big_nummer"] is None else str(m["big_nummer"]),
        voorletters=str(m["voorletters"]),
        voorvoegsel=None if m["voorvoegsel"] is None else str(m["voorvoegsel"]),
        achternaam=str(m["achternaam"]),
    )


class StaffPlanner:
    def __init__(self, importer: Importer, stage: sa.Table) -> None:
        self._importer = importer
        self._stage = stage
        self._organisations: dict[str, tuple[str, str]] = {}  # ura -> (id, status)
        self._staff: dict[tuple[str, str], Person] = {}
        self._big: dict[str, Person] = {}
        self._declarations: dict[tuple[str, str, str], list[_Declaration]] = {}
        self._employers: dict[str, set[str]] = {}  # professional id -> organisation ids

    # -- the chunk's reads ------------------------------------------------------------------

    def _read(self, connection: sa.Connection, first: int, last: int) -> None:
        s = self._stage
        in_chunk = sa.and_(
            s.c.line.between(first, last),
            s.c.reasons.is_(None),
            ~sa.exists().where(UNCHANGED.c.line == s.c.line),  # settled already
        )
        organisations = sa.select(_ORG.c.id, _ORG.c.ura, _ORG.c.status).where(
            _ORG.c.ura.in_(sa.select(s.c.ura).where(in_chunk))
        )
        self._organisations = {r.ura: (r.id, r.status) for r in connection.execute(organisations)}
        staffed = (
            s.join(_ORG, _ORG.c.ura == s.c.ura)
            .join(
                _EMP,
                sa.and_(
                    _EMP.c.organisation_id == _ORG.c.id,
                    _EMP.c.personeelsnummer == s.c.personeelsnummer,
                ),
            )
            .join(_PRO, _PRO.c.id == _EMP.c.professional_id)
        )
        people: dict[str, Person] = {}
        self._staff = {}
        linked = sa.select(_EMP.c.organisation_id, _EMP.c.personeelsnummer, _PRO).select_from(
            staffed
        )
        for values in connection.execute(linked.where(in_chunk)):
            person = people.setdefault(str(values.id), _person(values))
            self._staff[(str(values.organisation_id), str(values.personeelsnummer))] = person
        holders = sa.select(_PRO).select_from(s.join(_PRO, _PRO.c.big_nummer == s.c.big_nummer))
        self._big = {}
        for values in connection.execute(holders.where(in_chunk)):
            person = people.setdefault(str(values.id), _person(values))
            if person.big_nummer is not None:
                self._big[person.big_nummer] = person
        ids = sa.union(
            sa.select(_PRO.c.id).select_from(staffed).where(in_chunk),
            sa.select(_PRO.c.id)
            .select_from(s.join(_PRO, _PRO.c.big_nummer == s.c.big_nummer))
            .where(in_chunk),
        ).scalar_subquery()
        self._declarations = {}
        self._employers = {person_id: set() for person_id in people}
        if not people:
            return
        declarations = (
            sa.select(_DEC)
            .where(
                _DEC.c.professional_id.in_(ids),
                _DEC.c.organisation_id.in_([o for o, _ in self._organisations.values()]),
            )
            .order_by(_DEC.c.created_at.desc())
        )
        for d in connection.execute(declarations):
            key = (str(d.professional_id), str(d.organisation_id), str(d.rol_code))
            self._declarations.setdefault(key, []).append(
                _Declaration(str(d.id), str(d.status), d.valid_from, d.valid_until)
            )
        employers = sa.select(_EMP.c.professional_id, _EMP.c.organisation_id).where(
            _EMP.c.professional_id.in_(ids)
        )
        for e in connection.execute(employers):
            self._employers.setdefault(str(e.professional_id), set()).add(str(e.organisation_id))

    # -- the rows ---------------------------------------------------------------------------

    def plan(
        self, connection: sa.Connection, first: int, last: int, rows: Iterable[StaffRow]
    ) -> ChunkPlan:
        rows = list(rows)
        plan = ChunkPlan()
        if not rows:
            return plan
        self._read(connection, first, last)
        for row in rows:
            try:
                self._row(plan, row)
            except RegistryError as exc:
                plan.reject(row.line, exc.description)
        return plan

    def _row(self, plan: ChunkPlan, row: StaffRow) -> None:
        if not self._importer.may_change(row.ura):
            raise InvariantViolation("ura: not an organisation you administer")
        organisation = self._organisations.get(row.ura)
        if organisation is None:
            raise InvariantViolation(f"ura: organisation {row.ura} is not enrolled")
        organisation_id, status = organisation
        if status == "ended":
            raise InvariantViolation(f"ura: organisation {row.ura} has ended")
        professional = self._staff.get((organisation_id, row.personeelsnummer))
        if (
            row.role.big_registered
            and row.big_nummer is None
            and (professional is None or professional.big_nummer is None)
        ):
            raise InvariantViolation(f"big_nummer: role {row.role.code} requires a BIG number")
        add_big = professional is not None and self._adds_big(professional, row.big_nummer)
        holder = None
        if professional is None and row.big_nummer is not None:
            holder = self._big.get(row.big_nummer)
        person = professional or holder
        rename, notes = False, tuple[str, ...]()
        if person is not None and _names(person) != row.names:
            if self._employers.get(person.id, set()) - {organisation_id}:
                notes = (_NAME_KEPT,)
            else:
                rename = True
        # Decided in full before anything is planned (the rule below is checked for the
        # matched person too, and the declaration rules may still reject the row).
        existing = (
            []
            if person is None
            else self._declarations.get((person.id, organisation_id, row.role.code), [])
        )
        declaration = self._decide_declaration(row, existing)
        # -- every rule holds: plan the writes, in the order the per-row import made them ---
        if professional is not None and add_big and row.big_nummer is not None:
            self._plan_big(plan, professional, row.big_nummer)
        if person is None:
            person = self._enrol(plan, row, organisation_id)
        elif holder is not None:
            self._link(plan, row, organisation_id, holder)
        if rename:
            self._rename(plan, person, row.names)
        outcome = self._plan_declaration(plan, row, person, organisation_id, existing, declaration)
        if outcome == "unchanged" and (add_big or holder is not None or rename):
            outcome = "updated"
        plan.results.append(Planned(row.line, outcome, (), notes, person))

    def _adds_big(self, professional: Person, big: str | None) -> bool:
        if big is None or professional.big_nummer == big:
            return False
        if professional.big_nummer is not None:
            raise InvariantViolation(
                "big_nummer: differs from the BIG number registered for this personeelsnummer"
            )
        if big in self._big:
            raise InvariantViolation("big_nummer: belongs to another professional")
        return True

    def _decide_declaration(
        self, row: StaffRow, existing: list[_Declaration]
    ) -> Outcome | _Declaration:
        """``created``/``unchanged``, or the current declaration to update."""
        if any(
            d.status == "revoked" and first_day(d.valid_from) >= row.geldig_vanaf for d in existing
        ):
            raise InvariantViolation(
                "rol_code: this declaration was revoked; an import does not reinstate it"
                " (a new period needs a later geldig_vanaf)"
            )
        current = next((d for d in existing if d.status in ("active", "suspended")), None)
        if current is None:
            return "unchanged" if any(self._same(d, row) for d in existing) else "created"
        return "unchanged" if self._same(current, row) else current

    @staticmethod
    def _same(declaration: _Declaration, row: StaffRow) -> bool:
        return (first_day(declaration.valid_from), last_day(declaration.valid_until)) == (
            row.geldig_vanaf,
            row.geldig_tot,
        )

    # -- planning the writes ----------------------------------------------------------------

    def _plan_big(self, plan: ChunkPlan, professional: Person, big: str) -> None:
        professional.big_nummer = big
        self._touch(plan, professional, {"big_nummer": big})
        self._big[big] = professional
        detail: Detail = {"changed": ["big_nummer"]}
        plan.events.append(
            Event("professional.update", "professional", professional.number, detail)
        )

    def _touch(self, plan: ChunkPlan, person: Person, values: dict[str, object]) -> None:
        """Changed fields: folded into the insert of a new person, else an update by id."""
        if person.new:
            return  # inserted with its final values when the chunk is written
        plan.update("professional", person.id, {**values, "updated_at": utcnow()})

    def _enrol(self, plan: ChunkPlan, row: StaffRow, organisation_id: str) -> Person:
        person = Person(
            id=new_row_id(),
            dezi_nummer=None,
            big_nummer=row.big_nummer,
            voorletters=row.names.voorletters,
            voorvoegsel=row.names.voorvoegsel,
            achternaam=row.names.achternaam,
            new=True,
        )
        plan.new_people.append(person)
        self._add_employment(plan, row, organisation_id, person)
        ura, number, big = row.ura, row.personeelsnummer, row.big_nummer is not None

        def detail() -> Detail:
            return {"issued": True, "big_registered": big, "ura": ura, "personeelsnummer": number}

        plan.events.append(Event("professional.enrol", "professional", person.number, detail))
        if row.big_nummer is not None:
            self._big[row.big_nummer] = person
        return person

    def _add_employment(
        self, plan: ChunkPlan, row: StaffRow, organisation_id: str, person: Person
    ) -> None:
        plan.insert(
            "employment",
            {
                "id": new_row_id(),
                "organisation_id": organisation_id,
                "personeelsnummer": row.personeelsnummer,
                "professional_id": person.id,
                "created_by": self._importer.context.actor,
                "created_at": utcnow(),
            },
        )
        self._staff[(organisation_id, row.personeelsnummer)] = person
        self._employers.setdefault(person.id, set()).add(organisation_id)

    def _link(self, plan: ChunkPlan, row: StaffRow, organisation_id: str, holder: Person) -> None:
        self._add_employment(plan, row, organisation_id, holder)
        detail: Detail = {"ura": row.ura, "personeelsnummer": row.personeelsnummer}
        plan.events.append(Event("employment.link", "professional", holder.number, detail))

    def _rename(self, plan: ChunkPlan, person: Person, names: Names) -> None:
        changed = [
            name
            for name in ("voorletters", "voorvoegsel", "achternaam")
            if getattr(person, name) != getattr(names, name)
        ]
        person.voorletters, person.voorvoegsel, person.achternaam = (
            names.voorletters,
            names.voorvoegsel,
            names.achternaam,
        )
        self._touch(plan, person, {name: getattr(names, name) for name in changed})
        detail: Detail = {"changed": changed}
        plan.events.append(Event("professional.update", "professional", person.number, detail))

    def _plan_declaration(
        self,
        plan: ChunkPlan,
        row: StaffRow,
        person: Person,
        organisation_id: str,
        existing: list[_Declaration],
        decision: Outcome | _Declaration,
    ) -> Outcome:
        if decision == "unchanged":
            return "unchanged"
        valid_from, valid_until = start_of(row.geldig_vanaf), end_of(row.geldig_tot)
        if decision == "created":
            declaration = _Declaration(new_row_id(), "active", valid_from, valid_until, new=True)
            self._declarations.setdefault(
                (person.id, organisation_id, row.role.code), existing
            ).insert(0, declaration)
            plan.insert(
                "declaration",
                {
                    "id": declaration.id,
                    "professional_id": person.id,
                    "organisation_id": organisation_id,
                    "rol_code": row.role.code,
                    "valid_from": valid_from,
                    "valid_until": valid_until,
                    "status": "active",
                    "status_reason": None,
                    "issued_by": self._importer.context.actor,
                    "revoked_by": None,
                    "revoked_at": None,
                    "personeelsnummer": row.personeelsnummer,
                    "created_at": utcnow(),
                },
            )
            ura, code = row.ura, row.role.code

            def detail() -> Detail:
                return {"dezi_nummer": person.number(), "ura": ura, "rol_code": code}

            plan.events.append(Event("declaration.add", "declaration", declaration.id, detail))
            return "created"
        if not isinstance(decision, _Declaration):
            raise TypeError(decision)
        current = decision
        change: Detail = {
            "valid_from": [_iso(current.valid_from), _iso(valid_from)],
            "valid_until": [_iso(current.valid_until), _iso(valid_until)],
        }
        current.valid_from, current.valid_until = valid_from, valid_until
        if current.new:
            for planned in plan.inserts["declaration"]:
                if planned["id"] == current.id:
                    planned["valid_from"], planned["valid_until"] = valid_from, valid_until
        else:
            plan.update(
                "declaration",
                current.id,
                {"valid_from": valid_from, "valid_until": valid_until},
            )
        plan.events.append(Event("declaration.update", "declaration", current.id, change))
        return "updated"
