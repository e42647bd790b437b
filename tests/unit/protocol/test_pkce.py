"""RFC 7636 (PKCE), with the specification's own example as the fixture (STYLE.md #11)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from idp.protocol import pkce

# RFC 7636 Appendix B.
APPENDIX_B_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
APPENDIX_B_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_appendix_b_vector() -> None:
    assert pkce.s256_challenge(APPENDIX_B_VERIFIER) == APPENDIX_B_CHALLENGE
    assert pkce.verify(APPENDIX_B_VERIFIER, APPENDIX_B_CHALLENGE, "S256")


def test_plain_is_never_accepted() -> None:
    assert not pkce.verify(APPENDIX_B_VERIFIER, APPENDIX_B_VERIFIER, "plain")
    assert not pkce.verify(APPENDIX_B_VERIFIER, APPENDIX_B_CHALLENGE, "plain")


def test_verifier_length_bounds() -> None:
    short = "a" * 42
    assert not pkce.verify(short, pkce.s256_challenge(short), "S256")
    longest = "a" * 128
    assert pkce.verify(longest, pkce.s256_challenge(longest), "S256")
    too_long = "a" * 129
    assert not pkce.verify(too_long, pkce.s256_challenge(too_long), "S256")


def test_challenge_shape() -> None:
    assert pkce.valid_challenge(APPENDIX_B_CHALLENGE)
    assert not pkce.valid_challenge(APPENDIX_B_CHALLENGE + "=")
    assert not pkce.valid_challenge("short")


UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"


@given(st.text(alphabet=UNRESERVED, min_size=43, max_size=128))
def test_any_valid_verifier_round_trips(verifier: str) -> None:
    challenge = pkce.s256_challenge(verifier)
    assert pkce.valid_challenge(challenge)
    assert pkce.verify(verifier, challenge, "S256")


@given(st.text(min_size=43, max_size=128).filter(lambda s: any(c not in UNRESERVED for c in s)))
def test_verifiers_outside_the_alphabet_fail(verifier: str) -> None:
    assert not pkce.verify(verifier, APPENDIX_B_CHALLENGE, "S256")
