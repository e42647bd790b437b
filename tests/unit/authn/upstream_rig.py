"""A test rig for the upstream OIDC login method: the method wired to an OP in memory
(``upstream_fakes.FakeOp``), a register with identity bindings and the in-process state store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from idp.authn.base import LoginContext, RedirectStep
from idp.authn.oidc_rp import UpstreamDirectory
from idp.authn.oidc_upstream import OidcUpstreamLogin
from idp.authn.upstream_key import public_jwks
from idp.errors import LoginFailed
from idp.settings_upstream import UpstreamProvider
from idp.state import MemoryStateStore
from registry.identifiers import keyed_subject_hash
from tests.unit.authn.upstream_fakes import CLIENT_ID, CLIENT_KEY, ISSUER, FakeOp
from tests.unit.protocol.fakes import FakeDeclaration, FakeRegister

OUR_ISSUER = "https://idp.test"
SUBJECT_KEY = b"k" * 32
TX = "tx-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
PHYSICIAN = "900000019"
BSN = "999993653"  # passes the elfproef


@dataclass
class BindingRegister(FakeRegister):
    bound: dict[tuple[str, str], str] = field(default_factory=dict)

    def professional_for_binding(self, method: str, subject_hash: str) -> FakeDeclaration | None:
        number = self.bound.get((method, subject_hash))
        return None if number is None else self.find_professional(number)


@dataclass
class Rig:
    method: OidcUpstreamLogin
    op: FakeOp
    register: BindingRegister
    store: MemoryStateStore

    def start(self, tx: str = TX) -> str:
        step = self.method.begin(LoginContext(tx, "EPD", None))
        assert isinstance(step, RedirectStep)
        return step.url

    def finish(self, params: dict[str, str], tx: str = TX) -> Any:
        return self.method.complete(LoginContext(tx, "", None), params)

    def login(self, **authorize: Any) -> Any:
        return self.finish(self.op.authorize(self.start(), **authorize))

    def refusal(self, params: dict[str, str] | None = None, tx: str = TX) -> str:
        with pytest.raises(LoginFailed) as caught:
            self.finish(params if params is not None else self.op.authorize(self.start()), tx)
        return caught.value.description

    def bind(self, subject_hash: str, dezi_nummer: str = PHYSICIAN) -> None:
        self.register.bound[(self.method.provider.binding_method, subject_hash)] = dezi_nummer


def provider(**overrides: Any) -> UpstreamProvider:
    values: dict[str, Any] = {
        "name": "broker",
        "label": "Test Broker",
        "issuer": ISSUER,
        "client_id": CLIENT_ID,
        "private_key_file": "/unused",
        "acr": "substantial",
    }
    values.update(overrides)
    return UpstreamProvider(**values)


def make_rig(**overrides: Any) -> Rig:
    key = CLIENT_KEY
    op = FakeOp(client_key=public_jwks(key)["keys"][0])
    register = BindingRegister({"d": FakeDeclaration(dezi_nummer=PHYSICIAN)})
    store = MemoryStateStore()
    settings = provider(**overrides)
    method = OidcUpstreamLogin(
        provider=settings,
        our_issuer=OUR_ISSUER,
        directory=UpstreamDirectory(settings.issuer, op),
        fetcher=op,
        store=store,
        register=register,
        bindings=register,
        linker=lambda number, method, subject_hash, _actor: register.bound.__setitem__(
            (method, subject_hash), number
        ),
        subject_key=SUBJECT_KEY,
        key=key,
        ttl=600,
    )
    return Rig(method, op, register, store)


def sub_hash(subject: str = "upstream-subject-1") -> str:
    return keyed_subject_hash(SUBJECT_KEY, "oidc", f"{ISSUER} {subject}")
