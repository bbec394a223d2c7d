"""Ingest benchmark: concurrent single-survey POSTs and 500-survey batches.

Figures, each with its baseline measured in the same run on the same database:
  single: the real app vs a bare FastAPI + asyncpg INSERT endpoint (bench/bare_app.py)
  batch:  POST /api/v1/submissions/batch of 500 vs asyncpg copy_records_to_table of the rows
  collect: ODK Collect's multipart XML POST /odk/submission with Digest auth vs the JSON API's
          single POST, on the same server, in the same run (target >= 0.5x)
Usage: python -m bench.ingest [--quick] [--requests N] [--concurrency C] [--rounds R] [--keep]
       [--collect-only]
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import httpx
import orjson
import shapely
import uvloop

from app.geo import sample_city
from bench.common import (
    bench_arguments,
    bench_database,
    bench_token,
    percentile,
    uvicorn_server,
)

# The baseline runs on stock uvicorn (httptools), as a bare FastAPI endpoint would; the app on
# its own protocol (app.http_protocol: a response's head and body in one write), as deployed.
BASELINE_HTTP = "httptools"


@dataclass
class Round:
    """One server's figures for one round."""

    rate: float
    latencies: list[float]
    errors: int
    extra_rows: int  # stored minus sent: > 0 duplicates, < 0 missing


def surveys(count: int, seed: int) -> list[dict[str, Any]]:
    """Valid, distinct surveys (fresh ids) from the sample generator."""
    items = list(sample_city.generate_households(sample_city.generate_city(), count, seed))
    for item in items:
        item["id"] = str(uuid.uuid4())
    return items


async def _post(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    host: str,
    body: bytes,
    token: str,
    path: str = "/api/v1/submissions",
) -> tuple[int, bytes]:
    """One keep-alive HTTP/1.1 POST, signed in with a bearer token; (status code, body)."""
    writer.write(
        b"POST "
        + path.encode()
        + b" HTTP/1.1\r\nHost: "
        + host.encode()
        + b"\r\nAuthorization: Bearer "
        + token.encode()
        + b"\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return status, await reader.readexactly(length)


async def hammer(
    base: str, bodies: list[bytes], concurrency: int, token: str = ""
) -> tuple[float, list[float], int]:
    """POST every body from `concurrency` keep-alive connections; (seconds, latencies, errors).

    A minimal HTTP client on asyncio streams: a Python client like httpx would cost more CPU
    than the servers it measures on a 2-core machine.
    """
    host, port = base.removeprefix("http://").split(":")
    latencies: list[float] = []
    errors = 0
    queue = list(reversed(bodies))

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while queue:
                body = queue.pop()
                started = time.perf_counter()
                status, _ = await _post(reader, writer, f"{host}:{port}", body, token)
                latencies.append(time.perf_counter() - started)
                if status not in (200, 201):
                    errors += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies, errors


async def count_rows(url: str, ids: list[str]) -> int:
    connection = await asyncpg.connect(url)
    try:
        return int(
            await connection.fetchval(
                "SELECT count(*) FROM household_surveys WHERE id = ANY($1::uuid[])", ids
            )
        )
    finally:
        await connection.close()


def _round(
    base: str, url: str, name: str, requests: int, concurrency: int, seed: int, token: str
) -> Round:
    """One round of fresh surveys against one server (plus 10 % resends for the app), every
    request signed in as a volunteer (the bare endpoint ignores the header)."""
    items = surveys(requests, seed=seed)
    bodies = [orjson.dumps(item) for item in items]
    resends = bodies[: max(1, requests // 10)] if name == "app" else []
    seconds, latencies, errors = uvloop.run(hammer(base, bodies + resends, concurrency, token))
    stored = asyncio.run(count_rows(url, [item["id"] for item in items]))
    return Round(len(latencies) / seconds, latencies, errors, stored - len(items))


def single_figures(
    url: str,
    requests: int,
    concurrency: int,
    workers: int,
    rounds: int,
    baseline_http: str = BASELINE_HTTP,
) -> dict[str, float]:
    """Both servers up side by side on one database; rounds alternate between them (the
    machine is shared and noisy) and each server's best round is reported."""
    results: dict[str, float] = {}
    token = bench_token(url)
    with (
        uvicorn_server("bench.bare_app:create_app", url, True, workers, http=baseline_http) as (
            bare_base,
            _,
        ),
        uvicorn_server("app.main:create_app", url, True, workers) as (app_base, _),
    ):
        bases = {"baseline": bare_base, "app": app_base}
        for base in bases.values():  # warm-up (stored too)
            uvloop.run(hammer(base, [orjson.dumps(s) for s in surveys(50, 1)], concurrency, token))
        best: dict[str, Round] = {}
        for number in range(rounds):
            for name, base in bases.items():
                seed = 1000 * number + (1 if name == "app" else 2)
                this = _round(base, url, name, requests, concurrency, seed, token)
                if name not in best or this.rate > best[name].rate:
                    best[name] = this
    for name, this in best.items():
        p50, p99 = percentile(this.latencies, 0.5) * 1000, percentile(this.latencies, 0.99) * 1000
        duplicates, missing = max(this.extra_rows, 0), max(-this.extra_rows, 0)
        results |= {
            f"{name}_rate": this.rate,
            f"{name}_p50": p50,
            f"{name}_p99": p99,
            f"{name}_errors": this.errors,
            f"{name}_duplicates": duplicates,
            f"{name}_missing": missing,
        }
        print(
            f"single {name:8s}: {this.rate:8.0f} submissions/s  p50 {p50:6.1f} ms  "
            f"p99 {p99:6.1f} ms  errors {this.errors}  duplicates {duplicates}  missing {missing}"
        )
    print(
        f"single ratio: {results['app_rate'] / results['baseline_rate']:.2f} x baseline throughput "
        f"(target >= 0.6), p99 {results['app_p99'] / results['baseline_p99']:.2f} x baseline "
        f"(target <= 2); best of {rounds} alternating rounds of {requests}"
    )
    return results


# What the app stored for a survey besides the survey itself (its place, flags, hash, status,
# collector): the baseline copies the same rows as stored, so a copied row pays what any stored
# survey pays (the tallies of its settlement, the checks of its places), not the cheaper path of
# a row that names no place.
STORED_COLUMNS = (
    "city_id",
    "ward_id",
    "settlement_id",
    "status",
    "flags",
    "content_hash",
    "collector_user_id",
    "location_manual",
)


def stored_columns(url: str, ids: list[str]) -> dict[str, tuple[Any, ...]]:
    """STORED_COLUMNS of stored surveys, by id."""

    async def read() -> dict[str, tuple[Any, ...]]:
        connection = await asyncpg.connect(url)
        try:
            records = await connection.fetch(
                f"SELECT id, {', '.join(STORED_COLUMNS)} FROM household_surveys"
                " WHERE id = ANY($1::uuid[])",
                [uuid.UUID(i) for i in ids],
            )
        finally:
            await connection.close()
        return {str(r["id"]): tuple(r[c] for c in STORED_COLUMNS) for r in records}

    return asyncio.run(read())


def _copy_rows(
    url: str, copy_items: list[dict[str, Any]], stored: dict[str, tuple[Any, ...]]
) -> float:
    """Seconds for asyncpg `copy_records_to_table` of the rows, 500 at a time (the baseline):
    each item as the app stored it (`stored`: by the item's id), under a fresh id."""

    async def copy() -> float:
        connection = await asyncpg.connect(url)
        try:
            # COPY is binary: jsonb is a version byte + JSON, geometry is EWKB.
            await connection.set_type_codec(
                "jsonb",
                encoder=lambda v: b"\x01" + orjson.dumps(v),
                decoder=lambda b: orjson.loads(b[1:]),
                schema="pg_catalog",
                format="binary",
            )
            await connection.set_type_codec(
                "geometry", encoder=bytes, decoder=bytes, schema="public", format="binary"
            )
            # The records are made before the clock starts (as the app's bodies are encoded
            # before its clock): the baseline is the database's own insert path at its best.
            batches = [
                [
                    (
                        uuid.uuid4(),
                        i["form_id"],
                        i["form_version"],
                        i["collector"],
                        datetime.fromisoformat(i["collected_at"]),
                        i["answers"],
                        i["location"]["accuracy_m"],
                        i["location"]["altitude_m"],
                        shapely.to_wkb(
                            shapely.set_srid(
                                shapely.Point(i["location"]["lon"], i["location"]["lat"]), 4326
                            ),
                            include_srid=True,
                        ),
                        *stored[i["id"]],
                    )
                    for i in copy_items[start : start + 500]
                ]
                for start in range(0, len(copy_items), 500)
            ]
            started = time.perf_counter()
            for records in batches:
                await connection.copy_records_to_table(
                    "household_surveys",
                    records=records,
                    columns=[
                        "id",
                        "form_id",
                        "form_version",
                        "collector",
                        "collected_at",
                        "answers",
                        "gps_accuracy_m",
                        "altitude_m",
                        "geom",
                        *STORED_COLUMNS,
                    ],
                )
            return time.perf_counter() - started
        finally:
            await connection.close()

    return asyncio.run(copy())


@dataclass
class DeferredChecks:
    """The duplicate checks the app ran after a round's last batch: how many were queued,
    and seconds from then until the first was done and until none was left."""

    queued: int
    begun: float
    done: float


async def wait_for_duplicate_checks(url: str, most_seconds: float = 300.0) -> DeferredChecks:
    """Wait, from now (the round's last batch answered), until the app has run every queued
    duplicate check (polling every 10 ms)."""
    connection = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        queued = left = int(await connection.fetchval("SELECT count(*) FROM duplicate_checks"))
        begun = 0.0
        while left:
            if time.perf_counter() - started > most_seconds:
                raise RuntimeError(f"{left} duplicate checks still queued after {most_seconds} s")
            await asyncio.sleep(0.01)
            left = int(await connection.fetchval("SELECT count(*) FROM duplicate_checks"))
            if left < queued and not begun:
                begun = time.perf_counter() - started
        return DeferredChecks(queued, begun, time.perf_counter() - started)
    finally:
        await connection.close()


async def post_batches(base: str, bodies: list[bytes], token: str) -> float:
    """POST the batches one after another on one keep-alive connection, as a phone sends its
    outbox, each answered before the next leaves; the seconds they took. Every survey must be
    stored. The client is the single surveys' minimal one: httpx's pure-Python HTTP took ~1 ms
    of CPU a batch on the machine's two cores, beside the server it measures."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        started = time.perf_counter()
        for body in bodies:
            status, answer = await _post(
                reader, writer, f"{host}:{port}", body, token, "/api/v1/submissions/batch"
            )
            summary = orjson.loads(answer)["summary"]
            assert status == 200 and summary["created"] == 500, (status, summary)
        return time.perf_counter() - started
    finally:
        writer.close()


def batch_figures(url: str, batches: int, rounds: int = 1) -> dict[str, float]:
    """500-survey batches through the app vs COPY of the same number of rows, in alternating
    rounds (the machine is shared and noisy); each side's best round is reported."""
    token = bench_token(url)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    app_rates: list[float] = []
    copy_rates: list[float] = []
    check_seconds: list[float] = []
    with (
        uvicorn_server("app.main:create_app", url) as (base, _pid),
        httpx.Client(base_url=base, timeout=120, headers=headers) as client,
    ):
        client.post("/api/v1/submissions/batch", json={"submissions": surveys(50, seed=8)})
        for number in range(rounds):
            items = surveys(500 * batches, seed=7 + 100 * number)
            # Encoded beforehand, like the single surveys: the phone encodes its outbox.
            bodies = [
                orjson.dumps({"submissions": items[start : start + 500]})
                for start in range(0, len(items), 500)
            ]
            app_rates.append(len(items) / asyncio.run(post_batches(base, bodies, token)))
            # The app checks the batches' surveys for duplicates a moment after the last one
            # (app.services.duplicate_checks): done before COPY is timed, never beside it.
            checks = asyncio.run(wait_for_duplicate_checks(url))
            check_seconds.append(checks.done)
            # The same surveys again, as the app stored them, under fresh ids.
            stored = stored_columns(url, [item["id"] for item in items])
            copy_rates.append(len(items) / _copy_rows(url, items, stored))
            print(
                f"  round {number + 1}: app {app_rates[-1]:8.0f} rows/s, "
                f"COPY {copy_rates[-1]:8.0f} rows/s; duplicate checks after the last batch: "
                f"{checks.queued} queued, begun after {checks.begun:.2f} s, "
                f"all done after {checks.done:.2f} s"
            )
    app_rate, copy_rate = max(app_rates), max(copy_rates)
    print(f"batch app     : {app_rate:8.0f} rows/s ({batches} x 500 surveys, validated and placed)")
    print(f"batch baseline: {copy_rate:8.0f} rows/s (asyncpg copy_records_to_table)")
    print(
        f"batch ratio: {app_rate / copy_rate:.2f} x baseline (target >= 0.5); "
        f"best of {rounds} alternating rounds"
    )
    print(
        f"batch duplicate checks: done {min(check_seconds):.2f}-{max(check_seconds):.2f} s after "
        "the last batch of a round (they wait for ~1 s without batches)"
    )
    return {
        "batch_app_rate": app_rate,
        "batch_copy_rate": copy_rate,
        "batch_checks_done_seconds": max(check_seconds),
    }


# --- ODK Collect: multipart XML with HTTP Digest, beside the JSON API ----------------------


def collect_xml(form: Any, survey: dict[str, Any]) -> bytes:
    """A sample survey as ODK Collect writes its instance: groups nested, the geopoint as
    "lat lon altitude accuracy", `start`/`end` and `meta/instanceID`."""
    from xml.sax.saxutils import escape

    answers = dict(survey["answers"])
    where = survey["location"]
    answers[form.geopoint_question.name] = (
        f"{where['lat']} {where['lon']} {where['altitude_m']} {where['accuracy_m']}"
    )

    def element(node: Any) -> str:
        if hasattr(node, "children") and not hasattr(node, "choices"):
            return f"<{node.name}>{''.join(element(c) for c in node.children)}</{node.name}>"
        value = answers.get(node.name)
        return (
            f"<{node.name}>{escape(str(value))}</{node.name}>"
            if value is not None
            else (f"<{node.name}/>")
        )

    time_ = survey["collected_at"]
    return (
        f'<?xml version=\'1.0\' ?><data id="{form.form_id}" version="{form.version}" '
        'xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms">'
        f"<start>{time_}</start><end>{time_}</end>"
        + "".join(element(child) for child in form.root.children)
        + f"<meta><instanceID>uuid:{survey['id']}</instanceID></meta></data>"
    ).encode()


def collect_body(xml: bytes) -> bytes:
    """The multipart body Collect posts (only the XML: the sample surveys have no photo)."""
    return (
        b'--odkbench\r\nContent-Disposition: form-data; name="xml_submission_file"; '
        b'filename="submission.xml"\r\nContent-Type: text/xml\r\n\r\n'
        + xml
        + b"\r\n--odkbench--\r\n"
    )


def phone_token(url: str) -> tuple[str, str]:
    """A phone token of the bench volunteer, made as POST /api/v1/odk/setup makes it:
    (username, token), the Digest username and password."""
    import hashlib
    import hmac
    import os
    from datetime import UTC, timedelta

    import sqlalchemy

    from app.services.auth import Authenticator, AuthPolicy
    from app.services.odk_auth import OdkAuthenticator
    from app.settings import with_driver

    bench_token(url)  # the volunteer bench-user-volunteer, city-wide
    secret = os.environ["SECRET_KEY"].encode()
    checker = OdkAuthenticator(Authenticator(None, secret, AuthPolicy()), None)  # type: ignore[arg-type]
    token_id = uuid.uuid4()
    token = checker.phone_token(token_id)
    digest = hmac.new(secret, token.encode(), hashlib.sha256).digest()
    engine = sqlalchemy.create_engine(with_driver(url, "postgresql+psycopg"))
    try:
        with engine.begin() as connection:
            connection.execute(
                sqlalchemy.text(
                    "INSERT INTO auth_tokens (id, user_id, kind, token_hash, expires_at, name) "
                    "SELECT :id, id, 'device', :hash, :expires, 'ODK Collect: bench' "
                    "FROM users WHERE username = 'bench-user-volunteer'"
                ),
                {"id": token_id, "hash": digest, "expires": datetime.now(UTC) + timedelta(days=1)},
            )
    finally:
        engine.dispose()
    return "bench-user-volunteer", token


def _md5(text: str) -> str:
    import hashlib

    return hashlib.md5(text.encode()).hexdigest()


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    """Send one request on a keep-alive connection; (status, head of the answer)."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    await reader.readexactly(length)
    return int(head[9:12]), head


def _challenge(head: bytes) -> dict[str, str]:
    import re

    for line in head.split(b"\r\n"):
        text_ = line.decode("latin-1")
        if text_.lower().startswith("www-authenticate: digest"):
            return dict(re.findall(r'(\w+)="?([^",]*)"?', text_.split(" ", 2)[2]))
    raise RuntimeError("no Digest challenge in a 401")


async def hammer_collect(
    base: str, bodies: list[bytes], concurrency: int, username: str, password: str
) -> tuple[float, list[float], int]:
    """POST every body to /odk/submission from `concurrency` keep-alive connections as
    Collect does: HEAD first (its 401 brings the Digest challenge), then one nonce with nc
    counting up; (seconds, latencies, errors). 201 and 202 (a resend) are successes."""
    host, port = base.removeprefix("http://").split(":")
    hostport = f"{host}:{port}".encode()
    latencies: list[float] = []
    errors = 0
    queue = list(reversed(bodies))
    path = "/odk/submission"

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, int(port))
        head_request = b"HEAD " + path.encode() + b" HTTP/1.1\r\nHost: " + hostport + b"\r\n\r\n"
        writer.write(head_request)
        answer = await reader.readuntil(b"\r\n\r\n")
        challenge = _challenge(answer)
        ha1 = _md5(f"{username}:{challenge['realm']}:{password}")
        ha2 = _md5(f"POST:{path}")
        nc = 0
        try:
            while queue:
                body = queue.pop()
                started = time.perf_counter()
                for _attempt in range(2):  # a stale nonce: once more with the new one
                    nc += 1
                    cnonce = uuid.uuid4().hex[:16]
                    nonce = challenge["nonce"]
                    response = _md5(f"{ha1}:{nonce}:{nc:08x}:{cnonce}:auth:{ha2}")
                    authorization = (
                        f'Digest username="{username}", realm="{challenge["realm"]}", '
                        f'nonce="{nonce}", uri="{path}", qop=auth, nc={nc:08x}, '
                        f'cnonce="{cnonce}", response="{response}", algorithm=MD5'
                    )
                    status, answer = await _exchange(
                        reader,
                        writer,
                        b"POST "
                        + path.encode()
                        + b" HTTP/1.1\r\nHost: "
                        + hostport
                        + b"\r\nX-OpenRosa-Version: 1.0\r\nAuthorization: "
                        + authorization.encode()
                        + b"\r\nContent-Type: multipart/form-data; boundary=odkbench"
                        + b"\r\nContent-Length: "
                        + str(len(body)).encode()
                        + b"\r\n\r\n"
                        + body,
                    )
                    if status != 401:
                        break
                    challenge, nc = _challenge(answer), 0
                latencies.append(time.perf_counter() - started)
                if status not in (201, 202):
                    errors += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies, errors


def _cpu_by_process(url: str, server_pid: int) -> dict[int, float]:
    """CPU seconds so far of the server (uvicorn and its workers) and of the PostgreSQL
    backends of the bench database: what a round costs, whatever else the machine runs."""
    import os
    from pathlib import Path

    tick = os.sysconf("SC_CLK_TCK")
    database = url.rsplit("/", 1)[1].split("?")[0]
    pids = {server_pid}
    for task in Path(f"/proc/{server_pid}/task").glob("*/children"):
        pids |= {int(child) for child in task.read_text().split()}
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if f" {database} ".encode() in cmdline.read_bytes() and b"postgres" in (
                cmdline.read_bytes()
            ):
                pids.add(int(cmdline.parent.name))
        except OSError:
            continue
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / tick
    return found


def collect_figures(
    url: str, requests: int, concurrency: int, workers: int, rounds: int
) -> dict[str, float]:
    """The JSON API's single POST and Collect's multipart XML with Digest on one server,
    rounds alternating (10 % resends in each); each path's best round is reported."""
    from app.forms.registry import load_registry
    from bench.common import ROOT

    form = load_registry(ROOT / "forms").current("household")
    token = bench_token(url)
    username, password = phone_token(url)
    best: dict[str, Round] = {}
    cpu: dict[str, list[float]] = {"json": [], "collect": []}
    with uvicorn_server("app.main:create_app", url, True, workers) as (base, server_pid):
        warm = surveys(50, 3)
        uvloop.run(hammer(base, [orjson.dumps(s) for s in warm[:25]], concurrency, token))
        warm_xml = [collect_body(collect_xml(form, s)) for s in warm[25:]]
        uvloop.run(hammer_collect(base, warm_xml, concurrency, username, password))
        for number in range(rounds):
            for name in ("json", "collect"):
                items = surveys(requests, seed=5000 + 10 * number + (name == "collect"))
                if name == "json":
                    bodies = [orjson.dumps(item) for item in items]
                    run = hammer(base, bodies + bodies[: requests // 10], concurrency, token)
                else:
                    bodies = [collect_body(collect_xml(form, item)) for item in items]
                    run = hammer_collect(
                        base, bodies + bodies[: requests // 10], concurrency, username, password
                    )
                before = _cpu_by_process(url, server_pid)
                seconds, latencies, errors = uvloop.run(run)
                after = _cpu_by_process(url, server_pid)
                used = sum(t - before.get(pid, 0.0) for pid, t in after.items())
                cpu[name].append(used / len(latencies) * 1000)
                stored = asyncio.run(count_rows(url, [item["id"] for item in items]))
                this = Round(len(latencies) / seconds, latencies, errors, stored - len(items))
                if name not in best or this.rate > best[name].rate:
                    best[name] = this
    results: dict[str, float] = {}
    for name, this in best.items():
        p50, p99 = percentile(this.latencies, 0.5) * 1000, percentile(this.latencies, 0.99) * 1000
        duplicates, missing = max(this.extra_rows, 0), max(-this.extra_rows, 0)
        results |= {
            f"{name}_rate": this.rate,
            f"{name}_p50": p50,
            f"{name}_p99": p99,
            f"{name}_errors": this.errors,
            f"{name}_duplicates": duplicates,
            f"{name}_missing": missing,
        }
        print(
            f"odk {name:8s}: {this.rate:8.0f} submissions/s  p50 {p50:6.1f} ms  "
            f"p99 {p99:6.1f} ms  errors {this.errors}  duplicates {duplicates}  missing {missing}"
        )
    print(
        f"odk ratio: {results['collect_rate'] / results['json_rate']:.2f} x the JSON API's "
        f"throughput (target >= 0.5); best of {rounds} alternating rounds of {requests} + 10 % "
        f"resends, {concurrency} connections, Digest auth"
    )
    # CPU per survey (the server and its database backends), steadier than throughput on a
    # machine that other work shares: its ratio is the throughput a dedicated machine gets.
    for name in cpu:
        results[f"{name}_cpu_ms"] = min(cpu[name])
    print(
        f"odk cpu per survey: json {results['json_cpu_ms']:.2f} ms, collect "
        f"{results['collect_cpu_ms']:.2f} ms (server + database); ratio "
        f"{results['json_cpu_ms'] / results['collect_cpu_ms']:.2f} (target >= 0.5)"
    )
    return results


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the benchmark; return the figures."""
    parser = bench_arguments(__doc__, "cdfmap_bench_ingest")
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument(
        "--workers", type=int, default=2, help="uvicorn workers, both servers (one per core)"
    )
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per server")
    parser.add_argument(
        "--collect-only", action="store_true", help="only the ODK Collect run beside the JSON API"
    )
    parser.add_argument(
        "--baseline-http",
        default=BASELINE_HTTP,
        help="the baseline's uvicorn protocol (app.http_protocol:HttpProtocol: the app's own)",
    )
    parser.add_argument("--single-only", action="store_true", help="only the single POSTs")
    parser.add_argument("--batch-only", action="store_true", help="only the 500-survey batches")
    args = parser.parse_args(argv)
    requests, batches, rounds = (
        (200, 2, 1) if args.quick else (args.requests, args.batches, args.rounds)
    )
    with bench_database(args.database, 0, args.keep) as url:
        if args.collect_only:
            return collect_figures(url, requests, args.concurrency, args.workers, rounds)
        if args.single_only:
            return single_figures(
                url, requests, args.concurrency, args.workers, rounds, args.baseline_http
            )
        if args.batch_only:
            return batch_figures(url, batches, rounds)
        figures = single_figures(
            url, requests, args.concurrency, args.workers, rounds, args.baseline_http
        )
        figures |= batch_figures(url, batches, rounds)
        figures |= collect_figures(url, requests, args.concurrency, args.workers, rounds)
    return figures


if __name__ == "__main__":
    main()
