"""``zorg-idp demo``: the product on embedded defaults, seeded, with the demo EPD mounted."""

from __future__ import annotations

import json

from jinja2 import Environment, FileSystemLoader, select_autoescape
from joserfc.jwk import RSAKey
from starlette.applications import Starlette

from idp.app import WEB_DIR, create_app
from idp.cli_database import init_database
from idp.clients import ClientRegistration, register_client
from idp.demo_epd import CLIENT_ID, DemoEpd
from idp.keys import ensure_private_dir, write_private_file
from idp.settings import Settings

DEMO_ORGANISATIONS: tuple[str, ...] = ("90000001", *(f"900001{n:02d}" for n in range(1, 16)))


def demo_epd_key(settings: Settings) -> RSAKey:
    """The demo EPD's own private key, created once in the data directory (mode 0600)."""
    path = ensure_private_dir(settings.data_dir) / "demo-epd-key.json"
    if path.exists():
        return RSAKey.import_key(json.loads(path.read_text(encoding="utf-8")))
    key = RSAKey.generate_key(2048, private=True)
    key.ensure_kid()
    write_private_file(path, json.dumps(key.as_dict(private=True)))
    return key


def seed(settings: Settings) -> RSAKey:
    from registry.db import create_engine
    from registry.seed import seed_demo

    # The demo may create its database (INTERFACES.md: a SQLite file under ./var/).
    init_database(settings)
    engine = create_engine(settings.database_url)
    try:
        seed_demo(engine)
    finally:
        engine.dispose()
    key = demo_epd_key(settings)
    public = key.as_dict(private=False)
    public["use"] = "sig"
    register_client(
        settings,
        ClientRegistration(
            client_id=CLIENT_ID,
            name="Demo EPD",
            redirect_uris=(f"{settings.issuer}/demo-epd/callback",),
            auth_method="private_key_jwt",
            jwks={"keys": [public]},
            organisations=DEMO_ORGANISATIONS,
            post_logout_redirect_uris=(f"{settings.issuer}/demo-epd/",),
            backchannel_logout_uri=f"{settings.issuer}/demo-epd/backchannel",
        ),
    )
    return key


def build_demo_app(settings: Settings) -> Starlette:
    key = seed(settings)
    templates = Environment(
        loader=FileSystemLoader(WEB_DIR / "templates"), autoescape=select_autoescape(default=True)
    )
    epd = DemoEpd(issuer=settings.issuer, key=key, templates=templates)
    return create_app(settings, extra_routes=[epd.mount()])
