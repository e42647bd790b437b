"""Prometheus metrics, one registry per app (several apps can live in one test process)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.requests = Counter(
            "zorg_http_requests_total",
            "HTTP requests by route and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "zorg_http_request_seconds", "Request latency", ["route"], registry=self.registry
        )
        self.logins = Counter(
            "zorg_logins_total",
            "Completed logins by method and outcome",
            ["method", "outcome"],
            registry=self.registry,
        )
        self.tokens = Counter(
            "zorg_tokens_issued_total",
            "Token responses by outcome",
            ["outcome"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
