"""A smoke run of the API on the real PostgreSQL: the row lock behind ``If-Match``, NUL in a
filter (psycopg refuses it in text: must be a 400, never a 500), literal LIKE, idempotent
enrolment and an intact audit chain."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from idp.app import create_app
from registry import db, service, verify_audit
from tests.conftest import ISSUER, make_settings, seed_deployment
from tests.support import RelyingParty
from tests.unit.registry.conftest import pg_database_url  # noqa: F401 - the fixture
from tests.web.api.conftest import HOME_URA, JWT_BEARER, bearer

pytestmark = pytest.mark.postgres


def test_api_on_postgresql(pg_database_url: str, tmp_path: Path) -> None:  # noqa: F811
    schema = f"api_{secrets.token_hex(6)}"
    base = db.create_engine(pg_database_url)
    with base.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    base.dispose()
    url = make_url(pg_database_url).update_query_dict({"options": f"-csearch_path={schema}"})
    settings = make_settings(tmp_path, database_url=url.render_as_string(hide_password=False))
    seed_deployment(settings)
    engine = db.create_engine(settings.database_url)
    hr = RelyingParty.confidential("hr-postgres", ISSUER)
    service.register_client(
        engine,
        client_id=hr.client_id,
        redirect_uris=(),
        auth_method="private_key_jwt",
        jwks=hr.jwks(),
        organisations=(HOME_URA,),
        grant_types=("client_credentials",),
        scopes=("registry",),
        actor="test",
    )
    app = create_app(settings)
    with TestClient(app, base_url=ISSUER) as http:
        token = http.post(
            "/token",
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": JWT_BEARER,
                "client_assertion": hr.assertion(),
            },
        ).json()["access_token"]
        auth = bearer(token)
        idem = bearer(token, **{"Idempotency-Key": "pg-enrol"})
        person = {"voorletters": "P.", "voorvoegsel": "van 't", "achternaam": "Postgres_100%"}
        first = http.post("/api/v1/professionals", json=person, headers=idem)
        again = http.post("/api/v1/professionals", json=person, headers=idem)
        assert first.status_code == again.status_code == 201, first.text
        assert first.json() == again.json()
        number = first.json()["dezi_nummer"]
        declared = http.post(
            "/api/v1/declarations",
            json={
                "dezi_nummer": number,
                "ura": HOME_URA,
                "rol_code": "86.000",
                "valid_from": "2026-01-01T00:00:00Z",
            },
            headers=auth,
        )
        assert declared.status_code == 201, declared.text
        found = http.get("/api/v1/professionals", params={"achternaam": "_100%"}, headers=auth)
        assert [p["dezi_nummer"] for p in found.json()["items"]] == [number]
        assert http.get("/api/v1/professionals?achternaam=a%00", headers=auth).status_code == 400
        url_revoke = f"/api/v1/declarations/{declared.json()['id']}/revoke"
        stale = http.post(
            url_revoke, json={"reason": "test"}, headers={**auth, "If-Match": '"stale"'}
        )
        assert stale.status_code == 412
        revoked = http.post(
            url_revoke,
            json={"reason": "test"},
            headers={**auth, "If-Match": declared.headers["etag"]},
        )
        assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    with db.read_session(engine) as session:
        assert verify_audit(session) is None
    engine.dispose()
