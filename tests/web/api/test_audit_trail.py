"""The API's part of the audit trail: reads and searches are recorded too (NEN 7513), with the
caller, the organisation acted for and the access point; and the chain still verifies."""

from __future__ import annotations

from sqlmodel import col, select
from starlette.testclient import TestClient

from registry import verify_audit
from registry.db import read_session
from registry.models import AuditRecord
from tests.support import CARER
from tests.web.api.conftest import HOME_URA, ApiDeployment, bearer


def last_record(api: ApiDeployment) -> AuditRecord:
    with read_session(api.engine) as session:
        return session.exec(
            select(AuditRecord).order_by(col(AuditRecord.seq).desc()).limit(1)
        ).one()


def test_search_and_read_are_recorded(api: ApiDeployment, http: TestClient, hr_token: str) -> None:
    response = http.get(
        "/api/v1/professionals", params={"achternaam": "Berg"}, headers=bearer(hr_token)
    )
    assert response.status_code == 200
    search = last_record(api)
    assert (search.action, search.object_type, search.object_id) == (
        "register.search",
        "professional",
        "*",
    )
    assert search.actor == f"client:{api.hr.client_id}"
    assert search.on_behalf_of == HOME_URA
    assert search.source == "testclient"
    assert search.detail["achternaam"] == "Berg"
    assert http.get(f"/api/v1/professionals/{CARER}", headers=bearer(hr_token)).status_code == 200
    read = last_record(api)
    assert (read.action, read.object_id) == ("register.read", CARER)


def test_refused_requests_change_nothing_and_log_no_success(
    api: ApiDeployment, http: TestClient, hr_token: str
) -> None:
    before = last_record(api).seq
    assert http.get("/api/v1/organisations/90000102", headers=bearer(hr_token)).status_code == 404
    response = http.post(
        "/api/v1/professionals",
        json={"voorletters": "A.", "achternaam": "Regel\r\neen"},  # K7: refused, not logged
        headers=bearer(hr_token),
    )
    assert response.status_code == 422
    assert last_record(api).seq == before


def test_the_chain_verifies(api: ApiDeployment, http: TestClient, admin_token: str) -> None:
    http.get("/api/v1/declarations", headers=bearer(admin_token))
    with read_session(api.engine) as session:
        assert verify_audit(session) is None
