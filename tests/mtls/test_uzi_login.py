"""UZI-pas login over real TLS 1.3 handshakes through Debian's nginx (issue 5, item 3).

Each test is a browser (httpx) with one card "in the reader": a client certificate that nginx
asks for on the mTLS origin only. Bad input must give a clear page, an audit line, and no code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx
import pytest

from certs import RejectReason
from certs.testca import Issued, UziTestPki
from idp.authn.uzi import NO_CARD, NO_UZI_NAME, NOT_REGISTERED, REJECTED
from idp.keys import load_or_create_secrets
from idp.protocol.models import LOA_HIGH
from registry import service
from registry.identifiers import keyed_subject_hash
from tests.mtls.conftest import UziDeployment
from tests.support import CARER, PHYSICIAN, Form, parse_forms, pkce_pair, query_of, verify_jwt

pytestmark = pytest.mark.mtls

GP_PRACTICE = "90000001"


@dataclass
class Attempt:
    form: Form
    verifier: str
    params: dict[str, str]

    @property
    def tx(self) -> str:
        return urlsplit(self.form.action).path.split("/")[2]


def start(uzi: UziDeployment, browser: httpx.Client) -> Attempt:
    """Authorize through the issuer origin up to the UZI-pas page."""
    verifier, challenge = pkce_pair()
    params = uzi.rp.authorize_params(code_challenge=challenge)
    response = browser.get(f"/authorize?{urlencode(params)}")
    assert response.status_code == 303, response.text  # straight to the only method
    assert response.headers["location"].endswith("/uzi")
    response = browser.get(response.headers["location"])
    assert response.status_code == 200, response.text
    assert "Put your UZI-pas" in response.text
    forms = [f for f in parse_forms(response.text) if f.method == "post"]
    assert forms[0].action.startswith(f"{uzi.stack.mtls_origin}/login/")
    return Attempt(forms[0], verifier, params)


def continue_with_card(browser: httpx.Client, attempt: Attempt) -> httpx.Response:
    """Press Continue: the POST goes to the mTLS origin, where nginx asks for the card."""
    return browser.post(attempt.form.action, data={**attempt.form.fields, "action": "login"})


def events(uzi: UziDeployment, tx: str) -> list[dict[str, Any]]:
    lines = (json.loads(line) for line in uzi.stack.log_text().splitlines() if line[:1] == "{")
    return [e for e in lines if e.get("tx") == tx[:8]]


def refused(uzi: UziDeployment, card: Issued | None) -> tuple[httpx.Response, dict[str, Any]]:
    """Try to log in with ``card``; check that no code left the OP; return the page and the
    audit line."""
    with uzi.stack.browser(card) as browser:
        attempt = start(uzi, browser)
        response = continue_with_card(browser, attempt)
    assert response.status_code == 400, response.text
    assert "code=" not in response.headers.get("location", "")
    assert "Log in to Test EPD with your UZI-pas" in response.text  # the page again, with why
    lines = [e for e in events(uzi, attempt.tx) if e["event"] == "uzi_login_refused"]
    assert len(lines) == 1, events(uzi, attempt.tx)
    return response, lines[0]


def page_text(response: httpx.Response) -> str:
    return response.text.replace("&#39;", "'")


# ---- the good card -------------------------------------------------------------------------


def test_physician_logs_in_with_her_z_card(uzi: UziDeployment) -> None:
    card = uzi.pki.card(PHYSICIAN, "Z", GP_PRACTICE, "01.015")
    with uzi.stack.browser(card) as browser:
        attempt = start(uzi, browser)
        response = continue_with_card(browser, attempt)
        assert response.status_code == 303, response.text
        location = response.headers["location"]
        assert location.startswith(uzi.rp.redirect_uri)
        query = query_of(location)
        assert query["iss"] == uzi.stack.issuer
        assert query["state"] == attempt.params["state"]
        token = browser.post("/token", data=uzi.rp.token_form(query["code"], attempt.verifier))
        assert token.status_code == 200, token.text
        body = token.json()
        claims = verify_jwt(body["id_token"], browser.get("/jwks.json").json())
        info = browser.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert claims["acr"] == LOA_HIGH
    assert claims["nonce"] == attempt.params["nonce"]
    assert info.status_code == 200, info.text
    data = info.json()
    assert (data["dezi_nummer"], data["abonnee_nummer"], data["rol_code"]) == (
        PHYSICIAN,
        GP_PRACTICE,
        "01.015",
    )
    accepted = [e for e in events(uzi, attempt.tx) if e["event"] == "uzi_card_accepted"]
    assert accepted and accepted[0]["uzi_nummer"] == PHYSICIAN


# ---- certificates that nginx or the app refuses ----------------------------------------------


@pytest.mark.parametrize(
    ("kind", "reason", "nginx_refuses"),
    [
        ("expired", RejectReason.EXPIRED, True),
        ("self-signed", RejectReason.UNTRUSTED, True),
        ("wrong CA", RejectReason.UNTRUSTED, True),
        ("revoked", RejectReason.REVOKED, False),  # the app's CRL (nginx has none)
        ("signature certificate", RejectReason.KEY_USAGE, True),  # "unsuitable purpose"
    ],
)
def test_bad_certificates_get_a_clear_page(
    uzi: UziDeployment, kind: str, reason: RejectReason, nginx_refuses: bool
) -> None:
    pki = uzi.pki
    if kind == "expired":
        card = pki.expired_card(uzi_number=PHYSICIAN)
    elif kind == "self-signed":
        card = pki.card(PHYSICIAN, self_signed=True)
    elif kind == "wrong CA":
        card = UziTestPki("rogue").card(PHYSICIAN)
    elif kind == "revoked":
        card = pki.card(PHYSICIAN)
        pki.revoke(card)
        uzi.stack.write_crl()
    else:
        card = pki.card(PHYSICIAN, usage="signature")
    response, line = refused(uzi, card)
    assert REJECTED[reason] in page_text(response)
    assert line["reason"] == reason.value
    # nginx's own verdict travels along: FAILED ones reached the app through error_page 495.
    proxy_verdict = line["detail"].rsplit("; proxy: ", 1)[1]
    assert proxy_verdict.startswith("FAILED:") is nginx_refuses, proxy_verdict


@pytest.mark.parametrize(
    ("uzi_name", "with_san"),
    [
        (None, True),  # a SAN with only the UPN
        (None, False),  # no SAN at all
        ("2.16.528.1.1007.99.217-1252-900000019-Z-90000001-01.015-00000000", True),
        ("2.16.528.1.1007.99.217-1-90000001-Z-90000001-01.015-00000000", True),
        (b"\x0c\x0bnot-ia5-str", True),
    ],
)
def test_missing_or_malformed_uzi_name(
    uzi: UziDeployment, uzi_name: str | bytes | None, with_san: bool
) -> None:
    card = uzi.pki.card(PHYSICIAN, uzi_name=uzi_name, with_san=with_san)
    response, line = refused(uzi, card)
    assert NO_UZI_NAME in page_text(response)
    assert line["reason"] == "uzi_name"


def test_no_card_in_the_reader(uzi: UziDeployment) -> None:
    response, line = refused(uzi, None)
    assert NO_CARD in page_text(response)
    assert line["detail"] == "NONE"  # nginx's $ssl_client_verify


# ---- cards the register does not back ------------------------------------------------------


@pytest.mark.parametrize(("ura", "role"), [("90000101", "01.015"), (GP_PRACTICE, "01.010")])
def test_card_for_an_organisation_or_role_the_register_lacks(
    uzi: UziDeployment, ura: str, role: str
) -> None:
    """The card's URA and role must match a declaration: the physician has 01.015 at 90000001
    only, so a card for another URA or role logs in to nothing."""
    card = uzi.pki.card(PHYSICIAN, "Z", ura, role)
    with uzi.stack.browser(card) as browser:
        attempt = start(uzi, browser)
        response = continue_with_card(browser, attempt)
        assert response.status_code == 403, response.text
        assert "no active declaration" in response.text
        # The page's button (on the mTLS origin) returns to the client without a code.
        back = next(f for f in parse_forms(response.text) if f.method == "post")
        done = browser.post(
            f"{uzi.stack.mtls_origin}{back.action}",
            data={**back.fields, "action": "cancel"},
            headers={"Origin": uzi.stack.mtls_origin},
        )
    assert done.status_code == 303, done.text
    answer = query_of(done.headers["location"])
    assert answer["error"] == "access_denied" and "code" not in answer


@pytest.mark.parametrize("card_type", ["N", "M", "S"])
def test_cards_without_a_care_role(uzi: UziDeployment, card_type: str) -> None:
    card = uzi.pki.card(CARER, card_type, "90000101")
    response, line = refused(uzi, card)
    assert "carries no care-provider role" in page_text(response)
    assert (line["reason"], line["pastype"]) == ("no_role", card_type)


def test_unregistered_uzi_number(uzi: UziDeployment) -> None:
    response, line = refused(uzi, uzi.pki.card("900099998", "Z", GP_PRACTICE))
    assert NOT_REGISTERED in page_text(response)
    assert line["reason"] == "not_registered"


def test_identity_binding_maps_a_uzi_number_to_another_dezi_number(uzi: UziDeployment) -> None:
    person = service.enrol_professional(uzi.engine, "P.", None, "Pas", actor="test:mtls")
    service.add_declaration(
        uzi.engine,
        person.dezi_nummer,
        "90000102",
        "86.000",
        datetime(2025, 1, 1, tzinfo=UTC),
        actor="test:mtls",
    )
    uzi_number = "900077771"
    key = load_or_create_secrets(uzi.stack.data_dir)["bsn_hash_secret"].encode()
    service.bind_identity(
        uzi.engine,
        person.dezi_nummer,
        "uzi",
        keyed_subject_hash(key, "uzi", uzi_number),
        actor="test:mtls",
    )
    card = uzi.pki.card(uzi_number, "Z", "90000102", "86.000")
    with uzi.stack.browser(card) as browser:
        attempt = start(uzi, browser)
        response = continue_with_card(browser, attempt)
        assert response.status_code == 303, response.text
        code = query_of(response.headers["location"])["code"]
        body = browser.post("/token", data=uzi.rp.token_form(code, attempt.verifier)).json()
        info = browser.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.json()["dezi_nummer"] == person.dezi_nummer != uzi_number


# ---- the certificate headers cannot be forged ------------------------------------------------


def untrusted_lines(uzi: UziDeployment, since: int) -> list[dict[str, str]]:
    """The ``client_cert_header_untrusted`` lines logged after offset ``since``."""
    text = uzi.stack.log_text()[since:]
    lines = (json.loads(x) for x in text.splitlines() if x[:1] == "{")
    return [
        {"peer": e["peer"], "path": e["path"]}
        for e in lines
        if e.get("event") == "client_cert_header_untrusted"
    ]


def forged_headers(card: Issued) -> dict[str, str]:
    return {
        "X-SSL-Client-Cert": quote(card.cert_pem.decode(), safe=""),
        "X-SSL-Client-Verify": "SUCCESS",
        "X-Forwarded-For": "127.0.0.2",
    }


def test_certificate_header_from_an_untrusted_address(uzi: UziDeployment) -> None:
    """Straight to uvicorn (not via nginx): the peer 127.0.0.1 is not a trusted proxy."""
    card = uzi.pki.card(PHYSICIAN, "Z", GP_PRACTICE, "01.015")  # public: anyone may hold a copy
    with uzi.stack.browser(None) as browser:
        attempt = start(uzi, browser)
        binding = next(c.value for c in browser.cookies.jar if c.name.endswith("zorg_bb"))
    path = urlsplit(attempt.form.action).path
    since = len(uzi.stack.log_text())
    with httpx.Client(timeout=10.0) as attacker:
        response = attacker.post(
            f"{uzi.stack.app_url}{path}",
            data={**attempt.form.fields, "action": "login"},
            headers={**forged_headers(card), "Cookie": f"__Host-zorg_bb={binding}"},
        )
    assert response.status_code == 400, response.text
    assert NO_CARD in page_text(response)
    assert "location" not in response.headers
    assert untrusted_lines(uzi, since) == [{"peer": "127.0.0.1", "path": "/login/{tx_id}/{method}"}]
    refusals = [e for e in events(uzi, attempt.tx) if e["event"] == "uzi_login_refused"]
    assert [e["reason"] for e in refusals] == ["no_certificate"]


@pytest.mark.parametrize("origin", ["issuer", "mtls"])
def test_nginx_replaces_client_sent_certificate_headers(uzi: UziDeployment, origin: str) -> None:
    """Through nginx without a card: the forged headers never reach the app."""
    card = uzi.pki.card(PHYSICIAN, "Z", GP_PRACTICE, "01.015")
    with uzi.stack.browser(None) as browser:
        attempt = start(uzi, browser)
        target = attempt.form.action
        if origin == "issuer":
            target = f"{uzi.stack.issuer}{urlsplit(target).path}"
        since = len(uzi.stack.log_text())
        response = browser.post(
            target,
            data={**attempt.form.fields, "action": "login"},
            headers=forged_headers(card),
        )
    assert response.status_code == 400, response.text
    assert NO_CARD in page_text(response)
    refusals = [e for e in events(uzi, attempt.tx) if e["event"] == "uzi_login_refused"]
    assert len(refusals) == 1
    # Via the issuer origin nginx drops the headers; via the mTLS origin it sets its own (NONE).
    expected = "no trusted proxy header" if origin == "issuer" else "NONE"
    assert refusals[0]["detail"] == expected
    assert untrusted_lines(uzi, since) == []  # the peer was nginx: trusted, headers its own
