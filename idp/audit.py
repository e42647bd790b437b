"""Structured, redacted logging (STYLE.md principle 10; ASVS 16.2.5; checklist L3).

This module owns the list of what never reaches a log in clear: authorization codes, tokens,
client assertions, PKCE verifiers, cookies, the BSN. Redaction works on keys (anything named like
a secret) and on values (anything shaped like a JWT or a BSN), so a secret inside a free-text
message is caught too.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog

SECRET_KEYS = frozenset(
    {
        "code",
        "code_verifier",
        "client_assertion",
        "client_secret",
        "access_token",
        "id_token",
        "refresh_token",
        "token",
        "id_token_hint",
        "logout_token",
        "authorization",
        "cookie",
        "set-cookie",
        "password",
        "bsn",
        "state",
        "nonce",
        "request",
        "assertion",
        "samlresponse",
    }
)
REDACTED = "[redacted]"
_JWT_RE = re.compile(
    r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*){0,2}"
)
_LONG_TOKEN_RE = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43,}(?![A-Za-z0-9_-])")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u001b]")


def redact_text(value: str) -> str:
    """Mask JWTs and long random tokens; escape control characters (log injection, K7).

    Nine-digit numbers are left alone here because Dezi numbers are nine digits and must stay
    visible in audit records; BSNs are caught by key (``bsn``) instead.
    """
    value = _JWT_RE.sub("[jwt]", value)
    value = _LONG_TOKEN_RE.sub("[token]", value)
    return _CONTROL_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", value)


def redact(value: Any, key: str | None = None) -> Any:
    if key is not None and key.lower() in SECRET_KEYS:
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def _redact_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    return {k: redact(v, k) if k != "event" else redact_text(str(v)) for k, v in event_dict.items()}


_PROCESSORS: list[Any] = []


def _configure_structlog(level: str) -> None:
    if not _PROCESSORS:
        _PROCESSORS.extend(
            [
                structlog.contextvars.merge_contextvars,
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                _redact_processor,
                structlog.processors.JSONRenderer(ensure_ascii=True),
            ]
        )
    structlog.configure(
        processors=_PROCESSORS,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        # Through stdlib logging, so uvicorn's and our lines share one stream and handlers.
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )


def configure_logging(level: str = "info") -> None:
    """JSON lines on stderr, with redaction as the last processor before rendering.

    structlog is configured once per process, with its loggers cached on first use: building a
    bound logger at every call cost more than the line itself on the hot path. The processor
    list stays the same object ever after (``structlog.testing.capture_logs`` swaps its contents
    in place, so cached loggers follow it); the level is applied again by the stdlib root
    logger, which every line passes through."""
    root = logging.getLogger()
    if not any(getattr(h, "_zorg", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._zorg = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level.upper())
    # The logging HOWTO's "Optimization": our lines carry their own fields, so the stdlib need
    # not find the caller's frame, thread or process for each record.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    _configure_structlog(level)


_ACCESS = logging.getLogger("idp.http")


def access_log(method: str, path: str, status: int, ms: float, request_id: str) -> None:
    """The one line per HTTP request (``idp.web.edge``), written without structlog's processor
    chain: it is the most frequent line by far and none of its fields can hold a secret (``path``
    is the route template, never the URL). The same JSON shape as every other line."""
    if not _ACCESS.isEnabledFor(logging.INFO):
        return
    line = {
        "method": redact_text(method),
        "path": path,
        "status": status,
        "ms": ms,
        "request_id": request_id,
        "event": "request",
        "level": "info",
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }
    _ACCESS.info(orjson.dumps(line).decode())


def get_logger(name: str = "idp") -> Any:
    return structlog.get_logger(name)


# Before any logger is first used (and cached), so every logger renders through _PROCESSORS.
_configure_structlog("info")


__all__ = [
    "REDACTED",
    "SECRET_KEYS",
    "access_log",
    "configure_logging",
    "get_logger",
    "redact",
    "redact_text",
]
