"""Counters of the server's processes, written in Prometheus' text format (version 0.0.4).

Why not prometheus_client: the package is not among the project's dependencies, and what we
need is a few dictionaries of counters and one histogram, written out on request (a dozen
lines of text format). Requests are counted by route template
(`/api/v1/submissions/{submission_id}`), never by raw path, so a path full of ids or tokens
neither leaks into the metrics nor grows them without bound.

Several uvicorn workers answer on one port, and a scrape reaches one of them at random; with
`shared_dir` (METRICS_DIR) each worker writes its counters there within a second of a
change (`{pid}.json`, replaced atomically), and the one asked sums those of the workers
alive. Without it (one process, the tests) each answers with its own. Gauges (pool use,
print queue) are the answering process's, labelled with its pid.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import logging
import os
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
FLUSH_SECONDS = 1.0

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


@dataclass
class Counts:
    """Request counters, latency histograms and ingest outcomes (of one process, or summed)."""

    requests: defaultdict[tuple[str, str, int], int] = field(
        default_factory=lambda: defaultdict(int)
    )
    latency: defaultdict[str, Histogram] = field(default_factory=lambda: defaultdict(Histogram))
    ingest: defaultdict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    # Reads that could have gone to the read replica and went to the primary (it was down).
    replica_fallbacks: int = 0

    def to_json(self) -> dict[str, Any]:
        """What a worker writes for the others."""
        return {
            "requests": [[*key, count] for key, count in self.requests.items()],
            "latency": {r: [h.counts, h.total, h.count] for r, h in self.latency.items()},
            "ingest": [[*key, count] for key, count in self.ingest.items()],
            "replica_fallbacks": self.replica_fallbacks,
        }

    def add(self, body: dict[str, Any]) -> None:
        """Add another worker's counts (as written by to_json)."""
        for method, route, status, count in body["requests"]:
            self.requests[(method, route, int(status))] += int(count)
        for route, (counts, total, count) in body["latency"].items():
            histogram = self.latency[route]
            histogram.counts = [a + int(b) for a, b in zip(histogram.counts, counts, strict=True)]
            histogram.total += float(total)
            histogram.count += int(count)
        for kind, outcome, count in body["ingest"]:
            self.ingest[(kind, outcome)] += int(count)
        self.replica_fallbacks += int(body.get("replica_fallbacks", 0))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


class Metrics(Counts):
    """This process's counters; with `shared_dir`, shared with the other workers."""

    def __init__(self, shared_dir: Path | None = None) -> None:
        super().__init__()
        self.started = time.time()
        self.shared_dir = shared_dir
        self._flush_pending = False

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        method = method if method in METHODS else "OTHER"
        self.requests[(method, route, status)] += 1
        self.latency[route].observe(seconds)
        kind = INGEST_ROUTES.get((method, route))
        if kind is not None:
            self.ingest[(kind, ingest_outcome(kind, status))] += 1
        self._changed()

    def count_replica_fallback(self) -> None:
        """Count one read sent to the primary because the read replica did not answer."""
        self.replica_fallbacks += 1
        self._changed()

    def _changed(self) -> None:
        if self.shared_dir is not None and not self._flush_pending:
            self._flush_pending = True  # one small file write per second at most
            asyncio.get_running_loop().call_later(FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        """Write this worker's counts for the others (atomically replaced)."""
        self._flush_pending = False
        if self.shared_dir is None:
            return
        try:
            self.shared_dir.mkdir(parents=True, exist_ok=True)
            path = self.shared_dir / f"{os.getpid()}.json"
            partial = path.with_suffix(".part")
            partial.write_text(json.dumps(self.to_json()))
            os.replace(partial, path)
        except OSError as exc:
            log.warning("metrics: cannot write to %s: %r", self.shared_dir, exc)

    def totals(self) -> tuple[Counts, int]:
        """The counts of every live worker summed (this one's as of now), and how many."""
        if self.shared_dir is None:
            return self, 1
        self.flush()
        summed, workers = Counts(), 0
        for path in sorted(self.shared_dir.glob("*.json")):
            if not path.stem.isdigit() or not _alive(int(path.stem)):
                path.unlink(missing_ok=True)  # a worker that is gone (its counts with it)
                continue
            try:
                summed.add(json.loads(path.read_text()))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("metrics: skipped %s: %r", path.name, exc)
                continue
            workers += 1
        return summed, workers

    def render(self, gauges: Iterable[Gauge] = ()) -> str:
        """Everything, in Prometheus' text exposition format."""
        counts, workers = self.totals()
        return _render(counts, self.started, workers, gauges)


def _render(counts: Counts, started: float, workers: int, gauges: Iterable[Gauge]) -> str:
    """Counters summed over the workers; gauges of the answering process (`pid` label)."""
    pid = ("pid", str(os.getpid()))
    lines = [
        "# HELP cdfmap_http_requests_total Requests answered, by route template and status.",
        "# TYPE cdfmap_http_requests_total counter",
    ]
    for (method, route, status), count in sorted(counts.requests.items()):
        labels = _labels([("method", method), ("route", route), ("status", str(status))])
        lines.append(f"cdfmap_http_requests_total{labels} {count}")
    name = "cdfmap_http_request_duration_seconds"
    lines += [
        f"# HELP {name} Time from a request's arrival to the end of its answer.",
        f"# TYPE {name} histogram",
    ]
    for route, histogram in sorted(counts.latency.items()):
        cumulated = 0
        for bound, count in zip(BUCKETS, histogram.counts, strict=True):
            cumulated += count
            lines.append(
                f"{name}_bucket{_labels([('route', route), ('le', repr(bound))])} {cumulated}"
            )
        lines.append(
            f"{name}_bucket{_labels([('route', route), ('le', '+Inf')])} {histogram.count}"
        )
        lines.append(f"{name}_sum{_labels([('route', route)])} {histogram.total:.6f}")
        lines.append(f"{name}_count{_labels([('route', route)])} {histogram.count}")
    lines += [
        "# HELP cdfmap_ingest_total What phones sent, by kind (survey, batch, attachment) "
        "and outcome (created, duplicate, conflict, refused, error).",
        "# TYPE cdfmap_ingest_total counter",
    ]
    for (kind, outcome), count in sorted(counts.ingest.items()):
        lines.append(
            f"cdfmap_ingest_total{_labels([('kind', kind), ('outcome', outcome)])} {count}"
        )
    lines += [
        "# HELP cdfmap_replica_fallbacks_total Reads that may lag sent to the primary because "
        "the read replica did not answer.",
        "# TYPE cdfmap_replica_fallbacks_total counter",
        f"cdfmap_replica_fallbacks_total {counts.replica_fallbacks}",
        "# HELP cdfmap_workers Server processes whose counters are summed above.",
        "# TYPE cdfmap_workers gauge",
        f"cdfmap_workers {workers}",
        "# HELP cdfmap_process_start_time_seconds When the answering process started.",
        "# TYPE cdfmap_process_start_time_seconds gauge",
        f"cdfmap_process_start_time_seconds{_labels([pid])} {started:.3f}",
    ]
    described: set[str] = set()
    for gauge in gauges:
        if gauge.name not in described:
            described.add(gauge.name)
            lines.append(f"# HELP {gauge.name} {gauge.help}")
            lines.append(f"# TYPE {gauge.name} gauge")
        lines.append(f"{gauge.name}{_labels([pid, *gauge.labels])} {gauge.value:g}")
    return "\n".join(lines) + "\n"
