"""``zorg-idp registry organisation|professional|declaration|admin …`` (see ``registry.cli``).

Thin: each command checks its arguments, calls one service function (one transaction with its
audit record, security-checklist.md §3.2) and prints one line per result. Listings show names
as stored; the register refuses control characters in names, so nothing printed here can drive
the terminal (K7).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from registry import queries, service
from registry.bulk_file import parse_day
from registry.bulk_rows import end_of, first_day, last_day, start_of
from registry.cli import ConfigOpt, EngineScope, cli_context, failures
from registry.staff import link_staff_number, suspend_declaration

__all__ = ["add_record_commands"]

LimitOpt = Annotated[int, typer.Option("--limit", min=1, max=queries.MAX_LIMIT)]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (kept with the change).")]


def _day(value: datetime | None) -> str:
    return "-" if value is None else first_day(value).isoformat()


def _until(value: datetime | None) -> str:
    day = last_day(value)
    return "-" if day is None else day.isoformat()


def add_record_commands(app: typer.Typer, engine_for: EngineScope) -> None:
    organisation = typer.Typer(no_args_is_help=True, help="Care organisations (URA).")
    professional = typer.Typer(no_args_is_help=True, help="Care workers (Dezi number).")
    declaration = typer.Typer(no_args_is_help=True, help="Declarations (verklaringen).")
    admin = typer.Typer(no_args_is_help=True, help="Administrator rights.")
    app.add_typer(organisation, name="organisation")
    app.add_typer(professional, name="professional")
    app.add_typer(declaration, name="declaration")
    app.add_typer(admin, name="admin")

    # -- organisations ----------------------------------------------------------------------

    @organisation.command("add")
    def organisation_add(
        ura: Annotated[str, typer.Option("--ura")],
        naam: Annotated[str, typer.Option("--naam")],
        categorie: Annotated[str, typer.Option("--categorie")],
        agb_code: Annotated[str | None, typer.Option("--agb-code")] = None,
        pending: Annotated[bool, typer.Option("--pending", help="Enrol, not yet active.")] = False,
        config: ConfigOpt = None,
    ) -> None:
        """Enrol an organisation (active, unless --pending); the same data again is a no-op."""
        context = cli_context()
        with engine_for(config) as engine:
            record = service.enrol_organisation(
                engine,
                ura,
                naam,
                categorie,
                agb_code,
                actor=context.actor,
                source=context.source,
                status="pending" if pending else "active",
            )
        typer.echo(f"organisation {record.ura}: {record.status}")

    @organisation.command("list")
    def organisation_list(
        status: Annotated[str | None, typer.Option("--status")] = None,
        search: Annotated[str | None, typer.Option("--search", help="Part of the name.")] = None,
        limit: LimitOpt = 100,
        config: ConfigOpt = None,
    ) -> None:
        """Organisations by URA: URA, status, category, AGB code, name."""
        with engine_for(config) as engine:
            found = queries.list_organisations(
                engine, context=cli_context(), status=status, search=search, limit=limit
            )
        for row in found:
            typer.echo(
                f"{row.ura}\t{row.status}\t{row.categorie}\t{row.agb_code or '-'}\t{row.naam}"
            )

    def _status_command(name: str, status: str, summary: str) -> None:
        @organisation.command(name, help=summary)
        def change(
            ura: Annotated[str, typer.Argument(help="URA of the organisation.")],
            reason: Annotated[str | None, typer.Option("--reason")] = None,
            config: ConfigOpt = None,
        ) -> None:
            context = cli_context()
            with engine_for(config) as engine:
                record = service.set_organisation_status(
                    engine, ura, status, actor=context.actor, reason=reason, source=context.source
                )
            typer.echo(f"organisation {record.ura}: {record.status}")

    _status_command("activate", "active", "Approve a pending organisation, or lift a suspension.")
    _status_command("suspend", "suspended", "Suspend: its declarations are unusable at once.")
    _status_command("end", "ended", "End an organisation (final; kept as history).")

    # -- professionals ----------------------------------------------------------------------

    @professional.command("add")
    def professional_add(
        voorletters: Annotated[str, typer.Option("--voorletters")],
        achternaam: Annotated[str, typer.Option("--achternaam")],
        voorvoegsel: Annotated[str | None, typer.Option("--voorvoegsel")] = None,
        big_nummer: Annotated[str | None, typer.Option("--big-nummer")] = None,
        dezi_nummer: Annotated[
            str | None, typer.Option("--dezi-nummer", help="Default: issue a new one.")
        ] = None,
        ura: Annotated[str | None, typer.Option("--ura", help="With --personeelsnummer.")] = None,
        personeelsnummer: Annotated[str | None, typer.Option("--personeelsnummer")] = None,
        config: ConfigOpt = None,
    ) -> None:
        """Enrol a professional; prints the Dezi number. With --ura and --personeelsnummer,
        also records that organisation's staff number for them."""
        if (ura is None) != (personeelsnummer is None):
            raise typer.BadParameter("give --ura and --personeelsnummer together")
        context = cli_context()
        with engine_for(config) as engine:
            record = service.enrol_professional(
                engine,
                voorletters,
                voorvoegsel,
                achternaam,
                big_nummer,
                dezi_nummer,
                actor=context.actor,
                source=context.source,
            )
            if ura is not None and personeelsnummer is not None:
                link_staff_number(
                    engine, record.dezi_nummer, ura, personeelsnummer, context=context
                )
        typer.echo(f"professional {record.dezi_nummer}")

    @professional.command("list")
    def professional_list(
        ura: Annotated[
            str | None, typer.Option("--ura", help="Staff of this organisation.")
        ] = None,
        search: Annotated[str | None, typer.Option("--search", help="Part of the surname.")] = None,
        big_nummer: Annotated[str | None, typer.Option("--big-nummer")] = None,
        dezi_nummer: Annotated[str | None, typer.Option("--dezi-nummer")] = None,
        limit: LimitOpt = 100,
        config: ConfigOpt = None,
    ) -> None:
        """Professionals: Dezi number, BIG number, name, staff numbers (URA/number)."""
        with engine_for(config) as engine:
            found = queries.list_professionals(
                engine,
                context=cli_context(),
                ura=ura,
                search=search,
                big_nummer=big_nummer,
                dezi_nummer=dezi_nummer,
                limit=limit,
            )
        for row in found:
            name = " ".join(p for p in (row.voorletters, row.voorvoegsel, row.achternaam) if p)
            numbers = ",".join(row.staff_numbers) or "-"
            typer.echo(f"{row.dezi_nummer}\t{row.big_nummer or '-'}\t{name}\t{numbers}")

    # -- declarations -----------------------------------------------------------------------

    @declaration.command("add")
    def declaration_add(
        dezi_nummer: Annotated[str, typer.Option("--dezi-nummer")],
        ura: Annotated[str, typer.Option("--ura")],
        rol_code: Annotated[str, typer.Option("--rol-code")],
        geldig_vanaf: Annotated[str, typer.Option("--geldig-vanaf", help="First day, YYYY-MM-DD.")],
        geldig_tot: Annotated[
            str | None, typer.Option("--geldig-tot", help="Last day (inclusive), YYYY-MM-DD.")
        ] = None,
        personeelsnummer: Annotated[str | None, typer.Option("--personeelsnummer")] = None,
        config: ConfigOpt = None,
    ) -> None:
        """Declare that a professional works for an organisation in a role; prints its id."""
        context = cli_context()
        with failures():
            start = parse_day("geldig_vanaf", geldig_vanaf)
            end = None if geldig_tot is None else parse_day("geldig_tot", geldig_tot)
        with engine_for(config) as engine:
            if personeelsnummer is not None:
                link_staff_number(engine, dezi_nummer, ura, personeelsnummer, context=context)
            record = service.add_declaration(
                engine,
                dezi_nummer,
                ura,
                rol_code,
                start_of(start),
                end_of(end),
                actor=context.actor,
                personeelsnummer=personeelsnummer,
                source=context.source,
            )
        typer.echo(f"declaration {record.declaration_id}")

    @declaration.command("list")
    def declaration_list(
        dezi_nummer: Annotated[str | None, typer.Option("--dezi-nummer")] = None,
        ura: Annotated[str | None, typer.Option("--ura")] = None,
        status: Annotated[str | None, typer.Option("--status")] = None,
        limit: LimitOpt = 100,
        config: ConfigOpt = None,
    ) -> None:
        """Declarations: id, status, URA, Dezi number, role, first day, last day, name."""
        with engine_for(config) as engine:
            found = queries.list_declarations(
                engine,
                context=cli_context(),
                dezi_nummer=dezi_nummer,
                ura=ura,
                status=status,
                limit=limit,
            )
        for row in found:
            typer.echo(
                f"{row.declaration_id}\t{row.status}\t{row.ura}\t{row.dezi_nummer}\t{row.rol_code}"
                f"\t{_day(row.valid_from)}\t{_until(row.valid_until)}\t{row.naam}"
            )

    @declaration.command("revoke")
    def declaration_revoke(
        declaration_id: Annotated[str, typer.Argument(help="Declaration id.")],
        reason: ReasonOpt,
        config: ConfigOpt = None,
    ) -> None:
        """Revoke a declaration (final; kept with who, when and why)."""
        context = cli_context()
        with engine_for(config) as engine:
            service.revoke_declaration(
                engine, declaration_id, reason, actor=context.actor, source=context.source
            )
        typer.echo(f"declaration {declaration_id}: revoked")

    @declaration.command("suspend")
    def declaration_suspend(
        declaration_id: Annotated[str, typer.Argument(help="Declaration id.")],
        reason: ReasonOpt,
        config: ConfigOpt = None,
    ) -> None:
        """Suspend an active declaration: unusable for login at once."""
        with engine_for(config) as engine:
            suspend_declaration(engine, declaration_id, reason, context=cli_context())
        typer.echo(f"declaration {declaration_id}: suspended")

    # -- administrators ---------------------------------------------------------------------

    def _admin_command(name: str, grant: bool) -> None:
        @admin.command(name, help="Grant administrator rights." if grant else "End them.")
        def change(
            dezi_nummer: Annotated[str, typer.Argument(help="Dezi number of the professional.")],
            role: Annotated[str, typer.Argument(help="registry_admin or org_admin")],
            ura: Annotated[str | None, typer.Option("--ura", help="For org_admin.")] = None,
            config: ConfigOpt = None,
        ) -> None:
            context = cli_context()
            call = service.grant_admin if grant else service.revoke_admin
            with engine_for(config) as engine:
                call(engine, dezi_nummer, role, ura, actor=context.actor, source=context.source)
            where = f" for {ura}" if ura else ""
            typer.echo(f"{dezi_nummer}: {role}{where} {'granted' if grant else 'revoked'}")

    _admin_command("grant", grant=True)
    _admin_command("revoke", grant=False)
