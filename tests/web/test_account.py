"""The care worker's own page, and ending sessions by the worker or an administrator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
import redis
from starlette.testclient import TestClient
from typer.testing import CliRunner

from idp.app import create_app
from idp.cli import app as cli_app
from tests.conftest import Deployment, make_settings, seed_deployment
from tests.support import CARER, RelyingParty, login_through_forms, parse_forms, pkce_pair, query_of

REDIS_DB = 12


def sign_in(client: TestClient, rp: RelyingParty) -> str:
    verifier, challenge = pkce_pair()
    final = login_through_forms(
        client, f"/authorize?{urlencode(rp.authorize_params(code_challenge=challenge))}", CARER
    )
    code = query_of(final.headers["location"])["code"]
    token: str = client.post("/token", data=rp.token_form(code, verifier)).json()["access_token"]
    return token


def works(client: TestClient, token: str) -> bool:
    return client.get("/userinfo", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_account_needs_a_session(deployment: Deployment) -> None:
    with deployment.client() as fresh:
        page = fresh.get("/account")
        assert page.status_code == 401 and "not logged in" in page.text


def test_account_shows_the_worker_and_logs_out_everywhere(deployment: Deployment) -> None:
    rp = deployment.restricted_rp
    with deployment.client() as tablet, deployment.client() as phone:
        token_tablet, token_phone = sign_in(tablet, rp), sign_in(phone, rp)
        page = tablet.get("/account")
        assert page.status_code == 200
        assert "Berg" in page.text and "van der" in page.text and CARER in page.text
        assert "90000107" in page.text  # one of her 15 declarations
        assert "Restricted EPD" in page.text and "other device" in page.text
        form = parse_forms(page.text)[0]
        assert (
            tablet.post(
                "/account", data={**form.fields, "action": "logout_everywhere", "csrf_token": "x"}
            ).status_code
            == 403
        )
        assert works(tablet, token_tablet) and works(phone, token_phone)
        done = tablet.post("/account", data={**form.fields, "action": "logout_everywhere"})
        assert done.status_code == 200 and "logged out" in done.text
        assert not works(tablet, token_tablet) and not works(phone, token_phone)


@pytest.fixture
def redis_deployment(tmp_path: Path) -> Iterator[Deployment]:
    client = redis.Redis.from_url(f"redis://127.0.0.1:6379/{REDIS_DB}")
    client.flushdb()
    settings = make_settings(tmp_path, state_url=f"redis://127.0.0.1:6379/{REDIS_DB}")
    rp, public, restricted = seed_deployment(settings)
    yield Deployment(settings, create_app(settings), rp, public, restricted)
    client.flushdb()
    client.close()


@pytest.mark.redis
def test_administrator_ends_a_workers_sessions_from_the_cli(
    redis_deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = redis_deployment.settings
    for name, value in {
        "IDP_STATE_URL": settings.state_url,
        "IDP_DATABASE_URL": settings.database_url,
        "IDP_DATA_DIR": str(settings.data_dir),
        "IDP_ENVIRONMENT": "test",
        "IDP_RSA_KEY_SIZE": "2048",
    }.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    with redis_deployment.client() as browser:
        token = sign_in(browser, redis_deployment.restricted_rp)
        listed = runner.invoke(cli_app, ["sessions", "list", "--dezi-nummer", CARER])
        assert listed.exit_code == 0 and "epd-restricted" in listed.output
        ended = runner.invoke(cli_app, ["sessions", "end", "--dezi-nummer", CARER])
        assert ended.exit_code == 0, ended.output
        assert "ended 1 session" in ended.output
        assert not works(browser, token)
        assert (
            runner.invoke(cli_app, ["sessions", "list", "--dezi-nummer", CARER]).output.strip()
            == "no live sessions"
        )
