"""Upstream OIDC over real HTTP on loopback: this product logs care workers in through another OP.

- OP **A** (127.0.0.1): ``zorg-idp demo`` with three upstream login methods in its settings,
  and its dev login (level high in tests) for the first-time link.
- OP **B** (localhost): a second, independent ``zorg-idp demo`` with its own data and the dev
  login method; A is registered there as a ``private_key_jwt`` client with ``zorg-idp client add``.
- A fake OP (127.0.0.3) whose ID tokens a test spoils (``tests.unit.authn.upstream_fakes``).

The journey: a relying party authorizes at A → A's chooser → the upstream method → B's dev login
→ back to A's fixed return URI → A's code → tokens at A naming the right person, at the level
that was proved and declared, never more. Bad input ends on a clear error page, with a log line
at A, and without a session at A.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin

import httpx
import pytest

from idp.authn.upstream_key import public_jwks
from idp.clients import ClientRegistration, register_client
from idp.protocol.pkce import s256_challenge
from idp.settings import Settings
from tests.interop.live import LiveServer
from tests.interop.upstream_servers import (
    DemoSpec,
    free_port,
    log_events,
    run_zorg_demos,
    serve_fake_op,
)
from tests.support import CARER, PHYSICIAN, RelyingParty, parse_forms, query_of, verify_jwt
from tests.unit.authn.upstream_fakes import CLIENT_ID as FAKE_CLIENT_ID
from tests.unit.authn.upstream_fakes import CLIENT_KEY, FakeOp

pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]

HIGH = "http://eidas.europa.eu/LoA/high"
SUBSTANTIAL = "http://eidas.europa.eu/LoA/substantial"
FAKE_HOST = "127.0.0.3"


@dataclass(frozen=True)
class Setup:
    a: LiveServer
    b: LiveServer
    fake: FakeOp
    rp: RelyingParty


def a_settings(key_file: Path, b_issuer: str, fake_issuer: str) -> str:
    def provider(name: str, label: str, issuer: str, client_id: str, acr: str, claim: str) -> str:
        return (
            f'[[upstream_providers]]\nname = "{name}"\nlabel = "{label}"\nissuer = "{issuer}"\n'
            f'client_id = "{client_id}"\nprivate_key_file = "{key_file}"\nacr = "{acr}"\n'
            f"claim = {claim}\n\n"
        )

    return (
        'login_methods = ["dev", "broker", "broker-dezi", "faulty"]\n\n'
        + provider("broker", "DigiD via broker B", b_issuer, "idp-a", "substantial", "{}")
        + provider(
            "broker-dezi",
            "ZORG-ID via B",
            b_issuer,
            "idp-a-dezi",
            "high",
            '{ name = "dezi_nummer", maps_to = "dezi_nummer" }',
        )
        + provider(
            "faulty",
            "Faulty broker",
            fake_issuer,
            FAKE_CLIENT_ID,
            "substantial",
            '{ name = "sub", maps_to = "dezi_nummer" }',
        )
    )


def register(server: LiveServer, registration: ClientRegistration) -> None:
    """``idp.clients.register_client`` on the server's own database (effective at once)."""
    database = f"sqlite:///{server.workdir / 'var' / 'demo.db'}"
    register_client(
        Settings(environment="test", database_url=database, data_dir=server.workdir / "var"),
        registration,
    )


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    tmp = tmp_path_factory.mktemp("upstream-oidc")
    key_file = tmp / "upstream-key.pem"
    key_file.write_bytes(CLIENT_KEY.as_pem(private=True))
    key_file.chmod(0o600)
    client_jwks = public_jwks(CLIENT_KEY)
    fake_port = free_port(FAKE_HOST)
    fake = FakeOp(
        client_key=client_jwks["keys"][0],
        issuer=f"http://{FAKE_HOST}:{fake_port}",
        subject=PHYSICIAN,
    )
    b_spec = DemoSpec(tmp / "b", "localhost", free_port("localhost"))
    config = tmp / "a.toml"
    config.write_text(a_settings(key_file, b_spec.issuer, fake.issuer), encoding="utf-8")
    a_spec = DemoSpec(tmp / "a", "127.0.0.1", free_port("127.0.0.1"), {"IDP_CONFIG": str(config)})
    with serve_fake_op(fake, FAKE_HOST, fake_port), run_zorg_demos(a_spec, b_spec) as (a, b):
        # A at B, one client per method, each with its one fixed return URI: the first with
        # the public command (INTERFACES.md), the second straight into B's register.
        b.register_client("idp-a", f"{a.issuer}/upstream/broker/return", jwks=client_jwks)
        register(
            b,
            ClientRegistration(
                client_id="idp-a-dezi",
                redirect_uris=(f"{a.issuer}/upstream/broker-dezi/return",),
                jwks=client_jwks,
            ),
        )
        rp = RelyingParty.confidential("epd-at-a", a.issuer)
        register(
            a,
            ClientRegistration(
                client_id=rp.client_id, redirect_uris=(rp.redirect_uri,), jwks=rp.jwks()
            ),
        )
        yield Setup(a, b, fake, rp)


@pytest.fixture
def env(setup: Setup) -> Iterator[Setup]:
    setup.fake.spoil.clear()
    setup.fake.acr = HIGH
    yield setup
    setup.fake.spoil.clear()


# -- the browser -------------------------------------------------------------------------------


@dataclass
class Start:
    url: str
    verifier: str
    nonce: str


def start(setup: Setup, **params: str) -> Start:
    verifier = "v" * 20 + "-" + "x" * 30
    values = setup.rp.authorize_params(code_challenge=s256_challenge(verifier), **params)
    return Start(f"{setup.a.issuer}/authorize?{urlencode(values)}", verifier, values["nonce"])


def drive(
    browser: httpx.Client,
    url: str,
    *,
    stop: str,
    method: str | None = None,
    dezi_nummer: str = PHYSICIAN,
    max_steps: int = 20,
) -> httpx.Response:
    """Follow redirects and fill the forms of A and B (plain HTML forms, INTERFACES.md) until
    a redirect leaves for ``stop`` or a page has no form (an error page)."""
    response = browser.get(url)
    for _ in range(max_steps):
        here = str(response.request.url)
        if response.status_code in (302, 303):
            location = urljoin(here, response.headers["location"])
            if location.startswith(stop):
                return response
            response = browser.get(location)
            continue
        forms = [f for f in parse_forms(response.text) if f.method == "post"]
        if response.status_code != 200 or not forms:
            return response
        form = forms[0]
        data = dict(form.fields)
        if "dezi_nummer" in data:
            data["dezi_nummer"] = dezi_nummer
        for name, values in form.radios.items():
            data[name] = method if name == "method" and method in values else values[0]
        name, value = form.submits[0]  # the approving button is the first (INTERFACES.md)
        data[name] = value
        response = browser.post(urljoin(here, form.action), data=data)
    raise AssertionError("too many steps")


def tokens(setup: Setup, response: httpx.Response, begun: Start) -> dict[str, Any]:
    query = query_of(response.headers["location"])
    assert "error" not in query, query
    answer = httpx.post(
        f"{setup.a.issuer}/token", data=setup.rp.token_form(query["code"], begun.verifier)
    )
    assert answer.status_code == 200, answer.text
    jwks = httpx.get(f"{setup.a.issuer}/jwks.json").json()
    claims = verify_jwt(answer.json()["id_token"], jwks)
    assert claims["iss"] == setup.a.issuer and claims["nonce"] == begun.nonce
    return claims


def has_no_session_at_a(setup: Setup, browser: httpx.Client) -> bool:
    """No A session cookie, and A answers ``prompt=none`` with ``login_required``."""
    if any(
        c.name == "zorg_session" and c.domain.startswith("127.0.0.1") for c in browser.cookies.jar
    ):
        return False
    response = browser.get(start(setup, prompt="none").url)
    return query_of(response.headers["location"]).get("error") == "login_required"


# -- the journeys ------------------------------------------------------------------------------


def test_first_login_is_linked_then_logs_in(env: Setup) -> None:
    """No binding yet: without a session the page says how to get linked; with a session at
    level high (A's dev login stands in for the UZI-pas) A offers the link, and the login
    continues as this upstream login, at the level it proved."""
    with httpx.Client(timeout=20) as browser:
        page = drive(browser, start(env).url, stop=env.rp.redirect_uri, method="broker")
        assert page.status_code == 403
        assert "cannot be used here yet" in page.text and "link code: " in page.text
        assert has_no_session_at_a(env, browser)
        (not_linked,) = log_events(env.a, "upstream_login_not_linked")
        assert not_linked["provider"] == "broker"

        dev = drive(browser, start(env).url, stop=env.rp.redirect_uri, method="dev")
        assert query_of(dev.headers["location"]).get("code")  # a session at A, level high
        begun = start(env, prompt="login", claims=json.dumps({"id_token": {"dezi_nummer": None}}))
        done = drive(browser, begun.url, stop=env.rp.redirect_uri, method="broker")
        claims = tokens(env, done, begun)
    assert claims["dezi_nummer"] == PHYSICIAN
    # B proved high (its dev login); A declares this method substantial: A says substantial.
    assert claims["acr"] == SUBSTANTIAL
    assert log_events(env.a, "identity_linked")[-1]["method"] == "broker"

    # Linked: in a fresh browser the upstream login alone is enough.
    with httpx.Client(timeout=20) as browser:
        begun = start(env, claims=json.dumps({"id_token": {"dezi_nummer": None}}))
        done = drive(browser, begun.url, stop=env.rp.redirect_uri, method="broker")
        assert tokens(env, done, begun)["dezi_nummer"] == PHYSICIAN
    accepted = log_events(env.a, "upstream_login_accepted")[-1]
    assert accepted["upstream_acr"] == HIGH and accepted["dezi_nummer"] == PHYSICIAN


def test_a_dezi_nummer_claim_at_level_high(env: Setup) -> None:
    """acr_values=high leaves one method at A (declared high); B puts the Dezi number in its ID
    token because A asks for it with the claims parameter. The carer chooses an organisation
    at B (B's declaration) and again at A (A's own register decides)."""
    begun = start(env, acr_values=HIGH, claims=json.dumps({"id_token": {"dezi_nummer": None}}))
    with httpx.Client(timeout=20) as browser:
        done = drive(browser, begun.url, stop=env.rp.redirect_uri, dezi_nummer=CARER)
        claims = tokens(env, done, begun)
    assert claims["dezi_nummer"] == CARER and claims["acr"] == HIGH


def test_a_replayed_return_is_refused(env: Setup) -> None:
    env.fake.acr = SUBSTANTIAL
    with httpx.Client(timeout=20) as browser:
        done = drive(browser, start(env).url, stop=f"{env.a.issuer}/upstream/", method="faulty")
        return_url = urljoin(str(done.request.url), done.headers["location"])
        first = browser.get(return_url)
        assert first.status_code == 303
        assert first.headers["location"].startswith(env.rp.redirect_uri)
        again = browser.get(return_url)
        assert again.status_code == 400
        assert "expired or was already used" in again.text
    assert log_events(env.a, "upstream_login_refused")[-1]["reason"] == "state"
    with httpx.Client(timeout=20) as stranger:  # another browser: no binding cookie
        assert "Login expired" in stranger.get(return_url).text


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        ({"iss": "http://127.0.0.9:1"}, "iss"),
        ({"aud": "another-client"}, "aud"),
        ({"nonce": "not-the-nonce"}, "nonce"),
        ({"exp": 1_000_000_000, "iat": 999_999_000}, "expired"),
    ],
)
def test_a_spoiled_id_token_is_refused(env: Setup, spoil: dict[str, Any], reason: str) -> None:
    env.fake.spoil.update(spoil)
    with httpx.Client(timeout=20) as browser:
        page = drive(browser, start(env).url, stop=env.rp.redirect_uri, method="faulty")
        assert page.status_code == 400
        assert "The login with Faulty broker could not be completed" in page.text
        assert has_no_session_at_a(env, browser)
    refused = log_events(env.a, "upstream_login_refused")[-1]
    assert refused["reason"] == reason and refused["provider"] == "faulty"


def test_less_than_the_declared_level_is_refused(env: Setup) -> None:
    env.fake.acr = "http://eidas.europa.eu/LoA/low"
    with httpx.Client(timeout=20) as browser:
        page = drive(browser, start(env).url, stop=env.rp.redirect_uri, method="faulty")
        assert page.status_code == 400
        assert "lower level of assurance than this login method needs" in page.text
        assert has_no_session_at_a(env, browser)
    assert log_events(env.a, "upstream_login_refused")[-1]["reason"] == "acr"
