"""Backups that restore: the sample city plus uploaded photos, backed up with the command
line, restored into a new database and media directory, compared row count by row count,
file by file and GeoJSON export byte for byte; and every restore that must not happen
refused before it touches anything."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import create_engine, text

from app.db import backup as database
from app.db.migrate import upgrade_to_head
from app.forms.registry import load_registry
from app.main import create_app
from app.services.backup import Manifest
from app.services.samples import load_sample_city
from app.settings import REPO_ROOT, Settings, with_driver
from tests.auth import bearer, make_token, make_user
from tests.factories import household_survey
from tests.scratch_db import cli, media_digests, scratch_database

HOUSEHOLDS = 150
NASTY_NAME = "Phường Hòa Thuận Đông {{7*7}} </title><script>alert(1)</script> =cmd|' /C calc'!A0"
EXPORTS = (
    "/api/v1/export/households.geojson?city=tam-ky&surveys=all",
    "/api/v1/export/settlements.geojson?city=tam-ky&surveys=all",
    "/api/v1/export/wards.geojson?city=tam-ky&surveys=all",
)


def jpeg(colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


@dataclass
class City:
    url: str
    media: Path
    token: str
    photos: dict[str, bytes]  # "<survey id>/<file>" -> bytes

    def env(self) -> dict[str, str]:
        return {"DATABASE_URL": self.url, "MEDIA_DIR": str(self.media)}


def feature_lines(content: bytes) -> tuple[bytes, list[bytes], bytes]:
    """An export's header, its features (one per line, without the comma between them) in
    the order sent, and its trailer."""
    lines = content.split(b"\n")
    return lines[0], [line.removesuffix(b",") for line in lines[1:-2]], b"\n".join(lines[-2:])


def same_features(restored: bytes, original: bytes) -> bool:
    """Byte for byte the same export, but for the order of the households: that layer has no
    ORDER BY (it streams in the table's physical order, which a restore does not keep)."""
    if restored == original:
        return True
    head, features, tail = feature_lines(original)
    again_head, again_features, again_tail = feature_lines(restored)
    return (head, sorted(features), tail) == (again_head, sorted(again_features), again_tail)


def app_client(url: str, media: Path, token: str) -> TestClient:
    return TestClient(
        create_app(Settings(database_url=url, media_dir=media)), headers=bearer(token)
    )


@pytest.fixture(scope="module")
def city(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    """A city database: the sample city, surveys with hostile names, photos on disk."""
    with scratch_database(database_url, "cdfmap_backup_src") as url:
        sync_url = with_driver(url, "postgresql+psycopg")
        upgrade_to_head(sync_url)
        engine = create_engine(sync_url)
        with engine.begin() as connection:
            load_sample_city(
                connection, load_registry(REPO_ROOT / "forms"), REPO_ROOT / "data/samples", 150
            )
        token = make_token(engine, make_user(engine, "backup-admin", [("national_admin", None)]))
        engine.dispose()
        media = tmp_path_factory.mktemp("media-src")
        photos: dict[str, bytes] = {}
        with app_client(url, media, token) as client:
            for index, colour in enumerate(("red", "green", "blue")):
                body = household_survey()
                body["answers"]["head_name"] = NASTY_NAME if index == 0 else "Trần Văn Bình"
                body["answers"]["photo"] = f"house-{index}.jpg"
                assert client.post("/api/v1/submissions", json=body).status_code == 201
                data = jpeg(colour)
                response = client.post(
                    f"/api/v1/submissions/{body['id']}/attachments/house-{index}.jpg",
                    content=data,
                    headers={"content-type": "image/jpeg"},
                )
                assert response.status_code == 201, response.text
                photos[f"{body['id']}/house-{index}.jpg"] = data
        # An upload's temporary file left by a crash is not part of a backup.
        (media / next(iter(photos)).split("/")[0] / ".house-0.jpg.dead.part").write_bytes(b"x")
        yield City(url, media, token, photos)


@pytest.fixture(scope="module")
def backup_dir(city: City, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("backups") / "nightly"
    done = cli("backup", "--out", str(out), env=city.env())
    assert done.returncode == 0, done.stderr
    assert f"{HOUSEHOLDS + 3} surveys" in done.stdout
    return out


def test_manifest_counts_and_checksums(city: City, backup_dir: Path) -> None:
    manifest = Manifest.read(backup_dir)
    assert manifest.tables == database.table_counts(city.url)
    assert manifest.tables["public.household_surveys"] == HOUSEHOLDS + 3
    assert manifest.tables["public.attachments"] == 3
    assert manifest.missing_files == []
    assert set(manifest.files) == {"database.dump", *(f"media/{name}" for name in city.photos)}
    for name, data in city.photos.items():
        import hashlib

        assert manifest.files[f"media/{name}"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest.schema_revision is not None
    assert backup_dir.stat().st_mode & 0o777 == 0o700  # names, phones and photos inside
    assert manifest.server_version.startswith("15") or manifest.server_version[:2].isdigit()


def test_round_trip_into_a_new_database(
    city: City, backup_dir: Path, database_url: str, tmp_path: Path
) -> None:
    media = tmp_path / "media-restored"
    with scratch_database(database_url, "cdfmap_restored", create=False) as url:
        done = cli(
            "restore",
            "--from",
            str(backup_dir),
            "--create-database",
            env={"DATABASE_URL": url, "MEDIA_DIR": str(media)},
        )
        assert done.returncode == 0, done.stderr
        assert database.table_counts(url) == database.table_counts(city.url)
        assert media_digests(media) == {
            name: digest
            for name, digest in media_digests(city.media).items()
            if not name.split("/")[-1].startswith(".")
        }
        with (
            app_client(city.url, city.media, city.token) as before,
            app_client(url, media, city.token) as after,
        ):
            for path in EXPORTS:
                original, restored = before.get(path), after.get(path)
                assert original.status_code == 200, original.text
                assert restored.status_code == 200, restored.text
                assert same_features(restored.content, original.content), path
            households = before.get(EXPORTS[0]).content
            assert len(json.loads(households)["features"]) == HOUSEHOLDS + 3
            assert len(feature_lines(households)[1]) == HOUSEHOLDS + 3
            for name, data in city.photos.items():
                survey, filename = name.split("/")
                served = after.get(f"/api/v1/submissions/{survey}/attachments/{filename}")
                assert served.status_code == 200
                assert served.content == data
            # The hostile name came back as the same text, nothing more.
            with create_engine(with_driver(url, "postgresql+psycopg")).connect() as connection:
                names = connection.execute(
                    text("SELECT answers->>'head_name' FROM household_surveys")
                ).scalars()
                assert NASTY_NAME in set(names)

        again = restore(backup_dir, url, tmp_path / "other")
        assert again.returncode == 2
        assert "not empty" in again.stderr and "nothing restored" in again.stderr
        # A superuser (as here) may let restore make the database and its PostGIS itself.
        assert "run restore --create-database" in again.stderr


def test_refuses_a_media_directory_that_is_not_empty(
    backup_dir: Path, database_url: str, tmp_path: Path
) -> None:
    media = tmp_path / "busy"
    (media / "someone").mkdir(parents=True)
    (media / "someone" / "photo.jpg").write_bytes(b"keep me")
    with scratch_database(database_url, "cdfmap_restore_busy") as url:
        done = restore(backup_dir, url, media)
        assert done.returncode == 2
        assert "media directory" in done.stderr and "not empty" in done.stderr
        assert database.table_counts(url) == {}
    assert (media / "someone" / "photo.jpg").read_bytes() == b"keep me"


def test_a_media_directory_that_cannot_be_written_stops_before_the_database(
    backup_dir: Path, database_url: str, tmp_path: Path
) -> None:
    # The database was restored first, then the media copy crashed (a traceback), and a
    # second try was refused: the database was no longer empty.
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    with scratch_database(database_url, "cdfmap_restore_nomedia") as url:
        done = restore(backup_dir, url, blocker / "media")
        assert done.returncode == 2
        assert "nothing restored: cannot write in the media directory" in done.stderr
        assert "Traceback" not in done.stderr
        assert database.table_counts(url) == {}


def test_counts_that_differ_after_the_restore_say_it_is_incomplete(
    backup_dir: Path, database_url: str, tmp_path: Path
) -> None:
    copy = damaged_copy(backup_dir, tmp_path)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["tables"]["public.household_surveys"] += 1
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with scratch_database(database_url, "cdfmap_restore_counts") as url:
        done = restore(copy, url, tmp_path / "m")
        assert done.returncode == 2
        assert "restore incomplete: the database was restored, but its rows differ" in done.stderr
        assert "nothing restored" not in done.stderr


def restore(source: Path, url: str, media: Path) -> subprocess.CompletedProcess[str]:
    """`restore --from source` into the database at `url` and the media directory `media`."""
    return cli("restore", "--from", str(source), env={"DATABASE_URL": url, "MEDIA_DIR": str(media)})


def damaged_copy(backup_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(backup_dir, copy)
    return copy


@pytest.mark.parametrize(
    "damage",
    ["flipped_byte", "missing_file", "extra_file", "escape", "no_manifest", "tables_not_counts"],
)
def test_refuses_a_damaged_backup_before_touching_anything(
    damage: str, backup_dir: Path, database_url: str, tmp_path: Path
) -> None:
    copy = damaged_copy(backup_dir, tmp_path)
    photo = next(path for path in (copy / "media").rglob("*.jpg"))
    expected = "checksum"
    if damage == "flipped_byte":
        data = bytearray(photo.read_bytes())
        data[len(data) // 2] ^= 0xFF
        photo.write_bytes(bytes(data))
    elif damage == "missing_file":
        photo.unlink()
        expected = "missing"
    elif damage == "extra_file":
        (photo.parent / "planted.jpg").write_bytes(b"\xff\xd8\xff planted")
        expected = "not in its manifest"
    elif damage == "escape":
        manifest = json.loads((copy / "manifest.json").read_text())
        manifest["files"]["media/../../../etc/cron.d/evil"] = {"sha256": "0" * 64, "bytes": 1}
        (copy / "manifest.json").write_text(json.dumps(manifest))
        expected = "outside the backup"
    elif damage == "tables_not_counts":  # was an AttributeError after a full restore
        manifest = json.loads((copy / "manifest.json").read_text())
        manifest["tables"] = []
        (copy / "manifest.json").write_text(json.dumps(manifest))
        expected = "not a valid manifest"
    else:
        (copy / "manifest.json").unlink()
        expected = "no manifest.json"
    media = tmp_path / "media"
    with scratch_database(database_url, "cdfmap_restore_bad") as url:
        done = restore(copy, url, media)
        assert done.returncode == 2, done.stdout
        assert expected in done.stderr
        assert database.table_counts(url) == {}
    assert not media.exists()


def test_backup_refuses_a_directory_that_is_not_empty(city: City, tmp_path: Path) -> None:
    (tmp_path / "old.txt").write_text("yesterday")
    done = cli("backup", "--out", str(tmp_path), env=city.env())
    assert done.returncode == 2
    assert "not empty" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.txt"]


def test_a_backup_taken_while_phones_send_is_consistent(
    city: City, database_url: str, tmp_path: Path
) -> None:
    """Surveys keep arriving during the backup: the dump and the manifest's counts are one
    snapshot, so the restored rows are exactly what the manifest says."""
    import threading

    stop = threading.Event()
    sent: list[int] = []

    def send() -> None:
        with app_client(city.url, city.media, city.token) as client:
            while not stop.is_set():
                sent.append(client.post("/api/v1/submissions", json=household_survey()).status_code)

    sender = threading.Thread(target=send)
    sender.start()
    try:
        while len(sent) < 5:  # surveys are arriving
            time.sleep(0.05)
        out = tmp_path / "busy-backup"
        done = cli("backup", "--out", str(out), env=city.env())
    finally:
        stop.set()
        sender.join()
    assert done.returncode == 0, done.stderr
    assert set(sent) == {201}, sent
    manifest = Manifest.read(out)
    before = manifest.tables["public.household_surveys"]
    after = database.table_counts(city.url)["public.household_surveys"]
    assert before < after, (before, after, len(sent))
    with scratch_database(database_url, "cdfmap_restore_busy_src") as url:
        restored = restore(out, url, tmp_path / "m")
        assert restored.returncode == 0, restored.stderr
        restored_counts = database.table_counts(url)
        assert restored_counts == manifest.tables, {
            table: (count, restored_counts.get(table))
            for table, count in manifest.tables.items()
            if restored_counts.get(table) != count
        }


def test_restore_by_the_apps_own_role_as_deploy_md_sets_it_up(
    city: City, backup_dir: Path, database_url: str, tmp_path: Path
) -> None:
    """docs/deploy.md: the database belongs to the app's role, PostGIS is created by the
    superuser. PostGIS's spatial_ref_sys is the superuser's, and the dump holds its (empty)
    COPY: the restore stopped at 'permission denied for table spatial_ref_sys'."""
    import uuid

    from sqlalchemy import make_url

    role = f"cdfmap_owner_{uuid.uuid4().hex[:8]}"
    superuser = make_url(with_driver(database_url, "postgresql+psycopg"))
    admin = create_engine(superuser, isolation_level="AUTOCOMMIT")
    as_role = make_url(with_driver(database_url, "postgresql")).set(
        username=role, password=None, database=role
    )
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE ROLE "{role}" LOGIN'))
            connection.execute(text(f'CREATE DATABASE "{role}" OWNER "{role}"'))
        extensions = create_engine(superuser.set(database=role))
        with extensions.begin() as connection:  # by the superuser, as the guide does
            connection.execute(text("CREATE EXTENSION postgis; CREATE EXTENSION pg_trgm;"))
        extensions.dispose()
        target = as_role.render_as_string(hide_password=False)
        done = restore(backup_dir, target, tmp_path / "media")
        assert done.returncode == 0, done.stderr
        restored = database.table_counts(target)
        assert {t: restored.get(t) for t in Manifest.read(backup_dir).tables} == (
            Manifest.read(backup_dir).tables
        )
        # Again: refused, and told what works for a role that may not create PostGIS
        # (restore --create-database would make the database, then fail on the extension).
        again = restore(backup_dir, target, tmp_path / "media-again")
        assert again.returncode == 2 and "not empty" in again.stderr
        assert f"ask the database superuser to create one owned by {role}" in again.stderr
        assert f"createdb --owner {role} NEW_NAME" in again.stderr
        assert "--create-database" not in again.stderr
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{role}" WITH (FORCE)'))
            connection.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


def test_a_missing_media_directory_stops_the_backup(city: City, tmp_path: Path) -> None:
    """An unmounted disk: the backup said "complete" with 0 media files, and the nightly
    script then removed an older backup that had every photo."""
    out = tmp_path / "nightly"
    done = cli("backup", "--out", str(out), env={**city.env(), "MEDIA_DIR": str(tmp_path / "gone")})
    assert done.returncode == 2, done.stdout
    assert "media directory" in done.stderr and "not mounted" in done.stderr
    assert not (out / "manifest.json").exists()


@pytest.fixture
def project_photo(city: City) -> Iterator[str]:
    """A CDF project photo row in the city's database (its file under media/cdf-projects)."""
    engine = create_engine(with_driver(city.url, "postgresql+psycopg"))
    with engine.begin() as connection:
        project = connection.execute(
            text(
                "INSERT INTO cdf_projects (city_id, settlement_id, name, kind, status, geom) "
                "SELECT s.city_id, s.id, 'Cống thoát nước', 'drain', 'building', "
                "ST_PointOnSurface(s.geom) FROM settlements s ORDER BY s.id LIMIT 1 RETURNING id"
            )
        ).scalar_one()
        connection.execute(
            text(
                "INSERT INTO cdf_project_photos (project_id, phase, filename, content_type, "
                "size_bytes, sha256) VALUES (:project, 'before', 'drain.jpg', 'image/jpeg', 3, "
                "repeat('0', 64))"
            ),
            {"project": project},
        )
    try:
        yield f"cdf-projects/{project}/before/drain.jpg"
    finally:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM cdf_projects WHERE id = :id"), {"id": project})
        engine.dispose()


def test_files_missing_from_the_media_are_named_and_the_night_keeps_older_backups(
    city: City, tmp_path: Path, project_photo: str
) -> None:
    """A survey photo and a CDF project photo the database names but the disk lacks: the
    backup is written, names both and exits 3; the nightly script keeps it and the newest
    whole backup (project photos were not checked at all)."""
    media = tmp_path / "media"
    shutil.copytree(city.media, media)
    lost = sorted(city.photos)[0]
    (media / lost).unlink()
    root = tmp_path / "backups"
    stamp = time.time() - 90 * 86400
    old = root / "2026-01-01T013000Z"  # the last whole backup, long ago
    lacking = root / "2026-01-02T013000Z"  # a night whose media lacked a file
    for directory, manifest in ((old, "{}"), (lacking, '{\n  "missing_files": [\n    "x"\n  ]\n}')):
        directory.mkdir(parents=True)
        (directory / "manifest.json").write_text(manifest)
        os.utime(directory / "manifest.json", (stamp, stamp))
    env = {
        **os.environ,
        **city.env(),
        "MEDIA_DIR": str(media),
        "BACKUP_ROOT": str(root),
        "KEEP_AT_LEAST": "1",
        "RETAIN_DAYS": "14",
        "PYTHON": sys.executable,
    }
    done = subprocess.run(
        [str(REPO_ROOT / "deploy" / "backup-nightly.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1, done.stdout
    assert "backup incomplete" in done.stderr
    assert lost in done.stderr and project_photo in done.stderr
    # The newest whole backup stays however old; nights lacking files age out as usual (a
    # file lost for good stopped every removal, and the disk filled up).
    assert old.exists() and not lacking.exists()
    (tonight,) = [path for path in root.iterdir() if path != old]
    assert sorted(Manifest.read(tonight).missing_files) == sorted([lost, project_photo])
