"""``/api/v1/professionals``: who sees whom, enrolment with issued Dezi numbers, names."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from registry.db import read_session
from registry.models import AuditRecord
from tests.support import CARER, PHYSICIAN, REVOKED_NURSE
from tests.web.api.conftest import HOME_URA, ORG_ADMIN_USER, ApiDeployment, bearer

PROS = "/api/v1/professionals"


def dezi_numbers(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["dezi_nummer"] for item in response.json()["items"]]


def test_who_sees_whom(
    api: ApiDeployment, http: TestClient, admin_token: str, org_admin_token: str
) -> None:
    everyone = dezi_numbers(http.get(PROS, headers=bearer(admin_token), params={"limit": 100}))
    assert {CARER, PHYSICIAN, REVOKED_NURSE, ORG_ADMIN_USER} <= set(everyone)
    own = dezi_numbers(http.get(PROS, headers=bearer(org_admin_token)))
    assert {CARER, ORG_ADMIN_USER} <= set(own) and PHYSICIAN not in own
    multi = dezi_numbers(http.get(PROS, headers=bearer(api.client_token(api.hr_multi))))
    assert CARER in multi and ORG_ADMIN_USER not in multi and PHYSICIAN not in multi


def test_filters(http: TestClient, admin_token: str, org_admin_token: str) -> None:
    auth = bearer(admin_token)
    assert dezi_numbers(http.get(PROS, params={"dezi_nummer": CARER}, headers=auth)) == [CARER]
    big = dezi_numbers(http.get(PROS, params={"big_nummer": "19022222201"}, headers=auth))
    assert big == [PHYSICIAN]
    at_gp = dezi_numbers(http.get(PROS, params={"ura": "90000001"}, headers=auth))
    assert PHYSICIAN in at_gp and CARER not in at_gp
    named = dezi_numbers(http.get(PROS, params={"achternaam": "üller-lü"}, headers=auth))
    assert named == [ORG_ADMIN_USER]
    # A filter never widens the scope: another organisation's staff stays invisible.
    outside = http.get(PROS, params={"ura": "90000001"}, headers=bearer(org_admin_token))
    assert dezi_numbers(outside) == []


@pytest.mark.parametrize(
    "query", [{"dezi_nummer": "12345"}, {"big_nummer": "x"}, {"ura": "9000010"}]
)
def test_malformed_identifier_filters_are_400(
    http: TestClient, admin_token: str, query: dict[str, str]
) -> None:
    assert http.get(PROS, params=query, headers=bearer(admin_token)).status_code == 400


def test_other_organisations_staff_reads_as_absent(http: TestClient, org_admin_token: str) -> None:
    own = http.get(f"{PROS}/{CARER}", headers=bearer(org_admin_token))
    assert own.status_code == 200 and own.headers["etag"]
    other = http.get(f"{PROS}/{PHYSICIAN}", headers=bearer(org_admin_token))
    missing = http.get(f"{PROS}/999999999", headers=bearer(org_admin_token))
    assert other.status_code == missing.status_code == 404
    assert other.json() == missing.json()


@pytest.mark.parametrize(
    ("voorletters", "voorvoegsel", "achternaam"),
    [
        ("IJ.", "van 't", "Hoff"),
        ("K.", None, "Müller-Lüdenscheidt"),
        ("M.", None, "d'Ancona"),
        ("S.", "de", "<script>alert(1)</script>"),
        ("Z.", None, "\U0001f469\u200d\U0001f52c".replace("\u200d", "") + " Emoji"),
    ],
)
def test_enrol_with_issued_number_keeps_names_as_entered(
    api: ApiDeployment,
    http: TestClient,
    hr_token: str,
    voorletters: str,
    voorvoegsel: str | None,
    achternaam: str,
) -> None:
    body = {"voorletters": voorletters, "voorvoegsel": voorvoegsel, "achternaam": achternaam}
    response = http.post(PROS, json=body, headers=bearer(hr_token))
    assert response.status_code == 201, response.text
    created = response.json()
    assert len(created["dezi_nummer"]) == 9 and created["dezi_nummer"].isdigit()
    assert response.headers["location"] == f"{PROS}/{created['dezi_nummer']}"
    assert (created["voorletters"], created["voorvoegsel"], created["achternaam"]) == (
        voorletters,
        voorvoegsel,
        achternaam,
    )
    with read_session(api.engine) as session:
        record = session.exec(
            select(AuditRecord).where(
                AuditRecord.action == "professional.enrol",
                AuditRecord.object_id == created["dezi_nummer"],
            )
        ).one()
    assert record.actor == f"client:{api.hr.client_id}"
    assert record.on_behalf_of == HOME_URA


def test_names_are_normalised_to_nfc(http: TestClient, hr_token: str) -> None:
    decomposed = unicodedata.normalize("NFD", "Hélène Ørsted")
    response = http.post(
        PROS, json={"voorletters": "H.", "achternaam": decomposed}, headers=bearer(hr_token)
    )
    assert response.status_code == 201
    assert response.json()["achternaam"] == unicodedata.normalize("NFC", decomposed)


def test_only_registry_admins_choose_the_number(
    http: TestClient, hr_token: str, admin_token: str
) -> None:
    body = {"voorletters": "U.", "achternaam": "Uzi", "dezi_nummer": "912345678"}
    assert http.post(PROS, json=body, headers=bearer(hr_token)).status_code == 403
    first = http.post(PROS, json=body, headers=bearer(admin_token))
    assert first.status_code == 201 and first.json()["dezi_nummer"] == "912345678"
    again = http.post(PROS, json=body, headers=bearer(admin_token))
    assert again.status_code == 200 and again.json() == first.json()


def test_taken_big_number_is_409(http: TestClient, hr_token: str) -> None:
    body = {"voorletters": "A.", "achternaam": "Dubbel", "big_nummer": "19022222201"}
    response = http.post(PROS, json=body, headers=bearer(hr_token))
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "body",
    [
        {"voorletters": "A.", "achternaam": "Ctrl\u0007"},
        {"voorletters": "A.", "achternaam": "a\u0000b"},
        {"voorletters": "A.", "achternaam": "x" * 129},
        {"voorletters": "A.", "achternaam": "X", "big_nummer": "123"},
        {"voorletters": "A."},
    ],
)
def test_invalid_professional_is_422(http: TestClient, hr_token: str, body: dict[str, Any]) -> None:
    response = http.post(PROS, json=body, headers=bearer(hr_token))
    assert response.status_code == 422, response.text
    assert response.json()["errors"]


def test_lone_surrogate_is_422(http: TestClient, hr_token: str) -> None:
    raw = b'{"voorletters": "A.", "achternaam": "\\ud800"}'
    headers = bearer(hr_token, **{"Content-Type": "application/json"})
    response = http.post(PROS, content=raw, headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "achternaam"


def test_new_professional_is_visible_once_declared(http: TestClient, hr_token: str) -> None:
    auth = bearer(hr_token)
    created = http.post(PROS, json={"voorletters": "N.", "achternaam": "Nieuw"}, headers=auth)
    number = created.json()["dezi_nummer"]
    assert http.get(f"{PROS}/{number}", headers=auth).status_code == 404
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
    assert http.get(f"{PROS}/{number}", headers=auth).status_code == 200
