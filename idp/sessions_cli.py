"""``zorg-idp sessions``: list and end a person's OP sessions (ASVS 7.4.5: administrators can
terminate sessions). Works against the configured state store: in production the shared Redis,
so it reaches sessions on every worker and host."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from idp.settings import Settings

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="TOML settings file.")]
DeziOpt = Annotated[str, typer.Option("--dezi-nummer", help="The person's Dezi number.")]


def build_sessions_app(settings_for: Callable[[Path | None], Settings]) -> typer.Typer:
    app = typer.Typer(no_args_is_help=True, help="OP sessions (one per browser and shift).")

    @app.command("list")
    def list_sessions(dezi_nummer: DeziOpt, config: ConfigOpt = None) -> None:
        """Show the live sessions of one person."""
        from idp.app import build_core

        core = build_core(settings_for(config))
        try:
            sessions = core.journey.state.sessions_of(dezi_nummer)
            if not sessions:
                typer.echo("no live sessions")
            for session in sessions:
                started = datetime.fromtimestamp(session.created_at, UTC).isoformat()
                idle = int(time.time()) - session.last_seen
                typer.echo(
                    f"{session.sid[:12]}…  since {started}  idle {idle}s  "
                    f"{session.login_method}  clients: {', '.join(session.clients) or '-'}"
                )
        finally:
            core.close()

    @app.command("end")
    def end_sessions(dezi_nummer: DeziOpt, config: ConfigOpt = None) -> None:
        """End every session of one person; relying parties are told by back-channel logout."""
        from idp.app import build_core
        from idp.journey.sessions import end_session
        from idp.web.backchannel import BackchannelSender

        core = build_core(settings_for(config))
        sender = BackchannelSender()

        async def run() -> int:
            sessions = core.journey.state.sessions_of(dezi_nummer)
            for session in sessions:
                sender.dispatch(end_session(core.journey, session))
            await sender.drain()
            return len(sessions)

        try:
            ended = asyncio.run(run())
        finally:
            core.close()
        typer.echo(f"ended {ended} session(s)")

    return app
