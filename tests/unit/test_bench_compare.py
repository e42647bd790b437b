"""Smoke test for the benchmark helpers (bench/compare.py, loadclient.py, procstat.py,
serve_scale.py): they import, and their pure parts do what the numbers rely on.

No server, no peer, no load: /proc parsing, ratio and table formatting, form filling, the
RSS growth fit."""

from __future__ import annotations

import os
from collections import Counter

from bench.compare import ROWS, format_table, ratio_text
from bench.loadclient import Client, Measured, Outcome, fill_form
from bench.procstat import parse_proc_stat, process_tree, tree_cpu_seconds
from bench.serve_scale import slope_per_10k
from tests.support import parse_forms

# A command name with a space and a ')' in it: the parser must split at the last ')'.
PROC_STAT = (
    "4242 (node ) srv) S 4200 4242 4200 0 -1 4194560 1234 0 0 0 "
    "250 75 3 1 20 0 11 0 98765 812345678 20480 18446744073709551615 "
    "1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0"
)

OURS_LOGIN = """
<form method="post" action="/login/tx123/dev">
  <input type="hidden" name="csrf_token" value="abc&amp;def">
  <input id="dezi_nummer" name="dezi_nummer" type="text" value="" required autofocus>
  <button type="submit" name="action" value="login" class="primary">Log in</button>
  <button type="submit" name="action" value="cancel" formnovalidate>Cancel</button>
</form>"""

PEER_LOGIN = """
<form autocomplete="off" action="/interaction/Xy9/login" method="post">
  <input required type="text" name="login" placeholder="Enter any login" autofocus="on">
  <input required type="password" name="password" placeholder="and password">
  <button type="submit" class="login login-submit">Sign-in</button>
</form>
<form method="get" action="/search"><input name="q"></form>"""


def test_proc_stat_parse_takes_ppid_cpu_ticks_and_rss() -> None:
    assert parse_proc_stat(PROC_STAT) == (4200, 325, 20480)


def test_own_process_is_accounted() -> None:
    assert os.getpid() in process_tree(os.getpid())
    assert tree_cpu_seconds(os.getpid()) > 0


def test_ratio_is_peer_over_ours() -> None:
    assert ratio_text(4.5, 3.0) == "1.50"
    assert ratio_text(2.0, 8.0) == "0.25"
    assert ratio_text(None, 3.0) == "n/a"
    assert ratio_text(3.0, 0.0) == "n/a"


def test_our_dev_login_form_is_filled_with_the_dezi_number_and_first_button() -> None:
    (form,) = parse_forms(OURS_LOGIN)
    assert (form.method, form.action) == ("post", "/login/tx123/dev")
    assert fill_form(form, "900000019") == {
        "csrf_token": "abc&def",
        "dezi_nummer": "900000019",
        "action": "login",
    }


def test_peer_login_form_gets_login_and_password() -> None:
    forms = parse_forms(PEER_LOGIN)
    assert [f.method for f in forms] == ["post", "get"]
    assert fill_form(forms[0], "bench") == {"login": "bench", "password": "bench"}


def test_radio_choice_takes_the_first_value() -> None:
    (form,) = parse_forms(
        '<form method="post" action="/x"><input type="radio" name="ura" value="1">'
        '<input type="radio" name="ura" value="2"><input type="submit" value="Go"></form>'
    )
    assert fill_form(form, "u") == {"ura": "1"}


def test_client_assertion_has_issuer_audience() -> None:
    from joserfc import jwt
    from joserfc.jwk import KeySet

    client = Client.generate("bench-a")
    token = jwt.decode(
        client.assertion("http://127.0.0.1:1"),
        KeySet.import_key_set(client.jwks()),
        algorithms=["PS256"],
    )
    assert token.claims["aud"] == "http://127.0.0.1:1"
    assert token.claims["iss"] == token.claims["sub"] == "bench-a"


def test_table_has_a_row_per_operation_and_the_ratio() -> None:
    def measured(ok: int, cpu: float) -> Measured:
        return Measured(Outcome(ok=ok, errors=Counter(), elapsed=2.0), cpu, 0.5)

    results = {row: {"ours": measured(100, 1.0), "peer": measured(100, 2.0)} for row in ROWS}
    lines = format_table(results)
    assert len(lines) == 2 + len(ROWS)
    assert "| full login flow | 10.00 | 20.00 | 2.00 | 100 (0) / 100 (0) |" in lines[2]


def test_growth_fit_in_mb_per_10k_flows() -> None:
    assert slope_per_10k([(0, 100.0), (10_000, 101.0), (20_000, 102.0)]) == 1.0
    assert slope_per_10k([(5, 100.0)]) == 0.0
