"""First-time identity binding of a DigiD login (``idp.web.linking``): offered from a recent
session at level high of another method, audited; otherwise a page that explains how."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import urlencode

import pytest
from starlette.testclient import TestClient

from idp.protocol.models import LOA_HIGH, LOA_SUBSTANTIAL, SsoSession
from idp.web.linking import LINK_MAX_AGE, may_offer_link
from tests.support import CARER, PHYSICIAN, login_through_forms, parse_forms, pkce_pair, query_of
from tests.web.digid_browser import (
    LINKED_BSN,
    NEVER_BSN,
    DigidSite,
    continue_forms,
    digid_login,
    has_session,
    make_site,
    tokens,
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> DigidSite:
    return make_site(tmp_path_factory.mktemp("digid-linking"))


@pytest.fixture
def client(site: DigidSite) -> Iterator[TestClient]:
    with site.browser() as browser:
        yield browser


def test_first_time_binding_from_a_high_session(site: DigidSite, client: TestClient) -> None:
    _, challenge = pkce_pair()
    first = login_through_forms(
        client,
        f"/authorize?{urlencode(site.rp.authorize_params(code_challenge=challenge))}",
        CARER,
        choose="Test login",
    )
    assert first.status_code == 303  # a dev session at level high (DECISIONS.md #10)
    offer, verifier = digid_login(site, client, LINKED_BSN, prompt="login")
    assert offer.status_code == 200, offer.text
    assert "J. van der Berg" in offer.text and "Link" in offer.text
    form = parse_forms(offer.text)[0]
    assert form.action.endswith("/digid/link") and set(form.fields) == {"csrf_token", "ticket"}
    linked = client.post(form.action, data={**form.fields, "action": "link"})
    claims, info = tokens(client, site.rp, continue_forms(client, linked), verifier)
    assert claims["acr"] == LOA_SUBSTANTIAL and info["dezi_nummer"] == CARER

    rows = site.rows("SELECT method, subject_hash FROM identity_binding")
    assert ("digid", site.subject_hash(LINKED_BSN)) in rows
    audit = site.rows("SELECT actor, action, object_id, detail FROM audit_record")
    assert (f"dezi:{CARER}", "identity.bind", CARER, '{"method": "digid"}') in audit

    # From now on DigiD alone logs her in, in a browser without any session.
    with site.browser() as fresh:
        returned, verifier = digid_login(site, fresh, LINKED_BSN)
        _, info = tokens(fresh, site.rp, continue_forms(fresh, returned), verifier)
        assert info["dezi_nummer"] == CARER


def test_without_a_high_session_a_page_explains_how_to_link(
    site: DigidSite, client: TestClient
) -> None:
    page, _ = digid_login(site, client, NEVER_BSN)
    assert page.status_code == 403
    assert "log in with your UZI-pas" in page.text and "administrator" in page.text
    assert NEVER_BSN not in page.text
    assert not has_session(site, client)
    bound = {h for (h,) in site.rows("SELECT subject_hash FROM identity_binding")}
    assert site.subject_hash(NEVER_BSN) not in bound


def test_declining_the_link_returns_to_the_client(site: DigidSite) -> None:
    with site.browser() as client:
        _, challenge = pkce_pair()
        url = f"/authorize?{urlencode(site.rp.authorize_params(code_challenge=challenge))}"
        assert login_through_forms(client, url, PHYSICIAN, choose="Test login").status_code == 303
        offer, _ = digid_login(site, client, NEVER_BSN, prompt="login")
        form = parse_forms(offer.text)[0]
        declined = client.post(form.action, data={**form.fields, "action": "cancel"})
        assert query_of(declined.headers["location"])["error"] == "access_denied"
        # The ticket went with the answer: approving afterwards finds nothing.
        late = client.post(form.action, data={**form.fields, "action": "link"})
        assert late.status_code == 400


def test_the_link_is_offered_only_from_a_recent_high_session_of_another_method() -> None:
    now = 1_800_000_000
    fresh = SsoSession(
        sid="s" * 43,
        dezi_nummer=CARER,
        acr=LOA_HIGH,
        auth_time=now - 60,
        login_method="uzi",
        created_at=now - 60,
        last_seen=now,
    )
    assert may_offer_link(fresh, "digid", now)
    assert not may_offer_link(None, "digid", now)
    assert not may_offer_link(replace(fresh, acr=LOA_SUBSTANTIAL), "digid", now)
    assert not may_offer_link(replace(fresh, login_method="digid"), "digid", now)
    assert not may_offer_link(replace(fresh, auth_time=now - LINK_MAX_AGE - 1), "digid", now)
