"""Test helpers: a relying party with its own key, and a scripted browser for the login forms.

The browser fills forms the way INTERFACES.md promises they can be filled: plain HTML forms, the
``dezi_nummer`` input, radio choices, the approving button first.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

CARER = "900000027"
PHYSICIAN = "900000019"
REVOKED_NURSE = "900000035"
REGISTRY_ADMIN = "900000043"
ORG_ADMIN = "900000051"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class RelyingParty:
    client_id: str
    redirect_uri: str
    issuer: str
    key: RSAKey | ECKey | None = None
    alg: str = "PS256"

    @classmethod
    def confidential(cls, client_id: str, issuer: str, alg: str = "PS256") -> RelyingParty:
        key: RSAKey | ECKey
        if alg == "ES256":
            key = ECKey.generate_key("P-256", private=True)
        else:
            key = RSAKey.generate_key(2048, private=True)
        key.ensure_kid()
        return cls(client_id, f"https://rp.example/{client_id}/cb", issuer, key, alg)

    def jwks(self) -> dict[str, Any]:
        assert self.key is not None
        return {"keys": [self.key.as_dict(private=False)]}

    def assertion(self, **overrides: Any) -> str:
        assert self.key is not None
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.issuer,
            "iat": now,
            "exp": now + 60,
            "jti": secrets.token_urlsafe(16),
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        header = {"alg": self.alg, "kid": self.key.kid}
        return jwt.encode(header, claims, self.key, algorithms=[self.alg])

    def token_form(self, code: str, verifier: str, **overrides: str) -> dict[str, str]:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": verifier,
        }
        if self.key is not None:
            form["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            form["client_assertion"] = self.assertion()
        else:
            form["client_id"] = self.client_id
        form.update(overrides)
        return form

    def authorize_params(self, **overrides: str | None) -> dict[str, str]:
        params: dict[str, str | None] = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": "openid",
            "state": secrets.token_urlsafe(16),
            "nonce": secrets.token_urlsafe(16),
            "code_challenge_method": "S256",
        }
        params.update(overrides)
        return {k: v for k, v in params.items() if v is not None}


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    radios: dict[str, list[str]] = field(default_factory=dict)
    submits: list[tuple[str, str]] = field(default_factory=list)


class FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get").lower()))
        elif tag == "input" and self.forms:
            form = self.forms[-1]
            kind = a.get("type", "text")
            if kind == "radio":
                form.radios.setdefault(a["name"], []).append(a.get("value", ""))
            elif kind == "submit":
                form.submits.append((a.get("name", ""), a.get("value", "")))
            else:
                form.fields[a.get("name", "")] = a.get("value", "")
        elif tag == "button" and self.forms and a.get("type", "submit") == "submit":
            self.forms[-1].submits.append((a.get("name", ""), a.get("value", "")))


def parse_forms(html: str) -> list[Form]:
    parser = FormParser()
    parser.feed(html)
    return parser.forms


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def login_through_forms(
    client: Any,
    authorize_url: str,
    dezi_nummer: str,
    *,
    choose: str | None = None,
    max_steps: int = 10,
) -> Any:
    """Drive the browser steps until a redirect leaves the OP; return that final response.

    ``client`` is an httpx-like client that does NOT follow redirects. ``choose`` picks the radio
    value whose label contains the text (first radio otherwise).
    """
    response = client.get(authorize_url)
    for _ in range(max_steps):
        if response.status_code in (302, 303):
            location = response.headers["location"]
            if location.startswith("/"):
                response = client.get(location)
                continue
            return response
        forms = [f for f in parse_forms(response.text) if f.method == "post"]
        if not forms:
            return response
        form = forms[0]
        data = dict(form.fields)
        if "dezi_nummer" in data:
            data["dezi_nummer"] = dezi_nummer
        for name, values in form.radios.items():
            picked = _radio_for_label(response.text, choose, values) if choose else None
            data[name] = picked or values[0]
        if form.submits:
            name, value = form.submits[0]  # the approving button is the first (INTERFACES.md)
            if name:
                data[name] = value
        response = client.post(form.action, data=data)
    raise AssertionError("too many steps")


def _radio_for_label(html: str, text: str, values: list[str]) -> str | None:
    """The radio whose label (the text right after the input) contains ``text``."""
    for value in values:
        idx = html.find(f'value="{value}"')
        end = html.find("</label>", idx)
        if idx >= 0 and text in html[idx:end]:
            return value
    return None


def verify_jwt(token: str, jwks: dict[str, Any]) -> dict[str, Any]:
    decoded = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["PS256", "RS256", "ES256"])
    return dict(decoded.claims)
