"""A migrated SQLite register for CLI tests: the CLI no longer creates one (idp.cli_database)."""

from __future__ import annotations

from pathlib import Path

from registry import create_engine, upgrade


def migrated_sqlite(path: Path) -> str:
    """``sqlite:///path``, created and migrated to the latest revision."""
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return url
