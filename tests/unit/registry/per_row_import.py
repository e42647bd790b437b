"""The per-row import that ``registry.bulk`` replaced (ORM, a savepoint per row), kept here
unchanged as the oracle the set-based import is compared against: same outcomes, same register,
same audit records (``test_bulk_equivalence``). Not used by the product; over 400 lines because
it is a verbatim copy of three former modules (registry/bulk.py, bulk_rows.py, bulk_staff.py at
commit bd180a6), trimmed to what the comparison needs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import tuple_
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from registry.bulk import ImportReport, RowResult
from registry.bulk_file import (
    ImportFile,
    OrganisationRow,
    StaffRow,
    validate_organisation,
    validate_staff,
)
from registry.bulk_rows import Importer, Outcome, end_of, first_day, last_day, start_of
from registry.errors import InvariantViolation, RegistryError
from registry.models import (
    Declaration,
    Employment,
    Organisation,
    OrganisationStatusChange,
    Professional,
    utcnow,
)
from registry.service import issue_dezi_nummer
from registry.staff import (
    Names,
    add_staff_number,
    change_validity,
    record_change,
    rename_professional,
)


@dataclass
class Applied:
    outcome: Outcome
    dezi_nummer: str | None = None
    notes: list[str] = field(default_factory=list)


class OrganisationApplier:
    def __init__(self, session: Session, importer: Importer) -> None:
        self._session = session
        self._importer = importer

    def apply(self, row: OrganisationRow) -> Applied:
        session, context = self._session, self._importer.context
        found = session.exec(select(Organisation).where(Organisation.ura == row.ura)).first()
        if found is None:
            status = "active" if self._importer.registry_admin else "pending"
            created = Organisation(
                ura=row.ura,
                naam=row.naam,
                categorie=row.categorie,
                agb_code=row.agb_code,
                status=status,
            )
            session.add(created)
            session.flush()
            session.add(
                OrganisationStatusChange(
                    organisation_id=created.id, to_status=status, actor=context.actor
                )
            )
            record_change(
                session,
                context,
                action="organisation.enrol",
                object_type="organisation",
                object_id=row.ura,
                detail={"categorie": row.categorie, "status": status},
            )
            return Applied("created")
        if not self._importer.may_change(row.ura):
            raise InvariantViolation("ura: not an organisation you administer")
        changed = [
            name
            for name in ("naam", "agb_code", "categorie")
            if getattr(found, name) != getattr(row, name)
        ]
        if not changed:
            return Applied("unchanged")
        if found.status == "ended":
            raise InvariantViolation(f"ura: organisation {row.ura} has ended")
        found.naam, found.agb_code, found.categorie = row.naam, row.agb_code, row.categorie
        found.updated_at = utcnow()
        session.add(found)
        session.flush()
        record_change(
            session,
            context,
            action="organisation.update",
            object_type="organisation",
            object_id=row.ura,
            detail={"changed": changed},
        )
        return Applied("updated")


_CHUNK = 400  # keys per IN (...) list, well inside SQLite's and PostgreSQL's parameter limits
_T = TypeVar("_T")


def _chunks(items: Sequence[_T]) -> list[Sequence[_T]]:
    return [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]


class StaffApplier:
    def __init__(self, session: Session, importer: Importer) -> None:
        self._session = session
        self._importer = importer
        self._organisations: dict[str, Organisation] = {}
        self._staff: dict[tuple[str, str], Professional] = {}
        self._big: dict[str, Professional] = {}
        self._declarations: dict[tuple[str, str, str], list[Declaration]] = {}
        self._fetched: set[str] = set()  # professionals whose declarations are all in the map
        self._undo: list[Callable[[], object]] = []

    # -- the batch's reads ------------------------------------------------------------------

    def prefetch(self, rows: Sequence[StaffRow]) -> None:
        """Load what ``rows`` will look up; forget what an earlier batch loaded."""
        session = self._session
        self._organisations.clear()
        self._staff.clear()
        self._big.clear()
        self._declarations.clear()
        self._fetched.clear()
        self._undo.clear()
        for uras in _chunks(sorted({row.ura for row in rows})):
            organisations = select(Organisation).where(col(Organisation.ura).in_(uras))
            self._organisations.update((o.ura, o) for o in session.exec(organisations))
        pairs = sorted(
            {
                (self._organisations[row.ura].id, row.personeelsnummer)
                for row in rows
                if row.ura in self._organisations
            }
        )
        for pair_chunk in _chunks(pairs):
            linked = session.exec(
                select(Employment.organisation_id, Employment.personeelsnummer, Professional)
                .join(Professional, col(Professional.id) == col(Employment.professional_id))
                .where(
                    tuple_(col(Employment.organisation_id), col(Employment.personeelsnummer)).in_(
                        list(pair_chunk)
                    )
                )
            )
            self._staff.update(((o, n), p) for o, n, p in linked)
        bigs = sorted({row.big_nummer for row in rows if row.big_nummer is not None})
        for big_chunk in _chunks(bigs):
            holders = select(Professional).where(col(Professional.big_nummer).in_(big_chunk))
            self._big.update((p.big_nummer, p) for p in session.exec(holders) if p.big_nummer)
        people = sorted({p.id for p in self._staff.values()} | {p.id for p in self._big.values()})
        organisation_ids = [o.id for o in self._organisations.values()]
        self._fetched.update(people)
        for people_chunk in _chunks(people):
            declarations = (
                select(Declaration)
                .where(
                    col(Declaration.professional_id).in_(people_chunk),
                    col(Declaration.organisation_id).in_(organisation_ids),
                )
                .order_by(col(Declaration.created_at).desc())
            )
            for declaration in session.exec(declarations):
                key = (declaration.professional_id, declaration.organisation_id)
                self._declarations.setdefault((*key, declaration.rol_code), []).append(declaration)

    def begin_row(self) -> None:
        self._undo.clear()

    def rollback_row(self) -> None:
        """The row's savepoint was rolled back: drop what it added to the maps."""
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()

    # -- one row ----------------------------------------------------------------------------

    def apply(self, row: StaffRow) -> Applied:
        if not self._importer.may_change(row.ura):
            raise InvariantViolation("ura: not an organisation you administer")
        organisation = self._organisations.get(row.ura)
        if organisation is None:
            raise InvariantViolation(f"ura: organisation {row.ura} is not enrolled")
        if organisation.status == "ended":
            raise InvariantViolation(f"ura: organisation {row.ura} has ended")
        session, context = self._session, self._importer.context
        notes: list[str] = []
        changed = False
        professional = self._staff.get((organisation.id, row.personeelsnummer))
        if (
            row.role.big_registered
            and row.big_nummer is None
            and (professional is None or professional.big_nummer is None)
        ):  # refused before anything is written; checked again below for the matched person
            raise InvariantViolation(f"big_nummer: role {row.role.code} requires a BIG number")
        if professional is not None and row.big_nummer is not None:
            changed |= self._add_big(professional, row.big_nummer)
        if professional is None:
            holder = None if row.big_nummer is None else self._big.get(row.big_nummer)
            if holder is None:
                professional = self._enrol(row, organisation)
            else:
                professional = holder
                add_staff_number(session, organisation, holder, row.personeelsnummer, context)
                self._remember_staff(organisation, row.personeelsnummer, holder)
            changed = True
        if Names.of(professional) != row.names:
            if self._works_elsewhere(professional, organisation):
                notes.append("name kept: the professional also works for another organisation")
            else:
                changed |= bool(rename_professional(session, professional, row.names, context))
        if row.role.big_registered and professional.big_nummer is None:
            raise InvariantViolation(f"big_nummer: role {row.role.code} requires a BIG number")
        outcome = self._declare(row, professional, organisation)
        if outcome == "unchanged" and changed:
            outcome = "updated"
        return Applied(outcome, professional.dezi_nummer, notes)

    def _remember_staff(
        self, organisation: Organisation, staff_number: str, professional: Professional
    ) -> None:
        key = (organisation.id, staff_number)
        self._staff[key] = professional
        self._undo.append(lambda: self._staff.pop(key, None))

    def _add_big(self, professional: Professional, big: str) -> bool:
        if professional.big_nummer == big:
            return False
        if professional.big_nummer is not None:
            raise InvariantViolation(
                "big_nummer: differs from the BIG number registered for this personeelsnummer"
            )
        if big in self._big:
            raise InvariantViolation("big_nummer: belongs to another professional")
        professional.big_nummer, professional.updated_at = big, utcnow()
        self._session.add(professional)
        record_change(
            self._session,
            self._importer.context,
            action="professional.update",
            object_type="professional",
            object_id=professional.dezi_nummer,
            detail={"changed": ["big_nummer"]},
        )
        self._big[big] = professional
        self._undo.append(lambda: self._big.pop(big, None))
        return True

    def _enrol(self, row: StaffRow, organisation: Organisation) -> Professional:
        session, context = self._session, self._importer.context
        professional = Professional(
            dezi_nummer=issue_dezi_nummer(session),
            big_nummer=row.big_nummer,
            voorletters=row.names.voorletters,
            voorvoegsel=row.names.voorvoegsel,
            achternaam=row.names.achternaam,
        )
        session.add(professional)
        session.flush()  # the unit of work does not order inserts without relationships
        session.add(
            Employment(
                organisation_id=organisation.id,
                personeelsnummer=row.personeelsnummer,
                professional_id=professional.id,
                created_by=context.actor,
            )
        )
        record_change(
            session,
            context,
            action="professional.enrol",
            object_type="professional",
            object_id=professional.dezi_nummer,
            detail={
                "issued": True,
                "big_registered": row.big_nummer is not None,
                "ura": organisation.ura,
                "personeelsnummer": row.personeelsnummer,
            },
        )
        self._remember_staff(organisation, row.personeelsnummer, professional)
        new_id = professional.id
        self._fetched.add(new_id)
        self._undo.append(lambda: self._fetched.discard(new_id))
        if row.big_nummer is not None:
            big = row.big_nummer
            self._big[big] = professional
            self._undo.append(lambda: self._big.pop(big, None))
        return professional

    def _works_elsewhere(self, professional: Professional, organisation: Organisation) -> bool:
        other = self._session.exec(
            select(Employment.id).where(
                Employment.professional_id == professional.id,
                Employment.organisation_id != organisation.id,
            )
        ).first()
        return other is not None

    # -- the declaration --------------------------------------------------------------------

    def _existing(self, key: tuple[str, str, str]) -> list[Declaration]:
        found = self._declarations.get(key)
        if found is None and key[0] in self._fetched:
            found = self._declarations[key] = []
        if found is None:
            found = list(
                self._session.exec(
                    select(Declaration)
                    .where(
                        Declaration.professional_id == key[0],
                        Declaration.organisation_id == key[1],
                        Declaration.rol_code == key[2],
                    )
                    .order_by(col(Declaration.created_at).desc())
                )
            )
            self._declarations[key] = found
        return found

    def _declare(
        self, row: StaffRow, professional: Professional, organisation: Organisation
    ) -> Outcome:
        key = (professional.id, organisation.id, row.role.code)
        existing = self._existing(key)
        if any(
            d.status == "revoked" and first_day(d.valid_from) >= row.geldig_vanaf for d in existing
        ):
            raise InvariantViolation(
                "rol_code: this declaration was revoked; an import does not reinstate it"
                " (a new period needs a later geldig_vanaf)"
            )
        current = next((d for d in existing if d.status in ("active", "suspended")), None)
        if current is None:
            if any(self._same_period(d, row) for d in existing):
                return "unchanged"  # expired with exactly this period: nothing to do
            created = self._add_declaration(row, professional, organisation)
            existing.insert(0, created)
            self._undo.append(lambda: existing.remove(created))
            return "created"
        if self._same_period(current, row):
            return "unchanged"
        change_validity(
            self._session,
            current,
            start_of(row.geldig_vanaf),
            end_of(row.geldig_tot),
            self._importer.context,
        )
        return "updated"

    @staticmethod
    def _same_period(declaration: Declaration, row: StaffRow) -> bool:
        return (first_day(declaration.valid_from), last_day(declaration.valid_until)) == (
            row.geldig_vanaf,
            row.geldig_tot,
        )

    def _add_declaration(
        self, row: StaffRow, professional: Professional, organisation: Organisation
    ) -> Declaration:
        session, context = self._session, self._importer.context
        declaration = Declaration(
            professional_id=professional.id,
            organisation_id=organisation.id,
            rol_code=row.role.code,
            valid_from=start_of(row.geldig_vanaf),
            valid_until=end_of(row.geldig_tot),
            status="active",
            issued_by=context.actor,
            personeelsnummer=row.personeelsnummer,
        )
        session.add(declaration)
        record_change(
            session,
            context,
            action="declaration.add",
            object_type="declaration",
            object_id=declaration.id,
            detail={
                "dezi_nummer": professional.dezi_nummer,
                "ura": organisation.ura,
                "rol_code": row.role.code,
            },
        )
        return declaration


Validated = tuple[int, OrganisationRow | StaffRow | list[str]]


def _check_organisations(file: ImportFile) -> list[Validated]:
    seen: dict[str, int] = {}
    checked: list[Validated] = []
    for raw in file.rows:
        row = validate_organisation(raw)
        if isinstance(row, OrganisationRow):
            first = seen.setdefault(row.ura, row.line)
            if first != row.line:
                row = [f"ura: duplicate of line {first}"]
        checked.append((raw.line, row))
    return checked


def _check_staff(file: ImportFile) -> list[Validated]:
    """Field checks, then consistency inside the file: one row per (URA, personeelsnummer,
    role), and one name and BIG number per (URA, personeelsnummer); without that, two rows
    would undo each other on every run and the import would never settle."""
    declarations: dict[tuple[str, str, str], int] = {}
    people: dict[tuple[str, str], StaffRow] = {}
    checked: list[Validated] = []
    for raw in file.rows:
        row = validate_staff(raw)
        if isinstance(row, StaffRow):
            person = (row.ura, row.personeelsnummer)
            key = (*person, row.role.code)
            earlier = people.get(person, row)
            if key in declarations:
                row = [
                    f"rol_code: duplicate of line {declarations[key]}"
                    " (same ura, personeelsnummer, role)"
                ]
            elif earlier.names != row.names:
                row = [f"personeelsnummer: line {earlier.line} gives this person another name"]
            elif None not in (earlier.big_nummer, row.big_nummer) and (
                earlier.big_nummer != row.big_nummer
            ):
                row = [f"big_nummer: line {earlier.line} gives this person another BIG number"]
            else:
                declarations[key] = row.line
                people.setdefault(person, row)
        checked.append((raw.line, row))
    return checked


def _apply(
    session: Session, applier: OrganisationApplier | StaffApplier, item: Validated
) -> RowResult:
    line, row = item
    if isinstance(row, list):
        return RowResult(line, "rejected", tuple(row))
    if isinstance(applier, StaffApplier):
        applier.begin_row()
    try:
        with session.begin_nested():
            if isinstance(applier, OrganisationApplier) and isinstance(row, OrganisationRow):
                applied = applier.apply(row)
            elif isinstance(applier, StaffApplier) and isinstance(row, StaffRow):
                applied = applier.apply(row)
            else:
                raise TypeError(f"no applier for {type(row).__name__}")
    except RegistryError as exc:
        reason = exc.description
    except IntegrityError:
        # A concurrent writer took the same natural key between our read and our write.
        reason = "conflicts with a concurrent change; run it again"
    else:
        return RowResult(line, applied.outcome, (), tuple(applied.notes), applied.dezi_nummer)
    if isinstance(applier, StaffApplier):
        applier.rollback_row()
    return RowResult(line, "rejected", (reason,))


def run_per_row_import(
    engine: Engine,
    file: ImportFile,
    importer: Importer,
    *,
    dry_run: bool = False,
    batch_size: int = 500,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Apply ``file``'s rows; see the module docstring. ``progress(n)`` is called as rows are
    done. Database failures propagate (the open batch rolls back; the committed ones stay)."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    checked = _check_organisations(file) if file.kind == "organisations" else _check_staff(file)
    results: list[RowResult] = []
    session = Session(engine, expire_on_commit=False, autoflush=True)
    try:
        for start in range(0, len(checked), batch_size):
            applier: OrganisationApplier | StaffApplier = (
                OrganisationApplier(session, importer)
                if file.kind == "organisations"
                else StaffApplier(session, importer)
            )
            batch = checked[start : start + batch_size]
            if isinstance(applier, StaffApplier):
                applier.prefetch([row for _, row in batch if isinstance(row, StaffRow)])
            for item in batch:
                results.append(_apply(session, applier, item))
                if progress is not None:
                    progress(1)
            if not dry_run:
                session.commit()
                session.expunge_all()
        session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    return ImportReport(file.kind, file.delimiter, dry_run, tuple(results))
