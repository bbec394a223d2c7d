"""Use case: is this server ready for traffic? The database answers at the schema revision
this code was written for, the media directory takes a new file and FORMS_DIR holds the
household form (HOUSEHOLD_FORM: without it no survey can be taken); it also says whether the
print fonts are installed (without them a name in Khmer, Chinese... prints as empty boxes)."""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.migrate import database_revision, schema_problem
from app.db.replica import ReplicaReads, replica_state
from app.forms.registry import FormRegistry
from app.geo.print_layout import missing_print_fonts
from app.services.indicators import read_weights

log = logging.getLogger(__name__)
DATABASE_SECONDS = 5.0


def media_writable(media_dir: Path) -> bool:
    """Whether a file can be created (then removed) in the media directory, made if missing,
    as an upload would."""
    try:
        media_dir.mkdir(parents=True, exist_ok=True)
        probe = media_dir / f".ready-{uuid.uuid4().hex}.part"
        descriptor = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(descriptor, b"ok")
        finally:
            os.close(descriptor)
            probe.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("readiness: the media directory is not writable: %r", exc)
        return False
    return True


def forms_problem(forms_dir: Path, registry: FormRegistry, household_form: str) -> str | None:
    """Why the forms read from FORMS_DIR cannot take household surveys, or None: the folder
    is missing (a typo read as an empty folder: the server served no form, without a word),
    or HOUSEHOLD_FORM names no form in it."""
    if not forms_dir.is_dir():
        return f"FORMS_DIR {forms_dir} is not a folder: set it to the folder of the form files"
    if household_form not in registry.versions:
        found = ", ".join(sorted(registry.versions)) or "none"
        return (
            f"HOUSEHOLD_FORM {household_form!r} is no form in FORMS_DIR {forms_dir} "
            f"(its forms: {found})"
        )
    return None


def priorities_problem(path: Path) -> str | None:
    """Why PRIORITIES_PATH cannot be read as the priority score's weights, or None (every
    indicator, map and export needs them: each answered 500 with a traceback instead)."""
    try:
        read_weights(path)
    except OSError as exc:
        return f"PRIORITIES_PATH {path}: {exc.strerror or exc}"
    except Exception as exc:  # YAML or weights the file gets wrong: said as they are
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"PRIORITIES_PATH {path}: {reason.removeprefix(f'{path}: ')}"
    return None


async def readiness(
    engine: AsyncEngine,
    media_dir: Path,
    reads: ReplicaReads | None = None,
    forms: str | None = None,
) -> tuple[bool, dict[str, Any]]:
    """(ready, what was checked: database ok/unavailable/schema_mismatch, media ok/unwritable,
    forms ok/missing (`forms` is forms_problem()'s answer);
    print_fonts ok/missing and, with a read replica, its state and lag, which never make the
    server unready: without a fallback font only names in that script print as boxes, and
    the replica's reads go to the primary while it is down).

    Reasons go to the log only: they name hosts, users, databases and paths.
    """
    checks: dict[str, Any] = {}
    try:
        revision = await asyncio.wait_for(database_revision(engine), DATABASE_SECONDS)
    except Exception as exc:  # any failure to reach the database means not ready
        log.warning("readiness: the database does not answer: %r", exc)
        checks["database"] = "unavailable"
    else:
        problem = schema_problem(revision)
        if problem is not None:
            log.warning("readiness: %s", problem)
        checks["database"] = "ok" if problem is None else "schema_mismatch"
    writable = await asyncio.to_thread(media_writable, media_dir)
    checks["media"] = "ok" if writable else "unwritable"
    if forms is not None:
        log.warning("readiness: %s", forms)
    checks["forms"] = "ok" if forms is None else "missing"
    ready = all(value == "ok" for value in checks.values())
    missing = await asyncio.to_thread(missing_print_fonts)
    if missing:
        log.warning("readiness: print fonts missing (scripts/system-deps.sh): %s", missing)
    checks["print_fonts"] = "missing" if missing else "ok"  # said, never unready for it
    replica: dict[str, Any] = {}
    if reads is not None:
        try:
            replica = await asyncio.wait_for(replica_state(reads), DATABASE_SECONDS)
        except TimeoutError:  # connected, then no answer (a network cut): down for reads too
            reads.mark_down(TimeoutError("the read replica did not answer /readyz in time"))
            replica = {"replica": "unavailable"}
    return ready, {"status": "ok" if ready else "unavailable", **checks, **replica}
