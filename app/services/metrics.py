"""Counters of one server process, written in Prometheus' text format (version 0.0.4).

Why not prometheus_client: the package is not among the project's dependencies, and what we
need is a few dictionaries of counters and one histogram, written out on request (a dozen
lines of text format). Each uvicorn worker keeps its own counters and answers /metrics with
them and its `pid` label; Prometheus adds the workers up (`sum by (route)`). Requests are
counted by route template (`/api/v1/submissions/{submission_id}`), never by raw path, so a
path full of ids or tokens neither leaks into the metrics nor grows them without bound.
"""

from __future__ import annotations

import bisect
import os
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

# Seconds: a survey's ingest takes a few ms, an export or a printed map seconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Routes that store what phones send, and what each answer status means for them.
INGEST_ROUTES = {
    ("POST", "/api/v1/submissions"): "survey",
    ("POST", "/api/v1/submissions/batch"): "batch",
    ("POST", "/api/v1/submissions/{submission_id}/attachments/{filename}"): "attachment",
}
INGEST_OUTCOMES = {201: "created", 200: "duplicate", 409: "conflict", 413: "too_large"}


def ingest_outcome(kind: str, status: int) -> str:
    """What an ingest answer means: created, duplicate (same survey sent again), conflict,
    refused (any other 4xx), error (5xx); a batch answers each survey in its body: stored."""
    if kind == "batch" and status == 200:
        return "answered"
    if status in INGEST_OUTCOMES:
        return INGEST_OUTCOMES[status]
    return "refused" if status < 500 else "error"


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    def escape(value: str) -> str:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    inner = ",".join(f'{name}="{escape(value)}"' for name, value in pairs)
    return "{" + inner + "}" if inner else ""


@dataclass
class Histogram:
    """Counts per upper bound (cumulated when written), their sum and count."""

    counts: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    total: float = 0.0
    count: int = 0

    def observe(self, seconds: float) -> None:
        """Count one duration."""
        index = bisect.bisect_left(BUCKETS, seconds)
        if index < len(BUCKETS):
            self.counts[index] += 1
        self.total += seconds
        self.count += 1


@dataclass(frozen=True)
class Gauge:
    """A value read when /metrics is asked (pool use, print queue)."""

    name: str
    help: str
    labels: tuple[tuple[str, str], ...]
    value: float


class Metrics:
    """This process's request counters, latency histograms and ingest outcomes."""

    def __init__(self) -> None:
        self.started = time.time()
        self.pid = str(os.getpid())
        self.requests: defaultdict[tuple[str, str, int], int] = defaultdict(int)
        self.latency: defaultdict[str, Histogram] = defaultdict(Histogram)
        self.ingest: defaultdict[tuple[str, str], int] = defaultdict(int)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        method = method if method in METHODS else "OTHER"
        self.requests[(method, route, status)] += 1
        self.latency[route].observe(seconds)
        kind = INGEST_ROUTES.get((method, route))
        if kind is not None:
            self.ingest[(kind, ingest_outcome(kind, status))] += 1

    def render(self, gauges: Iterable[Gauge] = ()) -> str:
        """Everything, in Prometheus' text exposition format."""
        pid = ("pid", str(os.getpid()))
        lines = [
            "# HELP cdfmap_http_requests_total Requests answered, by route template and status.",
            "# TYPE cdfmap_http_requests_total counter",
        ]
        for (method, route, status), count in sorted(self.requests.items()):
            labels = _labels([pid, ("method", method), ("route", route), ("status", str(status))])
            lines.append(f"cdfmap_http_requests_total{labels} {count}")
        name = "cdfmap_http_request_duration_seconds"
        lines += [
            f"# HELP {name} Time from a request's arrival to the end of its answer.",
            f"# TYPE {name} histogram",
        ]
        for route, histogram in sorted(self.latency.items()):
            cumulated = 0
            for bound, count in zip(BUCKETS, histogram.counts, strict=True):
                cumulated += count
                labels = _labels([pid, ("route", route), ("le", repr(bound))])
                lines.append(f"{name}_bucket{labels} {cumulated}")
            labels = _labels([pid, ("route", route), ("le", "+Inf")])
            lines.append(f"{name}_bucket{labels} {histogram.count}")
            labels = _labels([pid, ("route", route)])
            lines.append(f"{name}_sum{labels} {histogram.total:.6f}")
            lines.append(f"{name}_count{labels} {histogram.count}")
        lines += [
            "# HELP cdfmap_ingest_total What phones sent, by kind (survey, batch, attachment) "
            "and outcome (created, duplicate, conflict, refused, error).",
            "# TYPE cdfmap_ingest_total counter",
        ]
        for (kind, outcome), count in sorted(self.ingest.items()):
            labels = _labels([pid, ("kind", kind), ("outcome", outcome)])
            lines.append(f"cdfmap_ingest_total{labels} {count}")
        lines += [
            "# HELP cdfmap_process_start_time_seconds When this server process started.",
            "# TYPE cdfmap_process_start_time_seconds gauge",
            f"cdfmap_process_start_time_seconds{_labels([pid])} {self.started:.3f}",
        ]
        described: set[str] = set()
        for gauge in gauges:
            if gauge.name not in described:
                described.add(gauge.name)
                lines.append(f"# HELP {gauge.name} {gauge.help}")
                lines.append(f"# TYPE {gauge.name} gauge")
            lines.append(f"{gauge.name}{_labels([pid, *gauge.labels])} {gauge.value:g}")
        return "\n".join(lines) + "\n"
