"""Discovery metadata: OIDC Discovery §3 and RFC 8414 §2, advertising only what is implemented.

NL GOV OIDC lists the required fields; RFC 9207 adds
``authorization_response_iss_parameter_supported``. The document is validated with authlib's
metadata classes in the tests.
"""

from __future__ import annotations

from typing import Any

from idp.protocol.authorization import SUPPORTED_SCOPES
from idp.protocol.config import (
    AUTHORIZE_PATH,
    END_SESSION_PATH,
    JWKS_PATH,
    TOKEN_PATH,
    USERINFO_PATH,
    ProviderConfig,
)
from idp.protocol.jose import CLIENT_ASSERTION_ALGS, JWE_ENC_ALGS, JWE_KEY_ALGS, SIGNING_ALGS
from idp.protocol.models import LOA_ORDER
from idp.protocol.tokens import IDENTITY_CLAIMS


def oauth_metadata(config: ProviderConfig) -> dict[str, Any]:
    """RFC 8414 §2 authorization server metadata."""
    return {
        "issuer": config.issuer,
        "authorization_endpoint": config.url(AUTHORIZE_PATH),
        "token_endpoint": config.url(TOKEN_PATH),
        "jwks_uri": config.url(JWKS_PATH),
        "scopes_supported": list(SUPPORTED_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": list(CLIENT_ASSERTION_ALGS),
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
    }


def openid_configuration(config: ProviderConfig) -> dict[str, Any]:
    """OIDC Discovery §3 provider metadata (superset of the RFC 8414 document)."""
    metadata = oauth_metadata(config)
    metadata.update(
        {
            "userinfo_endpoint": config.url(USERINFO_PATH),
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": list(SIGNING_ALGS),
            "userinfo_signing_alg_values_supported": list(SIGNING_ALGS),
            # The Dezi JWE (v0.7 §2.5) for clients that registered an encryption key.
            "userinfo_encryption_alg_values_supported": list(JWE_KEY_ALGS),
            "userinfo_encryption_enc_values_supported": list(JWE_ENC_ALGS),
            "request_object_signing_alg_values_supported": list(CLIENT_ASSERTION_ALGS),
            "acr_values_supported": list(LOA_ORDER),
            "claims_supported": [
                "iss",
                "sub",
                "aud",
                "exp",
                "iat",
                "nbf",
                "jti",
                "auth_time",
                "nonce",
                "acr",
                "at_hash",
                "azp",
                *IDENTITY_CLAIMS,
            ],
            "claims_parameter_supported": True,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "prompt_values_supported": ["none", "login", "consent", "select_account"],
            "claim_types_supported": ["normal"],
            "end_session_endpoint": config.url(END_SESSION_PATH),
            "frontchannel_logout_supported": False,
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
        }
    )
    return metadata
