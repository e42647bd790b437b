"""DigiD over SAML 2.0 through the ASGI app: the journey, the relay, and bad input (a clear
page, a log line, no session), and the BSN in clear nowhere (``tests.web.digid_browser``)."""

from __future__ import annotations

import base64
import json
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from starlette.testclient import TestClient

from idp.protocol.models import LOA_SUBSTANTIAL
from tests import saml_idp
from tests.conftest import ISSUER
from tests.saml_idp import PendingRequest, Posted, auto_post
from tests.support import PHYSICIAN, parse_forms
from tests.web.digid_browser import (
    ALL_BSNS,
    BAD_BSN,
    BOUND_BSN,
    NEVER_BSN,
    DigidSite,
    authorize,
    back_from_idp,
    continue_forms,
    digid_login,
    has_session,
    log_in_at_idp,
    make_site,
    post_to_acs,
    to_idp,
    tokens,
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> DigidSite:
    return make_site(tmp_path_factory.mktemp("digid-web"))


@pytest.fixture
def client(site: DigidSite) -> Iterator[TestClient]:
    with site.browser() as browser:
        yield browser


# -- journeys ----------------------------------------------------------------------------------


def test_a_bound_professional_gets_a_code_and_tokens(site: DigidSite, client: TestClient) -> None:
    returned, verifier = digid_login(site, client, BOUND_BSN)
    claims, info = tokens(client, site.rp, continue_forms(client, returned), verifier)
    assert claims["acr"] == LOA_SUBSTANTIAL  # DigiD Midden, never more (DECISIONS.md #7)
    assert info["dezi_nummer"] == PHYSICIAN
    assert BOUND_BSN not in json.dumps(claims) + json.dumps(info)
    assert has_session(site, client)


def test_the_return_needs_this_browsers_cookie(site: DigidSite, client: TestClient) -> None:
    tx_path, _ = authorize(client, site.rp)
    form = log_in_at_idp(site, to_idp(client, tx_path), BOUND_BSN)
    relayed = post_to_acs(site, form.fields)
    other_browser = site.browser()
    page = other_browser.get(relayed.headers["location"])
    assert page.status_code == 400 and "expired" in page.text
    # The ticket is still there for the right browser, and then used up.
    assert client.get(relayed.headers["location"]).status_code == 303
    assert "expired" in client.get(relayed.headers["location"]).text


def test_a_response_in_the_url_counts_for_nothing(site: DigidSite, client: TestClient) -> None:
    """Only the relay carries SAMLResponse; one in the query of the return URL is dropped."""
    tx_path, _ = authorize(client, site.rp)
    form = log_in_at_idp(site, to_idp(client, tx_path), BOUND_BSN)
    page = client.get(f"{tx_path}/digid/return?{urlencode(form.fields)}")
    assert page.status_code == 400
    assert not has_session(site, client)


def test_the_acs_refuses_a_post_without_a_login(site: DigidSite) -> None:
    assert post_to_acs(site, {"SAMLResponse": "PHg+"}).status_code == 400
    assert post_to_acs(site, {"RelayState": "x" * 43}).status_code == 400
    assert post_to_acs(site, {"RelayState": "../../etc", "SAMLResponse": "PHg+"}).status_code == 400
    unknown = TestClient(site.app, base_url=ISSUER).post(
        "/authn/nosuch/acs", data={"RelayState": "x" * 43, "SAMLResponse": "PHg+"}
    )
    assert unknown.status_code == 404


def test_only_saml_methods_publish_metadata(site: DigidSite, client: TestClient) -> None:
    assert client.get("/authn/dev/metadata").status_code == 404
    xml = client.get("/authn/digid/metadata").text
    assert f'entityID="{ISSUER}"' in xml and f"{ISSUER}/authn/digid/acs" in xml


# -- bad input: a clear page, a log line, no session -------------------------------------------

Attack = Any  # (site, client, tx_path, pending request) -> fields posted to the ACS


def _pending(site: DigidSite, client: TestClient, tx_path: str) -> PendingRequest:
    return site.idp.receive(to_idp(client, tx_path))


def replayed(site: DigidSite, client: TestClient, tx_path: str) -> dict[str, str]:
    """A response that logged someone in, posted again for a new login."""
    with site.browser() as victim:
        earlier_path, _ = authorize(victim, site.rp)
        form = log_in_at_idp(site, to_idp(victim, earlier_path), BOUND_BSN)
        assert back_from_idp(site, victim, form.fields).status_code in (200, 303)
    _pending(site, client, tx_path)
    return {**form.fields, "RelayState": tx_path.removeprefix("/login/")}


def altered(site: DigidSite, client: TestClient, tx_path: str) -> dict[str, str]:
    posted = site.idp.respond(_pending(site, client, tx_path), NEVER_BSN)
    document = base64.b64decode(posted.saml_response).replace(
        NEVER_BSN.encode(), BOUND_BSN.encode()
    )
    return {**posted.form(), "SAMLResponse": base64.b64encode(document).decode()}


def tweaked(tweak: saml_idp.Tweak) -> Attack:
    def attack(site: DigidSite, client: TestClient, tx_path: str) -> dict[str, str]:
        return site.idp.respond(_pending(site, client, tx_path), tweak=tweak).form()

    return attack


def failing_elfproef(site: DigidSite, client: TestClient, tx_path: str) -> dict[str, str]:
    return site.idp.respond(_pending(site, client, tx_path), BAD_BSN).form()


BAD_INPUT: list[tuple[str, Attack, set[str]]] = [
    ("replayed assertion", replayed, {"in_response_to", "replayed"}),
    ("altered response", altered, {"signature"}),
    ("wrong audience", tweaked(saml_idp.wrong_audience), {"audience"}),
    ("wrong destination", tweaked(saml_idp.wrong_destination), {"destination"}),
    ("expired", tweaked(saml_idp.expired), {"conditions", "expired"}),
    ("unknown InResponseTo", tweaked(saml_idp.unknown_in_response_to), {"in_response_to"}),
    ("BSN failing the elfproef", failing_elfproef, {"bsn"}),
]


@pytest.mark.parametrize(("case", "attack", "reasons"), BAD_INPUT, ids=[b[0] for b in BAD_INPUT])
def test_bad_input_gets_an_error_page_a_log_line_and_no_session(
    site: DigidSite,
    client: TestClient,
    caplog: pytest.LogCaptureFixture,
    case: str,
    attack: Attack,
    reasons: set[str],
) -> None:
    tx_path, _ = authorize(client, site.rp)
    fields = attack(site, client, tx_path)
    caplog.set_level(logging.INFO)
    page = back_from_idp(site, client, fields)
    assert page.status_code == 400, page.text
    assert "Login failed" in page.text and "DigiD" in page.text
    refused = [
        json.loads(r.getMessage())
        for r in caplog.records
        if "digid_login_refused" in r.getMessage()
    ]
    assert len(refused) == 1 and refused[0]["reason"] in reasons, refused
    assert not has_session(site, client)
    assert not any(c.name.endswith("zorg_session") for c in client.cookies.jar)


# -- the BSN in clear: in no log line, no database row, no state entry -------------------------


def test_no_log_line_db_row_or_state_entry_holds_a_bsn(
    site: DigidSite, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    with site.browser() as client:
        returned, _ = digid_login(site, client, BOUND_BSN)
        continue_forms(client, returned)
    for bsn in (NEVER_BSN, BAD_BSN):
        with site.browser() as client:
            digid_login(site, client, bsn)
    with site.browser() as client:
        tx_path, _ = authorize(client, site.rp)
        back_from_idp(site, client, altered(site, client, tx_path))
    with site.browser() as client:  # relayed, not yet picked up: it waits in the state store
        tx_path, _ = authorize(client, site.rp)
        waiting = log_in_at_idp(site, to_idp(client, tx_path), NEVER_BSN).fields
        assert post_to_acs(site, waiting).status_code == 303
    logged = "\n".join(r.getMessage() for r in caplog.records) + "".join(capfd.readouterr())
    assert "digid_login_accepted" in logged and "digid_login_refused" in logged
    dump = "\n".join(_dump(site))
    # The in-process store's own entries: every key and value the state store holds.
    store = site.app.state.services.state._entries
    entries = "\n".join(f"{key} {value}" for key, (_, value) in store.items())
    assert "zorg:postback:" in entries
    for bsn in ALL_BSNS:
        assert bsn not in logged
        assert bsn not in dump
        assert bsn not in entries
    assert waiting["SAMLResponse"][:40] not in entries  # sealed, not merely base64


def _dump(site: DigidSite) -> Iterator[str]:
    path = Path(site.settings.database_url.removeprefix("sqlite:///"))
    with sqlite3.connect(path) as connection:
        yield from connection.iterdump()


def test_the_auto_post_page_is_what_a_browser_submits(site: DigidSite) -> None:
    """The test IdP's page is a plain form to our ACS (Bindings §3.5.4)."""
    posted = Posted(f"{ISSUER}/authn/digid/acs", "PHg+", "tx")
    (form,) = parse_forms(auto_post(posted))
    assert form.action == posted.action and form.fields == posted.form()
