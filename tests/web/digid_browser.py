"""The browser's steps of a DigiD login, for ``test_digid_web`` and ``test_digid_linking``.

The browser is played by test clients: ours keeps the binding and session cookies; the post to
the ACS comes from a client without cookies, as a browser sends a cross-site POST when the
cookies are SameSite=Lax (``idp.web.postback``). The IdP is pysaml2's IdP classes over ASGI
(``tests.saml_idp``).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.applications import Starlette
from starlette.testclient import TestClient

from idp.app import create_app
from idp.keys import load_or_create_secrets
from idp.settings import Settings
from registry import Bsn, bind_identity
from registry.db import create_engine
from tests import saml_idp
from tests.conftest import ISSUER, make_settings, seed_deployment
from tests.saml_idp import IDP_ENTITY_ID, SamlTestIdp
from tests.support import (
    PHYSICIAN,
    Form,
    RelyingParty,
    parse_forms,
    pkce_pair,
    query_of,
    verify_jwt,
)

BOUND_BSN = "999991772"  # bound to PHYSICIAN by the fixture
LINKED_BSN = "958310828"  # linked by CARER in the first-time binding test
NEVER_BSN = "932763133"  # never bound
BAD_BSN = "900000001"  # fails the elfproef
ALL_BSNS = (BOUND_BSN, LINKED_BSN, NEVER_BSN, BAD_BSN)


@dataclass
class DigidSite:
    settings: Settings
    app: Starlette
    rp: RelyingParty
    idp: SamlTestIdp

    def browser(self) -> TestClient:
        return TestClient(self.app, base_url=ISSUER, follow_redirects=False)

    def subject_hash(self, bsn: str) -> str:
        key = load_or_create_secrets(self.settings.data_dir)["bsn_hash_secret"].encode()
        return Bsn(bsn).keyed_hash(key)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        path = Path(self.settings.database_url.removeprefix("sqlite:///"))
        with sqlite3.connect(path) as connection:
            return list(connection.execute(sql))


def make_site(tmp: Path) -> DigidSite:
    """The OP with ``dev`` and ``digid``, seeded, and the test IdP trusting its metadata;
    ``BOUND_BSN`` is bound to ``PHYSICIAN``."""
    idp = SamlTestIdp(tmp / "idp")
    key, cert = saml_idp.key_pair(tmp, "sp")
    settings = make_settings(
        tmp,
        login_methods=("dev", "digid"),
        digid={"idp_metadata": idp.metadata_file, "sp_key": key, "sp_cert": cert},
    )
    rp, _, _ = seed_deployment(settings)
    app = create_app(settings)
    metadata = TestClient(app, base_url=ISSUER).get("/authn/digid/metadata")
    assert metadata.status_code == 200
    assert metadata.headers["content-type"].startswith("application/samlmetadata+xml")
    idp.trust_sp(metadata.text)
    site = DigidSite(settings, app, rp, idp)
    engine = create_engine(settings.database_url)
    bind_identity(engine, PHYSICIAN, "digid", site.subject_hash(BOUND_BSN), actor="test")
    engine.dispose()
    return site


def authorize(client: TestClient, rp: RelyingParty, **extra: str) -> tuple[str, str]:
    """``/authorize`` → the transaction's path and the PKCE verifier."""
    verifier, challenge = pkce_pair()
    params = rp.authorize_params(code_challenge=challenge, **extra)
    response = client.get(f"/authorize?{urlencode(params)}")
    assert response.status_code == 303, response.text
    return response.headers["location"], verifier


def to_idp(client: TestClient, tx_path: str) -> str:
    """Choose DigiD: our signed AuthnRequest, as the redirect to the IdP."""
    response = client.get(f"{tx_path}/digid")
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(saml_idp.IDP_SSO_URL + "?SAMLRequest=")
    return location


def log_in_at_idp(site: DigidSite, url: str, bsn: str) -> Form:
    """The person logs in at the IdP (its ASGI app); returns its auto-posting form."""
    idp_browser = TestClient(site.idp.app(), base_url=IDP_ENTITY_ID.removesuffix("/saml/idp"))
    page = idp_browser.get(url.removeprefix(IDP_ENTITY_ID.removesuffix("/saml/idp")))
    assert page.status_code == 200, page.text
    login_form = parse_forms(page.text)[0]
    posted = idp_browser.post(
        login_form.action.removeprefix(IDP_ENTITY_ID.removesuffix("/saml/idp")),
        data={**login_form.fields, "bsn": bsn},
    )
    (form,) = parse_forms(posted.text)
    assert form.action == f"{ISSUER}/authn/digid/acs"
    return form


def post_to_acs(site: DigidSite, fields: dict[str, str]) -> httpx.Response:
    """The cross-site POST: no cookies (SameSite=Lax), the IdP's Origin."""
    cross_site = TestClient(site.app, base_url=ISSUER, follow_redirects=False)
    return cross_site.post(
        "/authn/digid/acs", data=fields, headers={"Origin": "https://digid.idp.test"}
    )


def back_from_idp(site: DigidSite, client: TestClient, fields: dict[str, str]) -> httpx.Response:
    relayed = post_to_acs(site, fields)
    assert relayed.status_code == 303, relayed.text
    location = relayed.headers["location"]
    assert location.startswith("/login/") and "/digid/return?ticket=" in location
    return client.get(location)


def continue_forms(client: TestClient, response: httpx.Response) -> httpx.Response:
    """Follow local redirects and approve forms until the OP redirects to the client."""
    for _ in range(8):
        if response.status_code in (302, 303):
            location = response.headers["location"]
            if not location.startswith("/"):
                return response
            response = client.get(location)
            continue
        forms = [f for f in parse_forms(response.text) if f.method == "post"]
        if not forms:
            return response
        form = forms[0]
        data = dict(form.fields)
        for name, values in form.radios.items():
            data[name] = values[0]
        name, value = form.submits[0]
        data[name] = value
        response = client.post(form.action, data=data)
    raise AssertionError("too many steps")


def digid_login(
    site: DigidSite, client: TestClient, bsn: str, **extra: str
) -> tuple[httpx.Response, str]:
    tx_path, verifier = authorize(client, site.rp, **extra)
    form = log_in_at_idp(site, to_idp(client, tx_path), bsn)
    return back_from_idp(site, client, form.fields), verifier


def tokens(client: TestClient, rp: RelyingParty, final: httpx.Response, verifier: str) -> Any:
    assert final.status_code == 303, final.text
    assert final.headers["location"].startswith(rp.redirect_uri)
    code = query_of(final.headers["location"])["code"]
    response = client.post("/token", data=rp.token_form(code, verifier))
    assert response.status_code == 200, response.text
    body = response.json()
    claims = verify_jwt(body["id_token"], client.get("/jwks.json").json())
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200, info.text
    return claims, info.json()


def has_session(site: DigidSite, client: TestClient) -> bool:
    """Whether this browser has an OP session: a silent authorize succeeds only then."""
    _, challenge = pkce_pair()
    params = site.rp.authorize_params(code_challenge=challenge, prompt="none")
    response = client.get(f"/authorize?{urlencode(params)}")
    return "code" in query_of(response.headers.get("location", ""))
