"""``/api/v1/organisations``: scoping, pagination, literal search, enrolment, status changes."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import col, select
from starlette.testclient import TestClient

from registry.db import read_session
from registry.models import AuditRecord
from tests.web.api.conftest import HOME_URA, REGISTRY_ADMIN_USER, ApiDeployment, bearer

ORGS = "/api/v1/organisations"


def enrol(http: TestClient, token: str, ura: str, naam: str, **extra: Any) -> Any:
    body = {"ura": ura, "naam": naam, "categorie": "T2", **extra}
    return http.post(ORGS, json=body, headers=bearer(token))


def test_registry_admin_pages_through_everything(http: TestClient, admin_token: str) -> None:
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(50):
        query = {"limit": "4", **({"cursor": cursor} if cursor else {})}
        page = http.get(ORGS, params=query, headers=bearer(admin_token))
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= 4
        seen += [item["ura"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    everything = http.get(ORGS, params={"limit": "100"}, headers=bearer(admin_token)).json()
    assert seen == sorted(seen) == [item["ura"] for item in everything["items"]]
    assert len(seen) == len(set(seen)) >= 16


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "ten"},
        {"limit": "-1"},
        {"cursor": "not-a-cursor"},
        {"cursor": "e30"},  # {} : well-formed, not ours
        {"status": "closed"},
        {"categorie": "ZZ"},
        {"unknown": "1"},
        {"naam": ""},
    ],
)
def test_bad_query_is_a_400_problem(
    http: TestClient, admin_token: str, query: dict[str, str]
) -> None:
    response = http.get(ORGS, params=query, headers=bearer(admin_token))
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 400 and problem["title"] == "Bad Request" and problem["type"]


def test_repeated_parameter_is_400(http: TestClient, admin_token: str) -> None:
    response = http.get(f"{ORGS}?status=active&status=ended", headers=bearer(admin_token))
    assert response.status_code == 400


def test_organisation_admin_and_client_see_their_own_only(
    api: ApiDeployment, http: TestClient, org_admin_token: str, hr_token: str
) -> None:
    for token in (org_admin_token, hr_token):
        listing = http.get(ORGS, headers=bearer(token)).json()
        assert [item["ura"] for item in listing["items"]] == [HOME_URA]
    multi = http.get(ORGS, headers=bearer(api.client_token(api.hr_multi))).json()
    assert [item["ura"] for item in multi["items"]] == ["90000102", "90000103"]


def test_other_organisation_reads_as_absent(
    http: TestClient, org_admin_token: str, admin_token: str
) -> None:
    """K4: another organisation's object answers exactly like one that does not exist."""
    other = http.get(f"{ORGS}/90000102", headers=bearer(org_admin_token))
    missing = http.get(f"{ORGS}/99999999", headers=bearer(org_admin_token))
    assert other.status_code == missing.status_code == 404
    assert other.json() == missing.json()
    assert http.get(f"{ORGS}/90000102", headers=bearer(admin_token)).status_code == 200
    assert http.get(f"{ORGS}/not-a-ura", headers=bearer(admin_token)).status_code == 404


def test_single_organisation_has_an_etag(http: TestClient, org_admin_token: str) -> None:
    response = http.get(f"{ORGS}/{HOME_URA}", headers=bearer(org_admin_token))
    assert response.status_code == 200
    assert response.headers["etag"].startswith('"') and response.headers["etag"].endswith('"')
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["ura"] == HOME_URA and body["status"] == "active"
    again = http.get(f"{ORGS}/{HOME_URA}", headers=bearer(org_admin_token))
    assert again.headers["etag"] == response.headers["etag"]


def test_enrol_organisation(api: ApiDeployment, http: TestClient, admin_token: str) -> None:
    created = enrol(http, admin_token, "91000001", "Thuiszorg Nieuw", agb_code="12345678")
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/api/v1/organisations/91000001"
    body = created.json()
    assert body["status"] == "pending"  # until a registry administrator approves it
    assert (
        created.headers["etag"]
        == http.get(created.headers["location"], headers=bearer(admin_token)).headers["etag"]
    )
    same = enrol(http, admin_token, "91000001", "Thuiszorg Nieuw", agb_code="12345678")
    assert same.status_code == 200
    other = enrol(http, admin_token, "91000001", "Andere naam")
    assert other.status_code == 409
    assert other.json()["type"] == "urn:zorg-idp:problem:conflict"
    with read_session(api.engine) as session:
        record = session.exec(
            select(AuditRecord)
            .where(AuditRecord.action == "organisation.enrol", AuditRecord.object_id == "91000001")
            .order_by(col(AuditRecord.seq))
        ).one()
    assert record.actor == f"dezi:{REGISTRY_ADMIN_USER}"
    assert record.on_behalf_of == "91000001"
    assert record.source == "testclient"


def test_only_registry_admins_enrol(http: TestClient, org_admin_token: str, hr_token: str) -> None:
    for token in (org_admin_token, hr_token):
        response = enrol(http, token, "91000002", "Niet toegestaan")
        assert response.status_code == 403
        assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ura": "123", "naam": "X", "categorie": "T2"}, "ura"),
        ({"ura": "91000003", "naam": "X", "categorie": "ZZ"}, "categorie"),
        ({"ura": "91000003", "naam": "   ", "categorie": "T2"}, "naam"),
        ({"ura": "91000003", "naam": "a\u202eb", "categorie": "T2"}, "naam"),
        ({"ura": "91000003", "naam": "X", "categorie": "T2", "extra": 1}, "extra"),
        ({"ura": "91000003", "naam": 5, "categorie": "T2"}, "naam"),
        ({"ura": "91000003", "categorie": "T2"}, "naam"),
        ({"ura": "91000003", "naam": "X", "categorie": "T2", "status": "ended"}, "status"),
    ],
)
def test_invalid_enrolment_is_422_per_field(
    http: TestClient, admin_token: str, body: dict[str, Any], field: str
) -> None:
    response = http.post(ORGS, json=body, headers=bearer(admin_token))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == field


def test_unreadable_bodies(http: TestClient, admin_token: str) -> None:
    auth = bearer(admin_token)
    not_json = http.post(ORGS, content=b"{", headers={**auth, "Content-Type": "application/json"})
    assert not_json.status_code == 400
    not_object = http.post(ORGS, json=[1, 2], headers=auth)
    assert not_object.status_code == 400
    form = http.post(ORGS, data={"ura": "91000004"}, headers=auth)
    assert form.status_code == 415
    nan = http.post(
        ORGS, content=b'{"ura": NaN}', headers={**auth, "Content-Type": "application/json"}
    )
    assert nan.status_code == 400
    for response in (not_json, not_object, form, nan):
        assert response.headers["content-type"] == "application/problem+json"


def test_unknown_path_and_method_are_problems(http: TestClient, admin_token: str) -> None:
    missing = http.get("/api/v1/nothing-here", headers=bearer(admin_token))
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    wrong = http.delete(f"{ORGS}/{HOME_URA}", headers=bearer(admin_token))
    assert wrong.status_code == 405
    assert wrong.headers["content-type"] == "application/problem+json"
    assert "GET" in wrong.headers["allow"]


def test_status_change_needs_a_matching_if_match(http: TestClient, admin_token: str) -> None:
    auth = bearer(admin_token)
    assert enrol(http, admin_token, "91000005", "Wachtend").status_code == 201
    url = f"{ORGS}/91000005/status"
    etag = http.get(f"{ORGS}/91000005", headers=auth).headers["etag"]
    missing = http.post(url, json={"status": "active"}, headers=auth)
    assert missing.status_code == 428
    assert missing.headers["content-type"] == "application/problem+json"
    stale = http.post(url, json={"status": "active"}, headers={**auth, "If-Match": '"stale"'})
    assert stale.status_code == 412
    assert stale.headers["etag"] == etag
    weak = http.post(url, json={"status": "active"}, headers={**auth, "If-Match": f"W/{etag}"})
    assert weak.status_code == 412  # RFC 7232 §3.1: strong comparison
    approved = http.post(url, json={"status": "active"}, headers={**auth, "If-Match": etag})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "active"
    assert approved.headers["etag"] != etag
    # The old tag no longer matches: a lost update is refused.
    lost = http.post(
        url, json={"status": "suspended", "reason": "x"}, headers={**auth, "If-Match": etag}
    )
    assert lost.status_code == 412
    listed = f'"other", {approved.headers["etag"]}'
    suspended = http.post(
        url, json={"status": "suspended", "reason": "Audit"}, headers={**auth, "If-Match": listed}
    )
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    backwards = http.post(url, json={"status": "pending"}, headers={**auth, "If-Match": "*"})
    assert backwards.status_code == 422
    assert backwards.json()["type"] == "urn:zorg-idp:problem:invariant_violation"


def test_status_change_is_for_registry_admins(http: TestClient, org_admin_token: str) -> None:
    own = http.post(
        f"{ORGS}/{HOME_URA}/status",
        json={"status": "ended"},
        headers=bearer(org_admin_token, **{"If-Match": "*"}),
    )
    assert own.status_code == 403
    other = http.post(
        f"{ORGS}/90000102/status",
        json={"status": "ended"},
        headers=bearer(org_admin_token, **{"If-Match": "*"}),
    )
    assert other.status_code == 404


@pytest.mark.parametrize(
    "text",
    ["' OR '1'='1", "'; DROP TABLE organisation;--", "%", "_", "\\", "(?:a+)+$", "%%__\\\\"],
)
def test_name_search_is_literal(http: TestClient, admin_token: str, text: str) -> None:
    """K1: SQL and LIKE metacharacters are text; nothing matches unless a name contains it."""
    response = http.get(ORGS, params={"naam": text}, headers=bearer(admin_token))
    assert response.status_code == 200
    assert all(text.lower() in item["naam"].lower() for item in response.json()["items"])


def test_wildcards_match_only_themselves(http: TestClient, admin_token: str) -> None:
    assert enrol(http, admin_token, "91000006", "Zorg 100% _echt_ \\ thuis").status_code == 201
    assert enrol(http, admin_token, "91000007", "Zorg 1000 echt thuis").status_code == 201
    for text in ("100%", "_echt_", "\\"):
        found = http.get(ORGS, params={"naam": text}, headers=bearer(admin_token)).json()
        assert [item["ura"] for item in found["items"]] == ["91000006"], text


def test_nul_and_huge_search_text_are_400(http: TestClient, admin_token: str) -> None:
    for query in ("naam=a%00b", "naam=" + "a" * 10_000):
        response = http.get(f"{ORGS}?{query}", headers=bearer(admin_token))
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/problem+json"


def test_names_are_stored_as_entered_and_returned_as_json(
    http: TestClient, admin_token: str
) -> None:
    """K2: markup is data, returned verbatim in JSON that browsers will not sniff as HTML."""
    naam = '<script>alert(1)</script>"><img src=x onerror=alert(1)> {{7*7}}'
    created = enrol(http, admin_token, "91000008", naam)
    assert created.status_code == 201
    response = http.get(f"{ORGS}/91000008", headers=bearer(admin_token))
    assert response.json()["naam"] == naam
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in response.headers["content-security-policy"]
