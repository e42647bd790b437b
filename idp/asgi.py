"""ASGI entry point for ``zorg-idp serve`` workers: settings from IDP_CONFIG and IDP_* only."""

from __future__ import annotations

from starlette.applications import Starlette

from idp.app import create_app
from idp.settings import load_settings


def create_from_environment() -> Starlette:
    return create_app(load_settings())
