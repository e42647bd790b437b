"""Consent before a verklaring goes to a relying party (issue 6 item 5)."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.testclient import TestClient

from idp.clients import ClientRegistration, register_client
from tests.conftest import ISSUER, Deployment
from tests.dezi_support import public_jwk, rp_encryption_key
from tests.support import (
    CARER,
    PHYSICIAN,
    RelyingParty,
    login_through_forms,
    parse_forms,
    pkce_pair,
    query_of,
)


def verklaring_client(deployment: Deployment, name: str) -> RelyingParty:
    rp = RelyingParty(name, f"https://{name}.example/cb", ISSUER)
    register_client(
        deployment.settings,
        ClientRegistration(
            client_id=rp.client_id,
            redirect_uris=(rp.redirect_uri,),
            auth_method="none",
            jwks={"keys": [public_jwk(rp_encryption_key())]},
            profile="dezi",
            name=f"EPD {name}",
        ),
    )
    return rp


def authorize(client: TestClient, rp: RelyingParty, **extra: str) -> tuple[object, str]:
    verifier, challenge = pkce_pair()
    url = "/authorize?" + urlencode(
        rp.authorize_params(code_challenge=challenge, nonce=None, **extra)
    )
    return client.get(url), verifier


def to_consent_page(client: TestClient, rp: RelyingParty, **extra: str) -> object:
    """Log in (dev) up to the consent page and return it."""
    response, _ = authorize(client, rp, **extra)
    for _ in range(6):
        location = response.headers.get("location", "")  # type: ignore[attr-defined]
        if location.startswith("/consent/"):
            return client.get(location)
        if location.startswith("/"):
            response = client.get(location)
            continue
        forms = parse_forms(response.text)  # type: ignore[attr-defined]
        form = forms[0]
        response = client.post(form.action, data={**form.fields, "dezi_nummer": PHYSICIAN})
    raise AssertionError("no consent page")


def test_first_verklaring_asks_then_remembers(deployment: Deployment, client: TestClient) -> None:
    rp = verklaring_client(deployment, "consent-a")
    page = to_consent_page(client, rp)
    assert page.status_code == 200  # type: ignore[attr-defined]
    text = page.text  # type: ignore[attr-defined]
    assert "Share with EPD consent-a?" in text and "No medical data" in text
    form = parse_forms(text)[0]
    assert form.submits[0] == ("action", "approve")  # the approving button comes first
    done = client.post(form.action, data={**form.fields, "action": "approve"})
    assert "code" in query_of(done.headers["location"])
    # Remembered: the next login at this client for this declaration asks nothing.
    again, _ = authorize(client, rp, prompt="none")
    assert "code" in query_of(again.headers["location"])  # type: ignore[attr-defined]
    # prompt=consent asks again.
    assert to_consent_page(client, rp, prompt="consent").status_code == 200  # type: ignore[attr-defined]


def test_declining_is_access_denied(deployment: Deployment, client: TestClient) -> None:
    rp = verklaring_client(deployment, "consent-b")
    page = to_consent_page(client, rp)
    form = parse_forms(page.text)[0]  # type: ignore[attr-defined]
    refused = client.post(form.action, data={**form.fields, "action": "deny"})
    assert query_of(refused.headers["location"])["error"] == "access_denied"
    forged = client.post(form.action, data={**form.fields, "action": "approve", "csrf_token": "x"})
    assert forged.status_code in (400, 403)


def test_prompt_none_without_consent_is_consent_required(
    deployment: Deployment, client: TestClient
) -> None:
    plain = deployment.restricted_rp
    login_through_forms(
        client,
        "/authorize?" + urlencode(plain.authorize_params(code_challenge=pkce_pair()[1])),
        CARER,
    )
    rp = verklaring_client(deployment, "consent-c")
    response, _ = authorize(client, rp, prompt="none")
    # The carer has several organisations: selection comes first, so prompt=none stops there.
    assert query_of(response.headers["location"])["error"] in (  # type: ignore[attr-defined]
        "consent_required",
        "account_selection_required",
    )


def test_clients_without_a_verklaring_are_not_asked(
    deployment: Deployment, client: TestClient
) -> None:
    rp = deployment.rp
    _verifier, challenge = pkce_pair()
    final = login_through_forms(
        client, "/authorize?" + urlencode(rp.authorize_params(code_challenge=challenge)), PHYSICIAN
    )
    assert "code" in query_of(final.headers["location"])


def test_withdrawing_on_the_account_page(deployment: Deployment, client: TestClient) -> None:
    rp = verklaring_client(deployment, "consent-d")
    page = to_consent_page(client, rp)
    form = parse_forms(page.text)[0]  # type: ignore[attr-defined]
    done = client.post(form.action, data={**form.fields, "action": "approve"})
    code = query_of(done.headers["location"])["code"]
    account = client.get("/account")
    assert "EPD consent-d" in account.text
    row = account.text.index("<td>EPD consent-d</td>")
    withdraw = next(f for f in parse_forms(account.text[row:]) if "consent_id" in f.fields)
    client.post("/account", data={**withdraw.fields, "action": "withdraw"})
    after = client.get("/account").text
    assert withdraw.fields["consent_id"] not in after
    assert code  # the earlier code's grant is revoked with the consent; a new login asks again
    assert to_consent_page(client, rp).status_code == 200  # type: ignore[attr-defined]
