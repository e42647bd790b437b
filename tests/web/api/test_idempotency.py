"""``Idempotency-Key`` on POST: the same answer, no second effect (security-checklist.md RC5,
NL2, §3.3); another request under the same key is a 422."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlmodel import func, select
from starlette.testclient import TestClient

from registry.db import read_session
from registry.models import AuditRecord, Professional
from tests.web.api.conftest import HOME_URA, ApiDeployment, bearer

PROS = "/api/v1/professionals"


def count_named(api: ApiDeployment, achternaam: str) -> int:
    with read_session(api.engine) as session:
        return session.exec(
            select(func.count())
            .select_from(Professional)
            .where(Professional.achternaam == achternaam)
        ).one()


def enrol_audits(api: ApiDeployment, numbers: set[str]) -> int:
    with read_session(api.engine) as session:
        rows = session.exec(
            select(AuditRecord).where(AuditRecord.action == "professional.enrol")
        ).all()
    return sum(1 for row in rows if row.object_id in numbers)


def post(http: TestClient, token: str, body: dict[str, Any], key: str) -> Any:
    return http.post(PROS, json=body, headers=bearer(token, **{"Idempotency-Key": key}))


def test_retry_gets_the_same_answer_and_no_second_professional(
    api: ApiDeployment, http: TestClient, hr_token: str
) -> None:
    body = {"voorletters": "R.", "achternaam": "Herhaling"}
    first = post(http, hr_token, body, "enrol-herhaling-1")
    second = post(http, hr_token, body, "enrol-herhaling-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["etag"] == first.headers["etag"]
    assert second.headers["location"] == first.headers["location"]
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert count_named(api, "Herhaling") == 1
    assert enrol_audits(api, {first.json()["dezi_nummer"]}) == 1


def test_quoted_and_bare_keys_are_the_same_key(http: TestClient, hr_token: str) -> None:
    body = {"voorletters": "Q.", "achternaam": "Quote"}
    bare = post(http, hr_token, body, "quoted-key-7")
    quoted = post(http, hr_token, body, '"quoted-key-7"')
    assert quoted.json() == bare.json()


def test_same_key_other_body_is_422(http: TestClient, hr_token: str) -> None:
    assert (
        post(http, hr_token, {"voorletters": "A.", "achternaam": "Een"}, "k-422").status_code == 201
    )
    other = post(http, hr_token, {"voorletters": "A.", "achternaam": "Twee"}, "k-422")
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["type"] == "urn:zorg-idp:problem:idempotency_key_reused"


def test_keys_belong_to_their_caller(api: ApiDeployment, http: TestClient, hr_token: str) -> None:
    body = {"voorletters": "E.", "achternaam": "Eigen sleutel"}
    mine = post(http, hr_token, body, "shared-key")
    theirs = post(http, api.client_token(api.hr_multi), body, "shared-key")
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["dezi_nummer"] != theirs.json()["dezi_nummer"]


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "tab\tkey", "é".encode()])
def test_malformed_key_is_400(http: TestClient, hr_token: str, key: str | bytes) -> None:
    headers: dict[str, Any] = {"Authorization": f"Bearer {hr_token}", "Idempotency-Key": key}
    response = http.post(PROS, json={"voorletters": "A.", "achternaam": "X"}, headers=headers)
    assert response.status_code == 400


def test_failed_request_stores_nothing(http: TestClient, hr_token: str) -> None:
    bad = post(http, hr_token, {"voorletters": "A.", "achternaam": "\u0007"}, "fails-first")
    assert bad.status_code == 422
    good = post(http, hr_token, {"voorletters": "A.", "achternaam": "\u0007"}, "fails-first")
    assert good.status_code == 422  # evaluated again, not a stored answer
    assert "idempotent-replayed" not in good.headers


def test_concurrent_retries_make_one_professional(api: ApiDeployment, hr_token: str) -> None:
    body = {"voorletters": "C.", "achternaam": "Gelijktijdig"}
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def send() -> None:
        with api.client() as http:
            barrier.wait()
            response = post(http, hr_token, body, "concurrent-key")
        with lock:
            answers.append((response.status_code, response.json()["dezi_nummer"]))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {status for status, _ in answers} == {201}
    assert len({number for _, number in answers}) == 1
    assert count_named(api, "Gelijktijdig") == 1


def test_retry_of_a_revocation_replays_instead_of_412(
    api: ApiDeployment, http: TestClient, hr_token: str
) -> None:
    created = post(http, hr_token, {"voorletters": "V.", "achternaam": "Intrekken"}, "mk-rev")
    declared = http.post(
        "/api/v1/declarations",
        json={
            "dezi_nummer": created.json()["dezi_nummer"],
            "ura": HOME_URA,
            "rol_code": "86.000",
            "valid_from": "2026-01-01T00:00:00Z",
        },
        headers=bearer(hr_token),
    )
    url = f"/api/v1/declarations/{declared.json()['id']}/revoke"
    headers = bearer(
        hr_token, **{"If-Match": declared.headers["etag"], "Idempotency-Key": "revoke-once"}
    )
    first = http.post(url, json={"reason": "Uit dienst"}, headers=headers)
    retry = http.post(url, json={"reason": "Uit dienst"}, headers=headers)
    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
    plain = bearer(hr_token, **{"If-Match": declared.headers["etag"]})
    assert http.post(url, json={"reason": "Uit dienst"}, headers=plain).status_code == 412
