"""The register's records satisfy the IdP's views (import rules: tests/test_layering.py)."""

from __future__ import annotations

import ast
import dataclasses
import typing
from pathlib import Path

import pytest

import registry
from idp.protocol import ports
from registry import records
from registry.repository import SqlRegister

REGISTRY_DIR = Path(registry.__file__).resolve().parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _protocol_properties(protocol: type) -> dict[str, object]:
    hints: dict[str, object] = {}
    for name, member in vars(protocol).items():
        if isinstance(member, property) and member.fget is not None:
            hints[name] = typing.get_type_hints(member.fget)["return"]
    return hints


@pytest.mark.parametrize(
    ("record", "view"),
    [
        (records.ClientRecord, "ClientView"),
        (records.ProfessionalRecord, "ProfessionalView"),
        (records.DeclarationRecord, "DeclarationView"),
    ],
)
def test_records_match_the_idp_views_exactly(record: type, view: str) -> None:
    expected = _protocol_properties(getattr(ports, view))
    actual = typing.get_type_hints(record)
    assert dataclasses.is_dataclass(record)
    assert record.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert actual == expected


@pytest.mark.parametrize(
    ("protocol", "methods"),
    [
        ("ClientStore", {"get_client"}),
        (
            "Register",
            {
                "find_professional",
                "usable_declarations",
                "usable_declaration",
                "login_profile",
                "is_registry_admin",
                "admin_organisations",
                "ping",
            },
        ),
    ],
)
def test_sql_register_has_the_port_methods(protocol: str, methods: set[str]) -> None:
    declared = {n for n in vars(getattr(ports, protocol)) if not n.startswith("_")}
    assert declared == methods
    for name in methods:
        assert callable(getattr(SqlRegister, name))


def test_public_surface_is_importable() -> None:
    for name in registry.__all__:
        assert getattr(registry, name) is not None
