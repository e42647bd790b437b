"""Logs never contain codes, tokens, client assertions or verifiers (STYLE.md #10; checklist L3)."""

from __future__ import annotations

import logging

import pytest
from starlette.testclient import TestClient

from tests.conftest import Deployment
from tests.support import CARER
from tests.web.test_code_flow import get_code


def test_a_full_flow_leaks_nothing_to_the_log(
    deployment: Deployment, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    rp = deployment.rp
    caplog.set_level(logging.INFO)
    code, verifier, params = get_code(client, rp, CARER, choose="90000101")
    token_form = rp.token_form(code, verifier)
    body = client.post("/token", data=token_form).json()
    client.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    # A reuse and a bad assertion, so the error paths log too.
    client.post("/token", data=token_form)
    client.post(
        "/token", data={**token_form, "client_assertion": token_form["client_assertion"][:-4]}
    )
    logs = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("idp"))
    assert "token_issued" in logs and "token_rejected" in logs
    secrets = [
        code,
        verifier,
        body["access_token"],
        body["id_token"],
        token_form["client_assertion"],
        params["state"],
        params["nonce"],
    ]
    for secret in secrets:
        assert secret not in logs
        assert secret[:24] not in logs
