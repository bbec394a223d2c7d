"""Use case: back up the database and the media files, and restore them, verified.

A backup is a directory:

    database.dump   pg_dump custom format, taken in one snapshot
    media/          every file of the media directory (photos, recordings, documents)
    manifest.json   rows per table (counted in the dump's snapshot), sha256 and size of every
                    file above, the schema revision, the versions of the server and pg_dump

The manifest is written last: a directory without one is an unfinished backup and is never
restored. Media files are copied after the snapshot is taken; a survey's file is written
before its row is committed (app.services.attachments), so every file a row of the dump
names is there to copy. Restoring checks every checksum before it touches anything, goes
only into an empty database and an empty media directory, and checks the counts after.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import psycopg

from app.db import backup as database
from app.db.migrate import head_revision, known_revision
from app.services.cdf_projects_photos import FOLDER as PROJECT_PHOTOS

FORMAT = "cdfmap-backup/1"
DUMP = "database.dump"
MEDIA = "media"
MANIFEST = "manifest.json"
CHUNK = 1024 * 1024


class BackupError(RuntimeError):
    """A backup or a restore that cannot be done, with what to do about it."""


class PartialRestore(BackupError):
    """A restore that failed after the database was restored (its media, its check)."""


@dataclass
class Manifest:
    """What a backup holds, as written to manifest.json."""

    created_at: str
    schema_revision: str | None
    server_version: str
    pg_dump_version: str
    tables: dict[str, int]
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # path -> sha256, bytes
    missing_files: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for a person: surveys, files, size."""
        surveys = self.tables.get("public.household_surveys", 0)
        media = [f for f in self.files if f.startswith(MEDIA + "/")]
        size = sum(int(f["bytes"]) for f in self.files.values())
        line = (
            f"{surveys} surveys, {sum(self.tables.values())} rows in {len(self.tables)} tables, "
            f"{len(media)} media files, {size / 1024 / 1024:.1f} MB, schema {self.schema_revision}"
        )
        if self.missing_files:
            line += f"; {len(self.missing_files)} files named by the database were missing"
        return line

    def to_json(self) -> str:
        """The manifest file's text."""
        body = {"format": FORMAT, **self.__dict__}
        return json.dumps(body, indent=2, ensure_ascii=False, sort_keys=True) + "\n"

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        """The manifest of a backup directory, or BackupError."""
        path = directory / MANIFEST
        if not path.is_file():
            raise BackupError(
                f"{directory} has no {MANIFEST}: not a backup, or a backup that did not finish"
            )
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
            if body.pop("format", None) != FORMAT:
                raise ValueError(f"format is not {FORMAT}")
            manifest = cls(**body)
            if not isinstance(manifest.files, dict) or DUMP not in manifest.files:
                raise ValueError(f"{DUMP} is not listed")
            if not isinstance(manifest.tables, dict) or not all(
                isinstance(k, str) and type(v) is int for k, v in manifest.tables.items()
            ):
                raise ValueError("its tables are not row counts by table")
        except (ValueError, TypeError) as exc:
            raise BackupError(f"{path} is not a valid manifest: {exc}") from exc
        return manifest


def sha256_of(path: Path) -> str:
    """The file's sha256, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _media_files(media_dir: Path) -> list[Path]:
    """Every file under the media directory, without the uploads' temporary .part files."""
    if not media_dir.is_dir():
        return []
    return sorted(
        path
        for path in media_dir.rglob("*")
        if path.is_file()
        and not path.is_symlink()
        and not any(part.startswith(".") for part in path.relative_to(media_dir).parts)
    )


def _named_files(snap: database.Snapshot) -> dict[str, str]:
    """The files the database names, by their path under the media directory: sha256."""
    named = {f"{survey}/{filename}": digest for survey, filename, digest in snap.attachments}
    for project, phase, filename, digest in snap.project_photos:
        named[f"{PROJECT_PHOTOS}/{project}/{phase}/{filename}"] = digest
    return named


def _empty_or_missing(directory: Path) -> bool:
    return not directory.exists() or (directory.is_dir() and not any(directory.iterdir()))


def backup(libpq_url: str, media_dir: Path, out: Path) -> Manifest:
    """Write a backup of the database and media directory into `out` (new or empty)."""
    if not _empty_or_missing(out):
        raise BackupError(f"{out} is not empty: back up into a new directory")
    # It holds names, phone numbers and photos: readable by its owner only.
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    out.chmod(0o700)
    try:
        with database.snapshot(libpq_url) as snap:
            named = _named_files(snap)
            if named and not media_dir.is_dir():
                # An unmounted disk: a backup without the photos would pass for a good one
                # and push a complete older one out of the retention.
                raise BackupError(
                    f"the media directory {media_dir} is missing (not mounted?): the "
                    f"{len(named)} files the database names would not be in the backup"
                )
            version = database.dump(libpq_url, snap.name, out / DUMP)
    except (database.DatabaseToolError, psycopg.Error) as exc:
        raise BackupError(str(exc)) from exc
    manifest = Manifest(
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        schema_revision=snap.revision,
        server_version=snap.server_version,
        pg_dump_version=version,
        tables=snap.tables,
    )
    manifest.files[DUMP] = {"sha256": sha256_of(out / DUMP), "bytes": (out / DUMP).stat().st_size}
    for source in _media_files(media_dir):
        relative = source.relative_to(media_dir).as_posix()
        target = out / MEDIA / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        # The copy's checksum: what the restore will verify is what was written here.
        manifest.files[f"{MEDIA}/{relative}"] = {
            "sha256": sha256_of(target),
            "bytes": target.stat().st_size,
        }
    for relative, digest in named.items():
        entry = manifest.files.get(f"{MEDIA}/{relative}")
        if entry is None or entry["sha256"] != digest:
            manifest.missing_files.append(relative)
    # Last, and atomically: its presence says the backup is complete.
    partial = out / f".{MANIFEST}.part"
    partial.write_text(manifest.to_json(), encoding="utf-8")
    os.replace(partial, out / MANIFEST)
    return manifest


def _safe_member(name: str) -> PurePosixPath:
    """A manifest path that stays inside the backup directory (no /, .., or hidden parts)."""
    path = PurePosixPath(name)
    if (
        path.is_absolute()
        or not path.parts
        or any(part in ("", ".", "..") or part.startswith(".") for part in path.parts)
        or "\\" in name
        or "\x00" in name
        or not (name == DUMP or (path.parts[0] == MEDIA and len(path.parts) > 1))
    ):
        raise BackupError(f"the manifest names a file outside the backup: {name!r}")
    return path


def verify(directory: Path) -> Manifest:
    """Check a backup: its manifest, every file's size and sha256, no file it does not list."""
    manifest = Manifest.read(directory)
    for name, entry in manifest.files.items():
        path = directory / _safe_member(name)
        if not path.is_file() or path.is_symlink():
            raise BackupError(f"{name} is missing from the backup")
        if path.stat().st_size != entry.get("bytes") or sha256_of(path) != entry.get("sha256"):
            raise BackupError(f"{name} does not match its checksum: the backup is damaged")
    listed = set(manifest.files)
    for path in _media_files(directory / MEDIA):
        name = f"{MEDIA}/{path.relative_to(directory / MEDIA).as_posix()}"
        if name not in listed:
            raise BackupError(f"{name} is in the backup but not in its manifest")
    return manifest


def restore(directory: Path, libpq_url: str, media_dir: Path) -> Manifest:
    """Restore a verified backup into an empty database and an empty media directory."""
    manifest = verify(directory)
    revision = manifest.schema_revision
    if revision is not None and not known_revision(revision):
        raise BackupError(
            f"the backup's schema revision {revision} is newer than this app's "
            f"{head_revision()}: restore it with the release that made it"
        )
    try:
        with psycopg.connect(libpq_url) as connection:
            tables = database.user_tables(connection)
            role, superuser = connection.execute(
                "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user"
            ).fetchone() or ("", False)
    except psycopg.Error as exc:
        raise BackupError(f"cannot connect to the target database: {exc}") from exc
    if tables:
        names = ", ".join(f"{schema}.{table}" for schema, table in tables[:5])
        raise BackupError(
            f"the target database is not empty (it has {len(tables)} tables: {names}...): "
            f"restore only into a new, empty database: {_new_database_advice(role, superuser)}"
        )
    if not _empty_or_missing(media_dir):
        raise BackupError(
            f"the media directory {media_dir} is not empty: restore into an empty one "
            "(or move its files away first)"
        )
    _check_writable(media_dir)  # before the database: a restore is never left half done
    with tempfile.TemporaryDirectory(prefix="cdfmap-restore-") as scratch:
        try:
            database.restore(libpq_url, directory / DUMP, Path(scratch) / "toc.list")
        except database.DatabaseToolError as exc:
            raise BackupError(f"the database restore failed and was rolled back: {exc}") from exc
    try:
        _restore_media(directory, manifest, media_dir)
    except (OSError, BackupError) as exc:
        raise PartialRestore(
            f"the database was restored, but not every media file ({exc}): empty the media "
            f"directory {media_dir} and the database, then restore again"
        ) from exc
    restored = database.table_counts(libpq_url)
    differing = {
        table: (count, restored.get(table))
        for table, count in manifest.tables.items()
        if restored.get(table) != count
    }
    if differing:
        raise PartialRestore(
            f"the database was restored, but its rows differ from the manifest (expected, "
            f"found): {differing}"
        )
    return manifest


def _new_database_advice(role: str, superuser: bool) -> str:
    """How this role gets an empty database to restore into. `restore --create-database`
    needs a superuser: CREATEDB alone makes the database, but the dump's CREATE EXTENSION
    postgis (not a trusted extension) is then refused and the restore rolled back."""
    if superuser:
        return "point DATABASE_URL at a new database name and run restore --create-database"
    return (
        f"ask the database superuser to create one owned by {role} with PostGIS "
        f"(sudo -u postgres createdb --owner {role} NEW_NAME; sudo -u postgres psql -d "
        "NEW_NAME -c 'CREATE EXTENSION postgis; CREATE EXTENSION pg_trgm;'), point "
        "DATABASE_URL at it and restore again (docs/deploy.md, Backups)"
    )


def _check_writable(media_dir: Path) -> None:
    """BackupError unless files can be written in the media directory (made if missing)."""
    try:
        media_dir.mkdir(parents=True, exist_ok=True)
        probe = media_dir / ".cdfmap-restore-probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise BackupError(f"cannot write in the media directory {media_dir}: {exc}") from exc


def _restore_media(directory: Path, manifest: Manifest, media_dir: Path) -> None:
    """Copy the backup's media files, each checked against its checksum."""
    for name, entry in manifest.files.items():
        if name == DUMP:
            continue
        target = media_dir / PurePosixPath(name).relative_to(MEDIA)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.restore.part")
        shutil.copyfile(directory / name, partial)
        if sha256_of(partial) != entry["sha256"]:
            partial.unlink()
            raise BackupError(f"{name} changed while it was copied: restore again")
        os.replace(partial, target)
