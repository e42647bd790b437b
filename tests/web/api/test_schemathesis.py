"""Property-based run of the whole API against its own OpenAPI document (schemathesis).

As a registry administrator (the widest view), every operation gets positive and negative
examples; the run passes with no 5xx, no response outside the documented statuses, media types,
headers and schemas, and no operation that ignores authentication (``ignored_auth``). Bounded by
``max-examples`` to stay well under a minute. The document is the one the API serves
(``test_openapi.py`` checks that they are the same).

Tuning, with reasons: ``positive_data_acceptance`` also accepts 412 and 422, because some rules
cannot be said in JSON Schema (a name without control characters, ``valid_until`` after
``valid_from``, a BIG role needs a BIG number) and a random ``If-Match`` never matches;
``missing_required_header`` accepts 428, the status RFC 6585 §3 gives a missing ``If-Match``.
A generated "valid" ``cursor`` is replaced by one the API could have handed out: a cursor is
opaque, so the schema cannot describe which strings are real ones (others are a 400).
"""

from __future__ import annotations

import schemathesis
from schemathesis.config import SchemathesisConfig

from registry.api import DEFAULT_BASE_PATH, document
from registry.api.inputs import next_cursor
from tests.web.api.conftest import ApiDeployment, bearer

MAX_EXAMPLES = 20

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20261129,
        # The token is added to every request below, so cases must not negate it themselves;
        # ``ignored_auth`` still probes every operation without it.
        "generation": {
            "max-examples": MAX_EXAMPLES,
            "database": "none",
            "with-security-parameters": False,
        },
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "401", "403", "404", "409", "412", "422"]
            },
            "missing_required_header": {
                "expected-statuses": ["400", "401", "403", "406", "415", "422", "428"]
            },
        },
    }
)
schema = schemathesis.openapi.from_dict(document(DEFAULT_BASE_PATH), config=CONFIG)


@schema.parametrize()
def test_api_conforms_to_its_openapi_document(
    case: schemathesis.Case, api: ApiDeployment, admin_token: str
) -> None:
    # The app exists only once the session fixture has built it; checks that send probes of
    # their own (``ignored_auth``) use the schema's app.
    case.operation.schema.app = api.app
    meta = case.meta
    if case.query and "cursor" in case.query and meta and meta.generation.mode.is_positive:
        case.query["cursor"] = next_cursor(str(case.query["cursor"]).encode().hex()[:64])
    case.call_and_validate(app=api.app, headers=bearer(admin_token))
