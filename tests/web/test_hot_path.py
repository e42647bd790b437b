"""The hot path answers from memory and the state store, and still honours every change.

ARCHITECTURE.md "The hot path", DECISIONS.md #11, issue 9 "Bad input": a silent login, a token
and a userinfo request read no database; a revoked declaration yields no new code, token or
userinfo answer once the revoke has returned, on every instance; a changed client is seen by
every instance within a second (here: at the next poll of the audit trail).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import redis
from sqlalchemy import event
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from idp.app import create_app
from idp.clients import ClientRegistration, register_client
from idp.web.services import Services
from registry import SqlRegister, create_engine, revoke_declaration
from registry.db import professional_by_dezi, transaction
from registry.staff import AuditContext, Names, rename_professional
from tests.conftest import ISSUER, make_settings, seed_deployment
from tests.support import (
    CARER,
    RelyingParty,
    login_through_forms,
    pkce_pair,
    query_of,
)

REDIS_DB = 10  # ours alone (the state tests use 13, throttling 11, the account tests 12)
SHIFT_URA = "90000111"


def shift_rp(settings: Any, name: str, ura: str = SHIFT_URA) -> RelyingParty:
    rp = RelyingParty.confidential(name, ISSUER)
    register_client(
        settings,
        ClientRegistration(
            client_id=rp.client_id,
            redirect_uris=(rp.redirect_uri,),
            jwks=rp.jwks(),
            organisations=(ura,),
        ),
    )
    return rp


def move(settings: Any, rp: RelyingParty) -> None:
    """Change the client's redirect URI in the register (as `client update` would)."""
    register_client(
        settings,
        ClientRegistration(
            client_id=rp.client_id,
            redirect_uris=("https://rp.example/moved",),
            jwks=rp.jwks(),
            organisations=(SHIFT_URA,),
        ),
    )


def code_for(client: TestClient, rp: RelyingParty) -> tuple[str, str]:
    verifier, challenge = pkce_pair()
    final = login_through_forms(
        client, "/authorize?" + urlencode(rp.authorize_params(code_challenge=challenge)), CARER
    )
    assert final.status_code == 303, final.text
    return query_of(final.headers["location"])["code"], verifier


def declaration_at(settings: Any, ura: str) -> str:
    engine = create_engine(settings.database_url)
    try:
        found = SqlRegister(engine).usable_declarations(CARER, (ura,), datetime.now(UTC))
        return found[0].declaration_id
    finally:
        engine.dispose()


def revoke(settings: Any, declaration_id: str) -> None:
    engine = create_engine(settings.database_url)
    try:
        revoke_declaration(engine, declaration_id, "left the organisation", actor="test")
    finally:
        engine.dispose()


def services(client: TestClient) -> Services:
    svc: Services = client.app.state.services  # type: ignore[attr-defined]
    return svc


class QueryCounter:
    """Counts the statements an engine sends, except the audit-trail poll (a background job)."""

    def __init__(self, engine: Engine) -> None:
        self.statements: list[str] = []
        self._engine = engine
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "audit_record" not in statement:
            self.statements.append(statement)

    def close(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._count)


@pytest.fixture
def settings(tmp_path: Path) -> Any:
    settings = make_settings(tmp_path)
    seed_deployment(settings)
    return settings


def test_silent_login_token_and_userinfo_read_no_database(settings: Any) -> None:
    first, second = shift_rp(settings, "shift-a"), shift_rp(settings, "shift-b", "90000112")
    with TestClient(create_app(settings), follow_redirects=False) as client:
        code, verifier = code_for(client, first)
        assert client.post("/token", data=first.token_form(code, verifier)).status_code == 200
        services(client).clients.get_client("shift-b")  # the instance has seen this EPD before
        counter = QueryCounter(services(client).core.engine)
        try:
            # The next EPD of her shift: no login page, no organisation choice, no database.
            verifier, challenge = pkce_pair()
            params = second.authorize_params(code_challenge=challenge)
            answer = client.get("/authorize?" + urlencode(params))
            assert answer.status_code == 303
            code = query_of(answer.headers["location"])["code"]
            tokens = client.post("/token", data=second.token_form(code, verifier)).json()
            info = client.get(
                "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
            ).json()
        finally:
            counter.close()
        assert info["abonnee_nummer"] == "90000112"
        assert counter.statements == []


def test_revoked_declaration_yields_no_token_after_the_revoke_returns(settings: Any) -> None:
    rp = shift_rp(settings, "shift-a")
    with TestClient(create_app(settings), follow_redirects=False) as client:
        code, verifier = code_for(client, rp)
        revoke(settings, declaration_at(settings, SHIFT_URA))  # another engine, same process
        answer = client.post("/token", data=rp.token_form(code, verifier))
        assert answer.status_code == 400
        assert answer.json()["error"] == "invalid_grant"


def test_revoked_declaration_stops_userinfo_and_silent_logins(settings: Any) -> None:
    rp = shift_rp(settings, "shift-a")
    with TestClient(create_app(settings), follow_redirects=False) as client:
        code, verifier = code_for(client, rp)
        token = client.post("/token", data=rp.token_form(code, verifier)).json()["access_token"]
        revoke(settings, declaration_at(settings, SHIFT_URA))
        info = client.get("/userinfo", headers={"Authorization": f"Bearer {token}"})
        assert info.status_code == 401
        # The OP session still carries the declaration; the mark makes it unusable.
        verifier, challenge = pkce_pair()
        params = rp.authorize_params(code_challenge=challenge, prompt="none")
        answer = client.get("/authorize?" + urlencode(params))
        assert answer.status_code == 303
        assert query_of(answer.headers["location"])["error"] == "access_denied"


def test_a_changed_declaration_is_read_again_not_refused(settings: Any) -> None:
    """A change that is not a revocation (here: her name corrected) marks the carried snapshot
    stale: the token is still issued, with the register's current data."""
    rp = shift_rp(settings, "shift-a")
    with TestClient(create_app(settings), follow_redirects=False) as client:
        code, verifier = code_for(client, rp)
        engine = create_engine(settings.database_url)
        try:
            with transaction(engine) as session:
                professional = professional_by_dezi(session, CARER)
                names = Names("J.", "van der", "Bergh")
                assert rename_professional(session, professional, names, AuditContext("test"))
        finally:
            engine.dispose()
        answer = client.post("/token", data=rp.token_form(code, verifier))
        assert answer.status_code == 200, answer.text
        token = answer.json()["access_token"]
        info = client.get("/userinfo", headers={"Authorization": f"Bearer {token}"}).json()
        assert info["achternaam"] == "Bergh"


def test_changes_made_elsewhere_arrive_through_the_audit_trail(settings: Any) -> None:
    """A process that shares no state store with us (the in-process store of the demo): the
    instance finds the change when it next reads the audit trail."""
    rp = shift_rp(settings, "shift-a")
    with TestClient(create_app(settings), follow_redirects=False) as client:
        feed = services(client).core.feed
        feed.close()  # from now on this instance hears of changes only by polling
        code, verifier = code_for(client, rp)
        revoke(settings, declaration_at(settings, SHIFT_URA))
        assert feed.poll_once() >= 1
        answer = client.post("/token", data=rp.token_form(code, verifier))
        assert answer.json()["error"] == "invalid_grant"


def test_a_changed_client_is_seen_after_the_next_poll(settings: Any) -> None:
    rp = shift_rp(settings, "shift-a")
    with TestClient(create_app(settings), follow_redirects=False) as client:
        svc = services(client)
        assert svc.clients.get_client("shift-a") is svc.clients.get_client("shift-a")  # cached
        svc.core.feed.close()
        move(settings, rp)
        cached = svc.clients.get_client("shift-a")
        assert cached is not None and cached.redirect_uris == (rp.redirect_uri,)
        svc.core.feed.poll_once()
        fresh = svc.clients.get_client("shift-a")
        assert fresh is not None and fresh.redirect_uris == ("https://rp.example/moved",)


def test_a_client_change_in_this_process_is_seen_at_once(settings: Any) -> None:
    rp = shift_rp(settings, "shift-a")
    with TestClient(create_app(settings), follow_redirects=False) as client:
        svc = services(client)
        assert svc.clients.get_client("shift-a") is not None
        move(settings, rp)
        fresh = svc.clients.get_client("shift-a")
        assert fresh is not None and fresh.redirect_uris == ("https://rp.example/moved",)


@pytest.fixture
def shared_redis() -> Iterator[str]:
    url = f"redis://127.0.0.1:6379/{REDIS_DB}"
    flush = redis.Redis.from_url(url)
    flush.flushdb()
    yield url
    flush.flushdb()
    flush.close()


@pytest.mark.redis
def test_two_instances_revocation_on_one_is_final_on_the_other(
    tmp_path: Path, shared_redis: str
) -> None:
    """Two instances share Redis and the database. Instance B hears nothing from the revoke
    (its in-process listener is off and it does not poll): A's listener writes the mark into
    Redis before the revoke returns, and B refuses the token and the userinfo request."""
    settings = make_settings(tmp_path, state_url=shared_redis)
    seed_deployment(settings)
    first, second = shift_rp(settings, "shift-a"), shift_rp(settings, "shift-b")
    app_a, app_b = create_app(settings), create_app(settings)
    with (
        TestClient(app_a, follow_redirects=False) as a,
        TestClient(app_b, follow_redirects=False) as b,
    ):
        services(b).core.feed.close()
        code, verifier = code_for(a, first)
        token = b.post("/token", data=first.token_form(code, verifier)).json()["access_token"]
        assert b.get("/userinfo", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        code, verifier = code_for(a, second)  # silent: the session lives in Redis
        revoke(settings, declaration_at(settings, SHIFT_URA))
        refused = b.post("/token", data=second.token_form(code, verifier))
        assert refused.json()["error"] == "invalid_grant"
        assert b.get("/userinfo", headers={"Authorization": f"Bearer {token}"}).status_code == 401
