"""A real streaming read replica of the test server, for the session.

The replica is a second PostgreSQL cluster of the same installation on this machine
(`pg_createcluster`), filled by `pg_basebackup -R -X stream` from the tests' server and
started as a hot standby; it is dropped at the end (`pg_dropcluster --stop`). The base backup
copies the whole server once per session (its size is that of every database on it: a few
hundred MB take seconds). The server gets a `host replication all 127.0.0.1/32 trust` line
in its pg_hba.conf when it has none, and a configuration reload (never a restart: other test
sessions use it). Clusters left by a session that died are dropped by the next.

Needs root (pg_createcluster, files owned by postgres), as `make test` runs in CI; anything
missing fails the tests with what to do, never skips them.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import make_url

PORTS = range(5433, 5441)
PREFIX = "cdfmap_replica_"
REPLICATION_LINE = "host replication all 127.0.0.1/32 trust"
LOCAL = ipaddress.ip_address("127.0.0.1")
# Settings a hot standby must have at least as high as its primary, or it refuses to start.
AT_LEAST_PRIMARY = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)
CATCH_UP_SECONDS = 120.0
ATTEMPTS = 3


def _run(*command: str, timeout: float = 300) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr}")
    return done.stdout


def _as_postgres(*command: str, timeout: float = 300) -> str:
    return _run("runuser", "-u", "postgres", "--", *command, timeout=timeout)


def _clusters() -> list[tuple[str, str, int, str]]:
    """(version, name, port, status) of this machine's clusters."""
    found = []
    for line in _run("pg_lsclusters", "--no-header").splitlines():
        fields = line.split()
        if len(fields) >= 4:
            found.append((fields[0], fields[1], int(fields[2]), fields[3]))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _gone(name: str) -> bool:
    """Whether a replica cluster or slot is of a test session that is no more (its pid)."""
    match = re.fullmatch(PREFIX + r"(\d+)", name)
    return match is not None and not _alive(int(match.group(1)))


def _drop_leftovers(version: str, primary: psycopg.Connection) -> None:
    """Drop the replicas of test sessions that are gone, and their slots on the server (a
    slot keeps the server's WAL for its replica for ever)."""
    for found_version, name, _port, _status in _clusters():
        if found_version == version and _gone(name):
            _run("pg_dropcluster", "--stop", version, name)
    for (slot,) in primary.execute(
        "SELECT slot_name FROM pg_replication_slots WHERE NOT active AND slot_name LIKE %s",
        (PREFIX + "%",),
    ).fetchall():
        if _gone(slot):
            _drop_slot(primary, slot)


def _drop_slot(primary: psycopg.Connection, slot: str) -> None:
    primary.execute(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = %s",
        (slot,),
    )


def _free_port() -> int:
    taken = {port for _v, _n, port, _s in _clusters()}
    for port in PORTS:
        if port in taken:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free port for the replica in {PORTS.start}..{PORTS.stop - 1}")


def _replication_trusted(primary: psycopg.Connection) -> bool:
    """Whether the first pg_hba.conf rule for replication from 127.0.0.1 is `trust`."""
    rows = primary.execute(
        "SELECT address, netmask, auth_method FROM pg_hba_file_rules"
        " WHERE 'replication' = ANY(database) AND type LIKE 'host%' ORDER BY line_number"
    ).fetchall()
    for address, netmask, method in rows:
        if address in ("all", "samehost", "samenet"):
            return bool(method == "trust")
        try:
            network = ipaddress.ip_network(f"{address}/{netmask or address}", strict=False)
        except ValueError:
            continue  # a host name
        if LOCAL in network:
            return bool(method == "trust")
    return False


def _allow_replication(primary: psycopg.Connection) -> None:
    """The server's pg_hba.conf lets 127.0.0.1 replicate without a password: a line put
    first (rules match in order; Debian's own file asks replication for a password) and a
    reload, when it does not."""
    if _replication_trusted(primary):
        return
    row = primary.execute("SHOW hba_file").fetchone()
    assert row is not None
    hba = Path(row[0])
    text = hba.read_text()
    lines = text.splitlines()
    if not lines or lines[0] != REPLICATION_LINE:
        note = "# (the line above: cdfmap tests, a replica on this machine)"
        hba.write_text(f"{REPLICATION_LINE}\n{note}\n{text}")
    primary.execute("SELECT pg_reload_conf()")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the reload is asynchronous
        if _replication_trusted(primary):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{hba}: the replication line was not taken up by the server")


@dataclass
class Replica:
    """The replica cluster: its port, and what the tests do with it."""

    version: str
    name: str
    port: int
    primary_url: str  # libpq URL of the primary's postgres database

    def url(self, database_url: str) -> str:
        """`database_url` (a database on the primary) on the replica."""
        return (
            make_url(database_url)
            .set(host="127.0.0.1", port=self.port)
            .render_as_string(hide_password=False)
        )

    def connect(self, database: str = "postgres") -> psycopg.Connection:
        """A connection to the replica (autocommit)."""
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=database, autocommit=True
        )

    def wait_caught_up(self) -> None:
        """Wait until the replica has replayed everything the primary has written so far."""
        with psycopg.connect(self.primary_url, autocommit=True) as primary:
            row = primary.execute("SELECT pg_current_wal_lsn()::text").fetchone()
        assert row is not None
        target = row[0]
        deadline = time.monotonic() + CATCH_UP_SECONDS
        with self.connect() as replica:
            while True:
                row = replica.execute(
                    "SELECT pg_last_wal_replay_lsn() >= CAST(%s AS pg_lsn)", (target,)
                ).fetchone()
                if row and row[0]:
                    return
                if time.monotonic() > deadline:
                    raise AssertionError(f"the replica did not replay up to {target}")
                time.sleep(0.02)  # polling a condition, not waiting for a guess

    def _streaming(self, connection: psycopg.Connection) -> bool:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'"
        ).fetchone()
        return bool(row and row[0])

    def _wait_streaming(self, connection: psycopg.Connection, streaming: bool) -> None:
        deadline = time.monotonic() + 60
        while self._streaming(connection) != streaming:
            if time.monotonic() > deadline:
                raise AssertionError(f"the replica's receiver never {streaming=}")
            time.sleep(0.05)  # polling a condition

    @contextlib.contextmanager
    def cut_off(self) -> Iterator[None]:
        """The replica cut off from its primary (as a network failure or a primary that is
        down would), up and answering; streaming again at the end."""
        with self.connect() as connection:
            row = connection.execute("SHOW primary_conninfo").fetchone()
            assert row and row[0], "the replica has no primary_conninfo"
            conninfo = row[0]
            # A port nothing listens on (1): the receiver stops and retries in vain.
            connection.execute("ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port=1'")
            connection.execute("SELECT pg_reload_conf()")
            self._wait_streaming(connection, False)
            try:
                yield
            finally:
                connection.execute(  # a utility statement: no parameters, a quoted literal
                    sql.SQL("ALTER SYSTEM SET primary_conninfo = {}").format(sql.Literal(conninfo))
                )
                connection.execute("SELECT pg_reload_conf()")
                self._wait_streaming(connection, True)

    def stop(self) -> None:
        """Stop the replica's server (as a crash or maintenance would)."""
        _run("pg_ctlcluster", self.version, self.name, "stop", "-m", "fast")

    def start(self) -> None:
        """Start it again and wait until it takes connections."""
        _run("pg_ctlcluster", self.version, self.name, "start")
        self.wait_ready()

    def wait_ready(self) -> None:
        """Wait until the replica takes connections as a standby."""
        deadline = time.monotonic() + 60
        while True:
            try:
                with self.connect() as replica:
                    row = replica.execute("SELECT pg_is_in_recovery()").fetchone()
                    assert row and row[0], "the replica is not a standby"
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


def _fill_and_start(replica: Replica, basebackup: str, host: str, port: int) -> None:
    """Copy the server into the replica's data directory and start it streaming."""
    data = Path(f"/var/lib/postgresql/{replica.version}/{replica.name}")
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(mode=0o700)
    shutil.chown(data, "postgres", "postgres")
    _as_postgres(
        basebackup,
        f"--host={host}",
        f"--port={port}",
        "--username=postgres",
        f"--pgdata={data}",
        "--write-recovery-conf",
        # A slot keeps the WAL written from the backup's start until the replica streams it
        # (without one, a busy server had recycled it by then).
        "--create-slot",
        f"--slot={replica.name}",
        "--wal-method=stream",
        "--checkpoint=fast",
        "--no-sync",  # thrown away after the session
    )
    _run("pg_ctlcluster", replica.version, replica.name, "start", timeout=120)
    replica.wait_ready()
    deadline = time.monotonic() + 60
    with replica.connect() as connection:
        while True:
            row = connection.execute("SELECT status FROM pg_stat_wal_receiver").fetchone()
            if row and row[0] == "streaming":
                return
            if time.monotonic() > deadline:
                raise RuntimeError("the replica does not stream from the server")
            time.sleep(0.1)


def _make_replica(primary_url: str) -> Iterator[Replica]:
    if os.geteuid() != 0:
        raise RuntimeError("the replica tests create a PostgreSQL cluster: run them as root")
    for tool in ("pg_createcluster", "pg_ctlcluster", "pg_dropcluster", "runuser"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is missing: apt-get install postgresql-common util-linux")
    parts = make_url(primary_url)
    if parts.host not in ("127.0.0.1", "localhost"):
        raise RuntimeError(
            f"the replica is made on this machine; the tests' server is {parts.host}"
        )
    with psycopg.connect(primary_url, autocommit=True) as primary:
        settings = dict(
            primary.execute(
                "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)",
                (["server_version_num", "wal_level", *AT_LEAST_PRIMARY],),
            ).fetchall()
        )
        if settings["wal_level"] == "minimal" or int(settings["max_wal_senders"]) < 1:
            raise RuntimeError("the tests' server needs wal_level=replica and max_wal_senders>0")
        _allow_replication(primary)
        version = str(int(settings["server_version_num"]) // 10000)
        _drop_leftovers(version, primary)
    basebackup = f"/usr/lib/postgresql/{version}/bin/pg_basebackup"
    name = f"{PREFIX}{os.getpid()}"
    port = _free_port()
    _run("pg_createcluster", version, name, "-p", str(port), timeout=120)
    try:
        config = Path(f"/etc/postgresql/{version}/{name}")
        # Only this machine's tests connect, as postgres, without a password.
        (config / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n"
        )
        at_least = "".join(f"{key} = {settings[key]}\n" for key in AT_LEAST_PRIMARY)
        (config / "conf.d" / "replica.conf").write_text(
            # Thrown away after the session: no fsync (startup would otherwise sync every
            # copied file first, 10-30 s here).
            f"{at_least}hot_standby = on\nshared_buffers = 32MB\nfsync = off\n"
        )
        replica = Replica(version, name, port, primary_url)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                _fill_and_start(replica, basebackup, parts.host, parts.port or 5432)
                break
            except (RuntimeError, AssertionError, psycopg.OperationalError):
                # Another session's heavy writing on the shared server can still cost a
                # copy its WAL (a slot invalidated, seen once): copy again.
                subprocess.run(
                    ["pg_ctlcluster", version, name, "stop"], capture_output=True, check=False
                )
                with psycopg.connect(primary_url, autocommit=True) as primary:
                    _drop_slot(primary, name)
                if attempt == ATTEMPTS:
                    raise
        yield replica
    finally:
        _run("pg_dropcluster", "--stop", version, name)
        with psycopg.connect(primary_url, autocommit=True) as primary:
            _drop_slot(primary, name)


@pytest.fixture(scope="session")
def replica(database_url: str) -> Iterator[Replica]:
    """A hot standby of the tests' server, streaming from it (the session's database too)."""
    primary_url = (
        make_url(database_url).set(database="postgres").render_as_string(hide_password=False)
    )
    yield from _make_replica(primary_url)
