"""``/api/v1/declarations``: issue, list, revoke and suspend, within the caller's organisations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.testclient import TestClient

from registry import SqlRegister
from tests.support import CARER, PHYSICIAN
from tests.web.api.conftest import HOME_URA, ApiDeployment, bearer

DECLS = "/api/v1/declarations"
NOW = datetime.now(UTC)


def new_professional(http: TestClient, token: str, achternaam: str, **extra: Any) -> str:
    body = {"voorletters": "T.", "achternaam": achternaam, **extra}
    response = http.post("/api/v1/professionals", json=body, headers=bearer(token))
    assert response.status_code == 201, response.text
    number: str = response.json()["dezi_nummer"]
    return number


def declare(http: TestClient, token: str, dezi_nummer: str, **extra: Any) -> Any:
    body = {
        "dezi_nummer": dezi_nummer,
        "ura": HOME_URA,
        "rol_code": "86.000",
        "valid_from": "2026-01-01T00:00:00+01:00",
        **extra,
    }
    return http.post(DECLS, json=body, headers=bearer(token))


def test_issue_a_declaration(api: ApiDeployment, http: TestClient, hr_token: str) -> None:
    number = new_professional(http, hr_token, "Verzorgende")
    response = declare(http, hr_token, number, personeelsnummer="HR-0042")
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"{DECLS}/{body['id']}"
    assert body["status"] == "active" and body["rol_naam"] == "VIG-er"
    assert body["valid_from"] == "2025-12-31T23:00:00Z"
    assert body["issued_by"] == f"client:{api.hr.client_id}"
    fetched = http.get(response.headers["location"], headers=bearer(hr_token))
    assert fetched.json() == body and fetched.headers["etag"] == response.headers["etag"]
    duplicate = declare(http, hr_token, number)
    assert duplicate.status_code == 409
    assert SqlRegister(api.engine).usable_declaration(body["id"], NOW) is not None


def test_big_role_needs_a_big_number(http: TestClient, hr_token: str) -> None:
    number = new_professional(http, hr_token, "Zonder Big")
    response = declare(http, hr_token, number, rol_code="01.015")
    assert response.status_code == 422
    assert "BIG" in response.json()["detail"]
    with_big = new_professional(http, hr_token, "Met Big", big_nummer="49022222201")
    assert declare(http, hr_token, with_big, rol_code="01.015").status_code == 201


def test_only_at_the_callers_organisations(http: TestClient, hr_token: str) -> None:
    number = new_professional(http, hr_token, "Elders")
    response = declare(http, hr_token, number, ura="90000102")
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("extra", "status"),
    [
        ({"dezi_nummer": "999999999"}, 404),
        ({"rol_code": "99.999"}, 422),
        ({"rol_code": "1"}, 422),
        ({"valid_from": "2026-01-01"}, 422),
        ({"valid_from": "2026-01-01T00:00:00"}, 422),
        ({"valid_from": "0001-01-01T00:00:00+01:00"}, 422),
        ({"valid_until": "2025-01-01T00:00:00Z"}, 422),
        ({"personeelsnummer": ""}, 422),
        ({"valid_from": None}, 422),
    ],
)
def test_invalid_declaration(
    http: TestClient, hr_token: str, extra: dict[str, Any], status: int
) -> None:
    response = declare(http, hr_token, extra.pop("dezi_nummer", CARER), **extra)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_list_filters_and_scope(
    api: ApiDeployment, http: TestClient, admin_token: str, hr_token: str
) -> None:
    mine = http.get(DECLS, params={"limit": 100}, headers=bearer(hr_token)).json()["items"]
    assert mine and {item["ura"] for item in mine} == {HOME_URA}
    carer = http.get(
        DECLS, params={"dezi_nummer": CARER, "limit": 100}, headers=bearer(admin_token)
    ).json()["items"]
    assert len(carer) == 15 and {item["rol_code"] for item in carer} == {"86.000"}
    revoked = http.get(DECLS, params={"status": "revoked"}, headers=bearer(admin_token)).json()
    assert revoked["items"] and all(i["status"] == "revoked" for i in revoked["items"])
    by_role = http.get(DECLS, params={"rol_code": "01.015"}, headers=bearer(admin_token)).json()
    assert PHYSICIAN in {item["dezi_nummer"] for item in by_role["items"]}
    outside = http.get(DECLS, params={"ura": "90000102"}, headers=bearer(hr_token)).json()
    assert outside["items"] == []
    assert http.get(DECLS, params={"status": "gone"}, headers=bearer(hr_token)).status_code == 400


def test_pages_do_not_overlap(http: TestClient, admin_token: str) -> None:
    first = http.get(DECLS, params={"limit": 3}, headers=bearer(admin_token)).json()
    second = http.get(
        DECLS, params={"limit": 3, "cursor": first["next_cursor"]}, headers=bearer(admin_token)
    ).json()
    ids = [item["id"] for item in first["items"] + second["items"]]
    assert len(ids) == len(set(ids)) == 6 and ids == sorted(ids)


def _carer_declaration_at(http: TestClient, token: str, ura: str) -> dict[str, Any]:
    items = http.get(
        DECLS, params={"dezi_nummer": CARER, "ura": ura}, headers=bearer(token)
    ).json()["items"]
    assert len(items) == 1
    item: dict[str, Any] = items[0]
    return item


def test_another_organisations_declaration_is_absent(
    api: ApiDeployment, http: TestClient, admin_token: str, hr_token: str
) -> None:
    """K4: by id, for reading and for changing; nothing changes."""
    other = _carer_declaration_at(http, admin_token, "90000104")
    url = f"{DECLS}/{other['id']}"
    assert http.get(url, headers=bearer(hr_token)).status_code == 404
    missing = http.get(f"{DECLS}/00000000-0000-4000-8000-000000000000", headers=bearer(hr_token))
    assert missing.status_code == 404
    assert missing.json() == http.get(url, headers=bearer(hr_token)).json()
    for action in ("revoke", "suspend"):
        response = http.post(
            f"{url}/{action}",
            json={"reason": "not mine"},
            headers=bearer(hr_token, **{"If-Match": "*"}),
        )
        assert response.status_code == 404
    after = http.get(url, headers=bearer(admin_token)).json()
    assert after["status"] == "active"
    assert http.get(f"{DECLS}/not-a-uuid", headers=bearer(hr_token)).status_code == 404


def test_revoke_with_if_match(api: ApiDeployment, http: TestClient, hr_token: str) -> None:
    auth = bearer(hr_token)
    number = new_professional(http, hr_token, "Vergissing")
    created = declare(http, hr_token, number)
    url = f"{DECLS}/{created.json()['id']}"
    etag = created.headers["etag"]
    reason = {"reason": "Per vergissing aangemaakt"}
    assert http.post(f"{url}/revoke", json=reason, headers=auth).status_code == 428
    stale = http.post(f"{url}/revoke", json=reason, headers={**auth, "If-Match": '"0"'})
    assert stale.status_code == 412
    assert http.get(url, headers=auth).json()["status"] == "active"
    revoked = http.post(f"{url}/revoke", json=reason, headers={**auth, "If-Match": etag})
    assert revoked.status_code == 200, revoked.text
    body = revoked.json()
    assert body["status"] == "revoked" and body["status_reason"] == reason["reason"]
    assert body["revoked_by"] == f"client:{api.hr.client_id}" and body["revoked_at"]
    assert SqlRegister(api.engine).usable_declaration(body["id"], NOW) is None
    again = http.post(
        f"{url}/revoke", json=reason, headers={**auth, "If-Match": revoked.headers["etag"]}
    )
    assert again.status_code == 200 and again.json() == body
    suspend = http.post(f"{url}/suspend", json=reason, headers={**auth, "If-Match": "*"})
    assert suspend.status_code == 422
    assert http.post(f"{url}/revoke", json={}, headers={**auth, "If-Match": "*"}).status_code == 422


def test_suspend(api: ApiDeployment, http: TestClient, org_admin_token: str) -> None:
    auth = bearer(org_admin_token)
    number = new_professional(http, org_admin_token, "Geschorst")
    created = declare(http, org_admin_token, number)
    url = f"{DECLS}/{created.json()['id']}"
    response = http.post(
        f"{url}/suspend",
        json={"reason": "Onderzoek"},
        headers={**auth, "If-Match": created.headers["etag"]},
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "suspended"
    assert SqlRegister(api.engine).usable_declaration(created.json()["id"], NOW) is None


def test_deep_json_is_a_bad_request_not_a_500(http: TestClient, admin_token: str) -> None:
    """The stdlib parser raises RecursionError on deep nesting (RFC 8259 §9 lets us refuse it)."""
    deep = "[" * 5_000 + "]" * 5_000
    response = http.post(
        DECLS,
        content=deep,
        headers={**bearer(admin_token), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
