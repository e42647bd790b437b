"""Redaction is real code with tests (STYLE.md principle 10)."""

from __future__ import annotations

from idp.audit import REDACTED, redact, redact_text


def test_secret_keys_are_redacted_at_any_depth() -> None:
    event = {
        "code": "abc",
        "nested": {"access_token": "x", "Authorization": "Bearer y"},
        "bsn": "999991772",
    }
    assert redact(event) == {
        "code": REDACTED,
        "nested": {"access_token": REDACTED, "Authorization": REDACTED},
        "bsn": REDACTED,
    }


def test_jwts_and_long_tokens_in_free_text_are_masked() -> None:
    text = "got eyJhbGciOiJQUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln and " + "A" * 43
    assert redact_text(text) == "got [jwt] and [token]"


def test_dezi_numbers_stay_visible() -> None:
    assert redact_text("dezi 900000027") == "dezi 900000027"


def test_control_characters_cannot_forge_log_lines() -> None:
    assert redact_text('evil\r\n{"event": "x"}\u2028') == 'evil\\x0d\\x0a{"event": "x"}\\x2028'
