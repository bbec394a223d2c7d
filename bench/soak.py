"""Soak: a city's busy day in N minutes, with PostgreSQL restarted under it.

Two uvicorn workers (as deploy/cdfmap.service) on a sample city seeded by
`python -m app.cli load-sample`, and at once:
  volunteers' phones: JSON surveys with their own ids, alone or in batches, a third with a
    photo sent after it; batches of surveys already acknowledged sent again (they must come
    back `duplicate`) and photos sent again (200);
  ODK Collect: multipart XML with HTTP Digest on /odk/submission, some sent twice;
  ward leaders: their ward's map page, printed PDF, indicators and vector tiles;
  planners: the city's map page and points, indicators, and exports in every format;
  a monitor asking /healthz;
while PostgreSQL is restarted `--restarts` times at even intervals. Afterwards the phones
send what they still hold, and the database is compared with what was acknowledged: every
acknowledged survey stored exactly once with its answers unchanged, every acknowledged photo
stored with its checksum (row and file), no 5xx but the documented 503s (database out of
reach, deadlock, exports or prints busy, /healthz), no download cut off outside a restart.
Printed: one line per figure (counts per route and status, latency percentiles, the
invariants); exit status 1 when an invariant fails.

By default the run gets a PostgreSQL cluster of its own (`pg_createcluster 15 <cluster>` on a
free port, restarted with `pg_ctlcluster 15 <cluster> restart`, dropped at the end), so the
restarts disturb nobody else's database on the machine. Against a staging server instead:
  python -m bench.soak --database-url postgresql://cdfmap:...@staging-db/cdfmap_soak \\
      --restart-command 'ssh staging-db sudo systemctl restart postgresql'
(the database is created and seeded if missing; it is left in place afterwards).
Usage: python -m bench.soak [--quick] [--minutes N] [--restarts N] [--households N]
       [--database-url URL --restart-command CMD] [--cluster NAME] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import hashlib
import io
import os
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import create_engine, text

from app.geo import sample_city
from app.settings import with_driver
from bench.common import ROOT, bench_token, free_port, percentile, uvicorn_server

POSTGRES_VERSION = "15"
FORM_VERSION_OF = "household"
# The 503s the app documents, by the code of their body: nothing was done, send again later.
DOCUMENTED_503 = frozenset({"database_unavailable", "server_busy", "exports_busy", "prints_busy"})
# /healthz and /readyz answer 503 while the database is out of reach: that is their job.
HEALTH_ROUTES = frozenset({"GET /healthz", "GET /readyz"})
EXPORT_FORMATS = ("geojson", "csv", "xlsx", "gpkg", "kml", "shp.zip")
COUNTED_FORMATS = frozenset({"geojson", "csv", "kml"})  # the others: a whole file is enough
# After a restart the app may still meet a connection the restart ended (a pooled one taken
# before the database answered again): answers within this many seconds count as the
# restart's.
RESTART_GRACE_SECONDS = 5.0
JSON_HEADERS = {"Content-Type": "application/json"}


# --- what happened ----------------------------------------------------------------------


@dataclass
class Answer:
    """One request: its route, its status (or how the connection failed), when, how long."""

    route: str
    status: int | str  # an HTTP status, or "refused" / "cut" / "timeout"
    started: float
    seconds: float
    code: str = ""  # the error code of a 5xx body, or why the connection failed


@dataclass
class Record:
    """Everything the clients saw, and what the server acknowledged."""

    origin: float = field(default_factory=time.monotonic)
    # The phones' collector names start with it: a database kept from an earlier run (a
    # staging server's) holds other phones' surveys.
    run: str = field(default_factory=lambda: f"soak-{uuid.uuid4().hex[:8]}")
    answers: list[Answer] = field(default_factory=list)
    restarts: list[tuple[float, float]] = field(default_factory=list)  # (start, answering)
    restart_commands: list[str] = field(default_factory=list)
    worker_starts: list[tuple[float, int]] = field(default_factory=list)  # (when, pid)
    acknowledged: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> answers
    odk_acknowledged: dict[str, dict[str, Any]] = field(default_factory=dict)
    photos: dict[tuple[str, str], str] = field(default_factory=dict)  # (id, file) -> sha256
    made: set[str] = field(default_factory=set)  # every survey a phone made
    refused: set[str] = field(default_factory=set)  # refused for good (a 4xx), not kept
    resends: Counter[str] = field(default_factory=Counter)  # outcome of a known resend
    photo_resends: Counter[int] = field(default_factory=Counter)
    # Households in each complete export (approved surveys only: the phones' new surveys
    # wait for review, so every export of the run holds the same number).
    exported: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    approved: int = 0

    def now(self) -> float:
        return time.monotonic() - self.origin

    def in_restart(self, started: float, seconds: float) -> bool:
        """Whether a request overlapped a restart (until the database answered, + grace)."""
        return any(
            started <= end + RESTART_GRACE_SECONDS and started + seconds >= begin
            for begin, end in self.restarts
        )


async def call(
    record: Record,
    client: httpx.AsyncClient,
    route: str,
    method: str,
    url: str,
    **options: Any,
) -> httpx.Response | None:
    """Send one request and write down its answer; None when no answer came."""
    started = record.now()
    clock = time.perf_counter()
    response: httpx.Response | None = None
    code = ""
    try:
        response = await client.request(method, url, **options)
    except httpx.TimeoutException:
        status: int | str = "timeout"
    except httpx.ConnectError:
        status = "refused"
    except httpx.TransportError as exc:  # the connection closed before the whole answer
        status, code = "cut", str(exc)
    else:
        status = response.status_code
    if response is not None and response.status_code >= 500:
        with contextlib.suppress(ValueError, AttributeError):
            code = str(response.json().get("code", ""))
    record.answers.append(Answer(route, status, started, time.perf_counter() - clock, code))
    return response


# A client keeps an idle connection for less than uvicorn's 5 s keep-alive: a request sent on
# a connection just as the server closes it fails with no answer (both default to 5 s).
KEEP_ALIVE = httpx.Limits(keepalive_expiry=2.0)


def http(base: str, timeout: float, token: str | None = None, **options: Any) -> httpx.AsyncClient:
    """A client of one person (their token, if any)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(
        base_url=base, timeout=timeout, headers=headers, limits=KEEP_ALIVE, **options
    )


def retry_pause(response: httpx.Response | None) -> float:
    """How long a phone waits before sending again (Retry-After, shortened for the soak)."""
    if response is not None and "retry-after" in response.headers:
        with contextlib.suppress(ValueError):
            return min(float(response.headers["retry-after"]), 3.0)
    return 1.0


# --- the phones ---------------------------------------------------------------------------


def jpeg(rng: random.Random) -> bytes:
    """A photo's bytes: a JPEG signature and 20-60 kB of noise (the server checks the first)."""
    return b"\xff\xd8\xff\xe0" + rng.randbytes(rng.randrange(20_000, 60_000))


@dataclass
class Phone:
    """A volunteer's phone: an outbox of surveys not yet acknowledged and of photos not yet
    stored, sent again until they are, as the app's outbox does."""

    name: str
    token: str
    rng: random.Random
    templates: list[dict[str, Any]]
    outbox: dict[str, dict[str, Any]] = field(default_factory=dict)
    photos: list[tuple[str, str, bytes]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    stored_photos: list[tuple[str, str, bytes]] = field(default_factory=list)
    made: int = 0

    def new_survey(self, record: Record) -> None:
        body = dict(self.rng.choice(self.templates))
        body["id"] = str(uuid.uuid4())
        body["collector"] = self.name
        body["answers"] = dict(body["answers"])
        self.made += 1
        if self.rng.random() < 1 / 3:
            filename = f"house-{self.made}.jpg"
            body["answers"]["photo"] = filename
            self.photos.append((body["id"], filename, jpeg(self.rng)))
        self.outbox[body["id"]] = body
        record.made.add(body["id"])

    def acknowledge(self, record: Record, survey_id: str) -> None:
        body = self.outbox.pop(survey_id)
        record.acknowledged[survey_id] = body["answers"]
        self.sent.append(body)

    def refuse(self, record: Record, survey_id: str) -> None:
        self.outbox.pop(survey_id)
        record.refused.add(survey_id)
        self.photos = [p for p in self.photos if p[0] != survey_id]


async def send_outbox(phone: Phone, client: httpx.AsyncClient, record: Record) -> None:
    """Send the outbox: one survey at a time or as one batch, as the phone chooses."""
    if not phone.outbox:
        return
    if phone.rng.random() < 0.5:
        for survey_id, body in list(phone.outbox.items()):
            response = await call(
                record, client, "POST /api/v1/submissions", "POST", "/api/v1/submissions",
                content=orjson.dumps(body), headers=JSON_HEADERS,
            )  # fmt: skip
            if response is None or response.status_code >= 500:
                await asyncio.sleep(retry_pause(response))
                return
            if response.status_code in (200, 201):
                phone.acknowledge(record, survey_id)
            elif response.status_code in (409, 422):
                phone.refuse(record, survey_id)
        return
    bodies = list(phone.outbox.values())[:25]
    response = await call(
        record, client, "POST /api/v1/submissions/batch", "POST", "/api/v1/submissions/batch",
        content=orjson.dumps({"submissions": bodies}), headers=JSON_HEADERS,
    )  # fmt: skip
    if response is None or response.status_code != 200:
        await asyncio.sleep(retry_pause(response))
        return
    for item in response.json()["results"]:
        if item["outcome"] in ("created", "duplicate"):
            phone.acknowledge(record, item["id"])
        else:
            phone.refuse(record, item["id"])


async def send_photos(phone: Phone, client: httpx.AsyncClient, record: Record) -> None:
    """Send the photos of acknowledged surveys (a photo waits for its survey)."""
    for item in list(phone.photos):
        survey_id, filename, data = item
        if survey_id not in record.acknowledged:
            continue
        response = await call(
            record, client, "POST /api/v1/submissions/{id}/attachments/{file}", "POST",
            f"/api/v1/submissions/{survey_id}/attachments/{filename}",
            content=data, headers={"Content-Type": "image/jpeg"},
        )  # fmt: skip
        if response is None or response.status_code >= 500:
            await asyncio.sleep(retry_pause(response))
            return
        phone.photos.remove(item)
        if response.status_code in (200, 201):
            record.photos[(survey_id, filename)] = hashlib.sha256(data).hexdigest()
            phone.stored_photos.append(item)


async def resend(phone: Phone, client: httpx.AsyncClient, record: Record) -> None:
    """Send acknowledged surveys again in a batch (a phone that never saw the answer): each
    must come back `duplicate`; and now and then a stored photo again (200)."""
    if phone.sent:
        again = phone.rng.sample(phone.sent, min(len(phone.sent), phone.rng.randrange(1, 11)))
        response = await call(
            record, client, "POST /api/v1/submissions/batch (resend)", "POST",
            "/api/v1/submissions/batch",
            content=orjson.dumps({"submissions": again}), headers=JSON_HEADERS,
        )  # fmt: skip
        if response is not None and response.status_code == 200:
            for item in response.json()["results"]:
                record.resends[item["outcome"]] += 1
    if phone.stored_photos and phone.rng.random() < 0.3:
        survey_id, filename, data = phone.rng.choice(phone.stored_photos)
        response = await call(
            record, client, "POST /api/v1/submissions/{id}/attachments/{file} (resend)", "POST",
            f"/api/v1/submissions/{survey_id}/attachments/{filename}",
            content=data, headers={"Content-Type": "image/jpeg"},
        )  # fmt: skip
        if response is not None and response.status_code < 500:
            record.photo_resends[response.status_code] += 1


async def volunteer(base: str, phone: Phone, record: Record, until: float) -> None:
    """A volunteer's day: a survey or three, send, photos, sometimes a resend; a pause."""
    async with http(base, 60, phone.token) as client:
        while record.now() < until:
            for _ in range(phone.rng.randrange(1, 4)):
                phone.new_survey(record)
            await send_outbox(phone, client, record)
            await send_photos(phone, client, record)
            if phone.rng.random() < 0.15:
                await resend(phone, client, record)
            await asyncio.sleep(phone.rng.uniform(0.2, 1.0))


async def drain(base: str, phone: Phone, record: Record, seconds: float) -> None:
    """After the day: send what the phone still holds until it holds nothing."""
    deadline = time.monotonic() + seconds
    async with http(base, 60, phone.token) as client:
        while (phone.outbox or phone.photos) and time.monotonic() < deadline:
            if not phone.outbox and all(p[0] not in record.acknowledged for p in phone.photos):
                break  # photos of surveys never acknowledged: nothing to send them to
            await send_outbox(phone, client, record)
            await send_photos(phone, client, record)
            await asyncio.sleep(0.1)


# --- ODK Collect ------------------------------------------------------------------------


async def collect_phone(
    base: str,
    username: str,
    password: str,
    templates: list[dict[str, Any]],
    record: Record,
    until: float,
    rng: random.Random,
) -> None:
    """ODK Collect: a survey as multipart XML with Digest, kept until answered 201/202 (the
    whole queue sent each time); one in five acknowledged sent once more (202)."""
    from app.forms.registry import load_registry
    from bench.ingest import collect_body, collect_xml

    form = load_registry(ROOT / "forms").current("household")
    # (survey id, answers, body, a resend of an acknowledged survey)
    pending: list[tuple[str, dict[str, Any], bytes, bool]] = []
    auth = httpx.DigestAuth(username, password)
    async with http(base, 60, auth=auth) as client:
        while record.now() < until or (pending and record.now() < until + 120):
            if record.now() < until:
                body = dict(rng.choice(templates))
                body["id"] = str(uuid.uuid4())
                xml = collect_body(collect_xml(form, body))
                pending.append((body["id"], body["answers"], xml, False))
                record.made.add(body["id"])
            again: list[tuple[str, dict[str, Any], bytes, bool]] = []
            while pending:
                survey_id, answers, payload, resent = pending[0]
                response = await call(
                    record, client, "POST /odk/submission", "POST", "/odk/submission",
                    content=payload,
                    headers={
                        "Content-Type": "multipart/form-data; boundary=odkbench",
                        "X-OpenRosa-Version": "1.0",
                    },
                )  # fmt: skip
                if response is None or response.status_code >= 500:
                    await asyncio.sleep(retry_pause(response))
                    break
                pending.pop(0)
                status = response.status_code
                if resent:
                    record.resends[{202: "duplicate", 201: "created"}.get(status, str(status))] += 1
                elif status in (201, 202):
                    record.odk_acknowledged[survey_id] = answers
                    if rng.random() < 0.2:
                        again.append((survey_id, answers, payload, True))
                else:
                    record.refused.add(survey_id)
            pending += again
            await asyncio.sleep(rng.uniform(0.5, 2.0))


# --- readers ------------------------------------------------------------------------------


async def ward_leader(
    base: str,
    token: str,
    ward_id: int,
    tiles: list[tuple[int, int, int]],
    record: Record,
    until: float,
    rng: random.Random,
) -> None:
    """A ward leader: the ward's map page, its printed PDF, its indicators, a few tiles."""
    async with http(base, 120, token) as client:
        while record.now() < until:
            await call(record, client, "GET /maps/wards/{id}", "GET", f"/maps/wards/{ward_id}")
            await call(
                record, client, "GET /api/v1/wards/{id}/indicators", "GET",
                f"/api/v1/wards/{ward_id}/indicators",
            )  # fmt: skip
            for z, x, y in rng.sample(tiles, min(len(tiles), 4)):
                await call(
                    record, client, "GET /tiles/households/{z}/{x}/{y}.pbf", "GET",
                    f"/tiles/households/{z}/{x}/{y}.pbf",
                )  # fmt: skip
            if rng.random() < 0.5:
                await call(
                    record, client, "GET /maps/wards/{id}.pdf", "GET", f"/maps/wards/{ward_id}.pdf"
                )
            await asyncio.sleep(rng.uniform(1.0, 4.0))


def households_in(fmt: str, content: bytes) -> int:
    """How many households a downloaded export holds (-1: not a whole file of its format)."""
    try:
        if fmt == "geojson":
            return len(orjson.loads(content)["features"])
        if fmt == "csv":
            return sum(1 for _ in csv.reader(io.StringIO(content.decode("utf-8-sig")))) - 1
        if fmt == "kml":
            if not content.rstrip().endswith(b"</kml>"):
                return -1
            return content.count(b"<Placemark")
        if fmt in ("xlsx", "shp.zip"):
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                return 0 if archive.testzip() is None else -1
        if fmt == "gpkg":
            return 0 if content.startswith(b"SQLite format 3\x00") else -1
    except (ValueError, KeyError, zipfile.BadZipFile, UnicodeDecodeError, csv.Error):
        return -1
    return 0


async def planner(base: str, token: str, record: Record, until: float, rng: random.Random) -> None:
    """A planner: the city map and its points, the city's indicators, an export (each format
    in turn from a random one, the file checked whole)."""
    async with http(base, 180, token) as client:
        turn = rng.randrange(len(EXPORT_FORMATS))
        while record.now() < until:
            fmt = EXPORT_FORMATS[turn % len(EXPORT_FORMATS)]
            turn += 1
            response = await call(
                record, client, f"GET /api/v1/export/households.{fmt}", "GET",
                f"/api/v1/export/households.{fmt}?city=tam-ky",
            )  # fmt: skip
            if response is not None and response.status_code == 200:
                record.exported[fmt][households_in(fmt, response.content)] += 1
            if rng.random() < 0.5:
                await call(record, client, "GET /maps/cities/{slug}", "GET", "/maps/cities/tam-ky")
                await call(
                    record, client, "GET /maps/data/cities/{slug}/households.json", "GET",
                    "/maps/data/cities/tam-ky/households.json",
                )  # fmt: skip
            await call(
                record, client, "GET /api/v1/cities/{slug}/indicators", "GET",
                "/api/v1/cities/tam-ky/indicators",
            )  # fmt: skip
            await asyncio.sleep(rng.uniform(2.0, 6.0))


async def monitor(base: str, record: Record, until: float) -> None:
    """What a load balancer asks every 2 s."""
    async with http(base, 10) as client:
        while record.now() < until:
            await call(record, client, "GET /healthz", "GET", "/healthz")
            await asyncio.sleep(2.0)


async def progress(record: Record, until: float) -> None:
    """A line a minute, for whoever watches a long run."""
    while record.now() + 60 < until:
        await asyncio.sleep(60)
        failed = sum(1 for a in record.answers if not isinstance(a.status, int) or a.status >= 500)
        print(
            f"soak at {record.now():.0f} s: {len(record.answers)} requests, "
            f"{len(record.acknowledged) + len(record.odk_acknowledged)} surveys acknowledged, "
            f"{failed} 5xx or unanswered, {len(record.restarts)} restarts",
            flush=True,
        )


def children(pid: int) -> set[int]:
    """The processes a process started (uvicorn's workers)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            found |= {int(child) for child in task.read_text().split()}
    return found


async def worker_watch(server_pid: int, record: Record, until: float) -> None:
    """Note when uvicorn replaces a worker (one that died, or did not answer its health
    check within `--timeout-worker-healthcheck`): every request in it is cut."""
    known = children(server_pid)
    while record.now() < until:
        await asyncio.sleep(1.0)
        now = children(server_pid)
        for pid in sorted(now - known):
            record.worker_starts.append((record.now(), pid))
        known |= now


# --- the restarts ---------------------------------------------------------------------------


async def restarter(
    base: str, commands: list[list[str]], at: list[float], record: Record, until: float
) -> None:
    """Run the restart commands in turn, one at each given second of the run; a restart
    lasts until /healthz answers 200 again."""
    async with httpx.AsyncClient(base_url=base, timeout=5) as client:
        for number, moment in enumerate(at):
            await asyncio.sleep(max(0.0, moment - record.now()))
            if record.now() >= until:
                return
            begin = record.now()
            command = commands[number % len(commands)]
            await asyncio.to_thread(subprocess.run, command, check=True, capture_output=True)
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get("/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            record.restarts.append((begin, record.now()))
            record.restart_commands.append(shlex.join(command))


# --- the database -------------------------------------------------------------------------


@contextlib.contextmanager
def own_cluster(name: str, keep: bool) -> Iterator[tuple[str, list[list[str]]]]:
    """A PostgreSQL cluster of this run's own on a free port (root: Debian's pg_createcluster);
    yields its database URL and restart commands (first as after a crash: `-m immediate`
    ends every process at once and the start replays the WAL; then a clean one); dropped
    afterwards unless `keep`."""
    if shutil.which("pg_createcluster") is None:
        raise SystemExit("pg_createcluster not found: give --database-url and --restart-command")
    port = free_port()
    subprocess.run(
        ["pg_createcluster", POSTGRES_VERSION, name, "-p", str(port), "--start",
         "-o", "max_connections=100",
         "--", "--auth-local=trust", "--auth-host=trust"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield (
            f"postgresql://postgres@127.0.0.1:{port}/cdfmap_soak",
            [
                ["pg_ctlcluster", POSTGRES_VERSION, name, "restart", "-m", "immediate"],
                ["pg_ctlcluster", POSTGRES_VERSION, name, "restart", "-m", "fast"],
            ],
        )
    finally:
        if not keep:
            subprocess.run(
                ["pg_dropcluster", "--stop", POSTGRES_VERSION, name],
                check=False, capture_output=True,
            )  # fmt: skip


def seed(url: str, households: int) -> None:
    """Schema and sample city, by the admin commands an operator uses."""
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    for command in (
        ["migrate", "--create-database"],
        ["load-sample", "--households", str(households)],
    ):
        subprocess.run(
            [sys.executable, "-m", "app.cli", *command],
            cwd=ROOT, env=env, check=True, capture_output=True,
        )  # fmt: skip


def leader_token(url: str, ward_id: int, number: int) -> str:
    """A ward leader's token: the bench's volunteer token, the grant changed to the ward."""
    username = f"soak-leader-{number}"
    token = bench_token(url, "volunteer", username)
    engine = create_engine(with_driver(url, "postgresql+psycopg"))
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "UPDATE role_grants g SET role = 'ward_leader', ward_id = :ward "
                    "FROM users u WHERE u.id = g.user_id AND u.username = :u"
                ),
                {"ward": ward_id, "u": f"{username}-volunteer"},
            )
    finally:
        engine.dispose()
    return token


def ward_tiles(url: str, ward_id: int, z: int = 15) -> list[tuple[int, int, int]]:
    """The zoom-z tiles holding the ward's households (z, x, y), densest first."""
    engine = create_engine(with_driver(url, "postgresql+psycopg"))
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT floor((ST_X(geom) + 180) / 360 * 2 ^ :z)::int AS x, "
                    "floor((1 - ln(tan(radians(ST_Y(geom))) + 1 / cos(radians(ST_Y(geom)))) "
                    "/ pi()) / 2 * 2 ^ :z)::int AS y FROM household_surveys "
                    "WHERE ward_id = :ward AND geom IS NOT NULL GROUP BY 1, 2 "
                    "ORDER BY count(*) DESC LIMIT 50"
                ),
                {"z": z, "ward": ward_id},
            ).all()
    finally:
        engine.dispose()
    return [(z, int(x), int(y)) for x, y in rows]


def busiest_wards(url: str, count: int) -> list[int]:
    engine = create_engine(with_driver(url, "postgresql+psycopg"))
    try:
        with engine.connect() as connection:
            return list(
                connection.scalars(
                    text(
                        "SELECT ward_id FROM household_surveys WHERE ward_id IS NOT NULL "
                        "GROUP BY ward_id ORDER BY count(*) DESC, ward_id LIMIT :n"
                    ),
                    {"n": count},
                )
            )
    finally:
        engine.dispose()


# --- afterwards -------------------------------------------------------------------------------


@dataclass
class Findings:
    """The invariants' figures."""

    surveys: int = 0
    stored_once: int = 0
    missing: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unacknowledged_stored: int = 0
    photos: int = 0
    photos_missing: list[str] = field(default_factory=list)
    odk_xml: int = 0  # ODK surveys whose instance XML was kept


def check_store(url: str, record: Record, media_dir: Path) -> Findings:
    """Compare the database and the media directory with what was acknowledged."""
    found = Findings()
    engine = create_engine(with_driver(url, "postgresql+psycopg"))
    acknowledged = {**record.acknowledged, **record.odk_acknowledged}
    found.surveys = len(acknowledged)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT id::text, answers FROM household_surveys "
                    "WHERE id = ANY(CAST(:ids AS uuid[]))"
                ),
                {"ids": sorted(record.made)},
            ).all()
            # A survey stored twice would be a second row of a phone's under another id.
            doubles = connection.execute(
                text(
                    "SELECT id::text FROM household_surveys WHERE collector LIKE :phones "
                    "AND NOT id = ANY(CAST(:ids AS uuid[]))"
                ),
                {"ids": sorted(record.made), "phones": f"{record.run}-phone-%"},
            ).all()
            found.odk_xml = int(
                connection.scalar(
                    text(
                        "SELECT count(DISTINCT survey_id) FROM odk_submissions "
                        "WHERE survey_id = ANY(CAST(:ids AS uuid[]))"
                    ),
                    {"ids": sorted(record.odk_acknowledged)},
                )
                or 0
            )
            attachments = {
                (str(r[0]), r[1]): r[2]
                for r in connection.execute(
                    text(
                        "SELECT submission_id, filename, sha256 FROM attachments "
                        "WHERE submission_id = ANY(CAST(:ids AS uuid[]))"
                    ),
                    {"ids": sorted({key[0] for key in record.photos})},
                )
            }
    finally:
        engine.dispose()
    stored: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for survey_id, answers in rows:
        stored[survey_id].append(answers)
    for survey_id, answers in acknowledged.items():
        copies = stored.get(survey_id, [])
        if not copies:
            found.missing.append(survey_id)
        elif len(copies) > 1:
            found.doubled.append(survey_id)
        else:
            found.stored_once += 1
            if copies[0] != answers:
                found.changed.append(survey_id)
    found.doubled += [row[0] for row in doubles]
    found.unacknowledged_stored = len(set(stored) - set(acknowledged))
    for (survey_id, filename), digest in record.photos.items():
        path = media_dir / survey_id / filename
        on_disk = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        if attachments.get((survey_id, filename)) == digest and on_disk == digest:
            found.photos += 1
        else:
            found.photos_missing.append(f"{survey_id}/{filename}")
    return found


def report(record: Record, findings: Findings, seconds: float) -> bool:
    """Print one line per figure; True when every invariant holds."""
    answers = record.answers
    print(f"soak run: {seconds:.0f} s, {len(answers)} requests ({len(answers) / seconds:.1f}/s)")
    for number, (begin, end) in enumerate(record.restarts, 1):
        print(
            f"soak restart {number}: at {begin:.0f} s, database answering after "
            f"{end - begin:.1f} s ({record.restart_commands[number - 1]})"
        )
    by_route: dict[str, list[Answer]] = defaultdict(list)
    for answer in answers:
        by_route[answer.route].append(answer)
    for route in sorted(by_route):
        those = by_route[route]
        statuses = Counter(str(a.status) for a in those)
        done = [a.seconds * 1000 for a in those if isinstance(a.status, int) and a.status < 500]
        counts = ", ".join(f"{s} x {n}" for s, n in sorted(statuses.items()))
        timing = (
            f"p50 {percentile(done, 0.5):.0f} ms, p95 {percentile(done, 0.95):.0f} ms, "
            f"p99 {percentile(done, 0.99):.0f} ms, max {max(done):.0f} ms"
            if done
            else "no answer below 500"
        )
        print(f"soak route {route}: {len(those)} requests ({counts}); {timing}")

    documented: Counter[str] = Counter()
    undocumented: list[Answer] = []
    unexplained_503: list[Answer] = []
    failed_outside: list[Answer] = []
    failed_during = 0
    for a in answers:
        during = record.in_restart(a.started, a.seconds)
        if isinstance(a.status, str):
            if during:
                failed_during += 1
            else:
                failed_outside.append(a)
        elif a.status >= 500:
            if a.status == 503 and (a.route in HEALTH_ROUTES or a.code in DOCUMENTED_503):
                documented[a.code or a.route] += 1
                if a.code == "database_unavailable" and not during:
                    unexplained_503.append(a)
            else:
                undocumented.append(a)
    print(
        "soak documented 503s: "
        + (", ".join(f"{code} x {n}" for code, n in sorted(documented.items())) or "none")
    )
    print(f"soak database_unavailable outside a restart: {len(unexplained_503)}")
    print(
        f"soak uvicorn workers replaced: {len(record.worker_starts)}"
        + "".join(f"; at {when:.0f} s (pid {pid})" for when, pid in record.worker_starts)
    )
    print(f"soak undocumented 5xx: {len(undocumented)}")
    for a in undocumented[:10]:
        print(f"  {a.route} {a.status} {a.code} at {a.started:.1f} s")
    print(f"soak requests without an answer: {failed_during} during a restart, "
          f"{len(failed_outside)} outside")  # fmt: skip
    for a in failed_outside[:10]:
        print(f"  {a.route} {a.status} at {a.started:.1f} s after {a.seconds:.1f} s: {a.code}")
    print(
        f"soak surveys acknowledged: {findings.surveys} (JSON {len(record.acknowledged)}, "
        f"ODK Collect {len(record.odk_acknowledged)}) of {len(record.made)} made, "
        f"{len(record.refused)} refused (4xx)"
    )
    print(
        f"soak surveys stored once: {findings.stored_once}, missing {len(findings.missing)}, "
        f"doubled {len(findings.doubled)}, answers changed {len(findings.changed)}"
    )
    print(f"soak surveys stored but never acknowledged: {findings.unacknowledged_stored}")
    # Not an invariant: the XML copy is history, written after the answer (app.db.odk).
    print(
        f"soak ODK Collect instance XML kept: {findings.odk_xml} of "
        f"{len(record.odk_acknowledged)} surveys"
    )
    print(
        "soak resends of acknowledged surveys: "
        + (", ".join(f"{o} x {n}" for o, n in sorted(record.resends.items())) or "none")
    )
    print(
        f"soak photos acknowledged: {len(record.photos)}, stored with their checksum "
        f"{findings.photos}, missing {len(findings.photos_missing)}; resent: "
        + (", ".join(f"{s} x {n}" for s, n in sorted(record.photo_resends.items())) or "none")
    )
    incomplete = 0
    for fmt in EXPORT_FORMATS:
        whole = record.approved if fmt in COUNTED_FORMATS else 0
        downloads = record.exported.get(fmt, Counter())
        incomplete += sum(n for households, n in downloads.items() if households != whole)
        print(
            f"soak exports {fmt}: {sum(downloads.values())} downloaded, "
            f"{downloads.get(whole, 0)} whole"
            + (f" ({whole} households each)" if fmt in COUNTED_FORMATS else "")
        )
    broken = {
        "incomplete exports": incomplete,
        "missing surveys": len(findings.missing),
        "doubled surveys": len(findings.doubled),
        "changed answers": len(findings.changed),
        "missing photos": len(findings.photos_missing),
        "undocumented 5xx": len(undocumented),
        "resends not duplicate": sum(n for o, n in record.resends.items() if o != "duplicate"),
        "photo resends not 200": sum(n for s, n in record.photo_resends.items() if s != 200),
        "requests without an answer outside a restart": len(failed_outside),
        "surveys left unsent": len(record.made) - findings.surveys - len(record.refused),
    }
    failures = {name: n for name, n in broken.items() if n}
    print("soak invariants: " + ("ok" if not failures else f"FAILED {failures}"))
    return not failures


# --- the run -----------------------------------------------------------------------------------


async def traffic(
    base: str,
    server_pid: int,
    url: str,
    restart_commands: list[list[str]],
    minutes: float,
    restarts: int,
    phones: int,
    leaders: int,
    planners: int,
    record: Record,
) -> None:
    """Everyone at once for `minutes`, the restarts spread evenly, then the phones drain."""
    from bench.ingest import phone_token

    until = minutes * 60
    city = sample_city.generate_city()
    templates = list(sample_city.generate_households(city, 2000, seed=99))
    wards = busiest_wards(url, leaders)
    plan_token = bench_token(url, "planner", "soak-planner")
    async with httpx.AsyncClient(base_url=base, timeout=300) as client:
        first = await client.get(
            "/api/v1/export/households.geojson?city=tam-ky",
            headers={"Authorization": f"Bearer {plan_token}"},
        )
    first.raise_for_status()
    record.approved = households_in("geojson", first.content)  # before anyone else starts
    username, password = phone_token(url)
    the_phones = [
        Phone(f"{record.run}-phone-{n}", bench_token(url, "volunteer", f"soak-phone-{n}"),
              random.Random(n), templates)
        for n in range(phones)
    ]  # fmt: skip
    tasks = [volunteer(base, phone, record, until) for phone in the_phones]
    tasks.append(
        collect_phone(base, username, password, templates, record, until, random.Random(7))
    )
    tasks += [
        ward_leader(base, leader_token(url, ward, n), ward, ward_tiles(url, ward), record, until,
                    random.Random(100 + n))
        for n, ward in enumerate(wards)
    ]  # fmt: skip
    tasks += [
        planner(base, plan_token, record, until, random.Random(200 + n)) for n in range(planners)
    ]
    tasks.append(monitor(base, record, until))
    tasks.append(progress(record, until))
    tasks.append(worker_watch(server_pid, record, until))
    if restart_commands and restarts:
        at = [until * (n + 1) / (restarts + 1) for n in range(restarts)]
        tasks.append(restarter(base, restart_commands, at, record, until))
    await asyncio.gather(*tasks)
    await asyncio.gather(*(drain(base, phone, record, 120) for phone in the_phones))


def main(argv: list[str] | None = None) -> bool:
    """Run the soak; True when every invariant held."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="45 s, one restart, for the tests")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--restarts", type=int, default=None, help="default 2 (quick: 1)")
    parser.add_argument("--households", type=int, default=None, help="default 5000 (quick 1000)")
    parser.add_argument("--phones", type=int, default=8)
    parser.add_argument("--leaders", type=int, default=3)
    parser.add_argument("--planners", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers")
    parser.add_argument("--database-url", help="a database of your own (else a cluster is made)")
    parser.add_argument(
        "--restart-command",
        action="append",
        help="restarts the server of --database-url (given again: used in turn)",
    )
    parser.add_argument("--cluster", default="soak", help="name of the cluster made for the run")
    parser.add_argument("--keep", action="store_true", help="keep the cluster made for the run")
    args = parser.parse_args(argv)
    minutes = 0.75 if args.quick else args.minutes
    restarts = args.restarts if args.restarts is not None else (1 if args.quick else 2)
    households = args.households or (1000 if args.quick else 5000)
    phones = 4 if args.quick else args.phones

    with contextlib.ExitStack() as stack:
        if args.database_url:
            url = args.database_url
            commands = [shlex.split(c) for c in args.restart_command or []]
            if not commands and restarts:
                print("soak: no --restart-command, so no restarts")
        else:
            url, commands = stack.enter_context(own_cluster(args.cluster, args.keep))
        started = time.monotonic()
        seed(url, households)
        print(f"soak seeded: {households} households in {time.monotonic() - started:.0f} s")
        media = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="soak-media-")))
        os.environ["MEDIA_DIR"] = str(media)
        base, server_pid = stack.enter_context(
            # A loaded machine takes longer than 30 s to start two workers.
            uvicorn_server("app.main:create_app", url, True, args.workers, start_seconds=180)
        )
        record = Record()
        asyncio.run(
            traffic(
                base,
                server_pid,
                url,
                commands,
                minutes,
                restarts,
                phones,
                args.leaders,
                args.planners,
                record,
            )
        )
        seconds = record.now()
        findings = check_store(url, record, media)
        return report(record, findings, seconds)


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
