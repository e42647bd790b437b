"""What the web adapter works with, built once by ``idp.app.create_app``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from jinja2 import Environment

from idp.authn.base import LoginMethod
from idp.journey import Journey
from idp.protocol.authorization_code import AuthorizationCodeGrant
from idp.protocol.config import ProviderConfig
from idp.protocol.logout import LogoutService
from idp.protocol.ports import ClientStore, ConsentStore, Register, Signer, StateStore
from idp.protocol.revocation import RevocationService
from idp.protocol.throttle import Throttle
from idp.protocol.token_endpoint import TokenEndpoint
from idp.protocol.userinfo import UserInfoEndpoint
from idp.protocol.verklaring import VerklaringIssuer
from idp.settings import Settings
from idp.web.backchannel import BackchannelSender
from idp.web.metrics import Metrics

if TYPE_CHECKING:
    from idp.app import Core


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    config: ProviderConfig
    state: StateStore
    clients: ClientStore
    register: Register
    signer: Signer
    code_grant: AuthorizationCodeGrant
    token_endpoint: TokenEndpoint  # POST /token: grant_type → code grant or client credentials
    userinfo: UserInfoEndpoint
    login_methods: dict[str, LoginMethod]
    templates: Environment
    cookie_secret: bytes
    metrics: Metrics
    consents: ConsentStore
    logout: LogoutService
    backchannel: BackchannelSender
    verklaring: VerklaringIssuer  # the eSeal role (Dezi v0.7 §2.6)
    revocation: RevocationService  # status and signed list (Dezi v0.7 §6)
    throttle: Throttle  # rate limits and lockouts (checklist J7)
    journey: Journey  # the login state machine over the ports (idp.journey)
    core: Core  # what the CLI shares with the app (idp.app.build_core)
