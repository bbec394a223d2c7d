"""Admin commands: `python -m app.cli --help` (or `cdfmap --help` once installed)."""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

from app.services.access import ROLES
from app.services.indicators import INDICATOR_KEYS
from app.settings import Settings, get_settings

PRINT_INDICATORS = ("priority", *INDICATOR_KEYS)


def terminal_text(text: str) -> str:
    """Text from a file (a ward's code or name in a refusal) as the terminal shows it: control
    characters (ESC, BEL: a code could clear the screen or retitle the window) and invisible
    format characters written as escapes, so that `W1\\u200b` does not pass for `W1`."""
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        for char in text
    )


def _progress(total: int, label: str) -> Callable[[int], None]:
    done = 0
    started = time.monotonic()

    def step(count: int) -> None:
        nonlocal done
        done += count
        width = 30
        filled = int(width * done / max(total, 1))
        rate = done / max(time.monotonic() - started, 1e-6)
        sys.stderr.write(
            f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} ({rate:,.0f}/s)"
        )
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return step


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    """Create PostGIS and upgrade the schema to head (one run at a time: advisory lock)."""
    from app.db.migrate import (
        MigrationBusy,
        SchemaMismatch,
        create_database_if_missing,
        upgrade_to_head,
    )

    if args.create_database and _create_database(settings, create_database_if_missing):
        print("created the database")
    try:
        plan = upgrade_to_head(
            settings.sync_database_url,
            wait=args.wait,
            report=lambda plan: print(plan.describe(), flush=True),
        )
    except (MigrationBusy, SchemaMismatch) as exc:
        print(exc, file=sys.stderr)
        return 3
    print(f"database schema is at head ({plan.head})")
    return 0


class PrivilegeMissing(RuntimeError):
    """The database role may not do what the command needs; the message says whom to ask."""


def _create_database(settings: Settings, create: Callable[[str], bool]) -> bool:
    """`--create-database`: the database, made if missing (True); a role that may not create
    databases gets what to ask the superuser (it was a "permission denied" traceback)."""
    try:
        return create(settings.sync_database_url)
    except Exception as exc:
        if _insufficient_privilege(exc) is None:
            raise
        from sqlalchemy import make_url

        url = make_url(settings.sync_database_url)
        role, name = url.username or "(the user you run this as)", url.database
        raise PrivilegeMissing(
            f"the role {role} may not create databases: ask the database superuser to create "
            f"{name} owned by it (sudo -u postgres createdb -O {role} {name}), then run this "
            "again without --create-database"
        ) from None


# `backup` wrote a backup whose media lack files the database names (exit status).
BACKUP_INCOMPLETE = 3


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    """Write a consistent backup (database dump, media files, manifest) into a new directory."""
    from app.services.backup import BackupError, backup

    try:
        manifest = backup(settings.libpq_database_url, settings.media_dir, Path(args.out))
    except BackupError as exc:
        print(f"backup failed: {exc}", file=sys.stderr)
        return 2
    print(f"backup written to {args.out}: {manifest.summary()}")
    if manifest.missing_files:
        # Written, but not whole: the nightly script keeps it and removes no older one.
        shown = ", ".join(manifest.missing_files[:10])
        more = len(manifest.missing_files) - 10
        print(
            f"backup incomplete: {len(manifest.missing_files)} files the database names are "
            f"missing or changed in {settings.media_dir}: {shown}"
            + (f" and {more} more" if more > 0 else ""),
            file=sys.stderr,
        )
        return BACKUP_INCOMPLETE
    return 0


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    """Restore a backup into an empty database and an empty media directory."""
    from app.db.migrate import create_database_if_missing
    from app.services.backup import BackupError, PartialRestore, restore

    if args.create_database and _create_database(settings, create_database_if_missing):
        print("created the database")
    try:
        manifest = restore(Path(args.from_dir), settings.libpq_database_url, settings.media_dir)
    except PartialRestore as exc:
        print(f"restore incomplete: {exc}", file=sys.stderr)
        return 2
    except BackupError as exc:
        print(f"nothing restored: {exc}", file=sys.stderr)
        return 2
    print(f"restored {args.from_dir}: {manifest.summary()}")
    return 0


def cmd_load_sample(settings: Settings, args: argparse.Namespace) -> int:
    """Load the synthetic sample city (Tam Kỳ) once."""
    from app.forms.registry import load_registry
    from app.i18n import LANGUAGES, translate
    from app.services.samples import (
        DEMO_ACCOUNTS,
        DEMO_PASSWORD,
        load_member_cities,
        load_sample_city,
    )

    forms = load_registry(settings.forms_dir)
    engine = create_engine(settings.sync_database_url)
    try:
        with engine.begin() as connection:
            summary, created = load_sample_city(
                connection,
                forms,
                settings.samples_dir,
                args.households,
                args.seed,
                progress=_progress(args.households, "households"),
            )
        if args.member_cities:
            with engine.begin() as connection:
                members = load_member_cities(
                    connection,
                    forms,
                    args.member_cities,
                    max(1, args.households // 2),
                    args.seed,
                )
        else:
            members = []
    finally:
        engine.dispose()
    print(
        f"sample city: {summary.wards} wards, {summary.settlements} settlements, "
        f"{created} new household surveys"
    )
    for member, new in members:
        print(
            f"member city {member.slug}: {member.wards} wards, {member.settlements} "
            f"settlements, {new} new household surveys"
        )
    if not settings.demo:
        # Loaded for a trial on a server of one's own, demo-admin/demo got "wrong password"
        # without a word why (app.services.auth.may_sign_in). Both languages: the operator
        # may read either, and this command has no --lang.
        accounts = ", ".join(username for username, *_ in DEMO_ACCOUNTS)
        for language in LANGUAGES:
            notice = "cli.demo_accounts_need_demo_mode"
            print(translate(notice, language, accounts=accounts, password=DEMO_PASSWORD))
    return 0


def cmd_fill_shapes(settings: Settings, args: argparse.Namespace) -> int:
    """Give surveys stored before their area was kept their polygon (once after upgrading)."""
    from app.forms.registry import load_registry
    from app.services.survey_shapes import fill_shapes

    engine = create_engine(settings.sync_database_url)
    try:
        result = fill_shapes(engine, load_registry(settings.forms_dir))
    finally:
        engine.dispose()
    print(f"{result.filled} shapes stored, {result.crossing} of them crossing themselves")
    if result.unreadable:
        shown = ", ".join(result.unreadable[:10])
        print(f"{len(result.unreadable)} answers are no polygon (left without one): {shown}")
    return 0


def cmd_check_forms(settings: Settings, args: argparse.Namespace) -> int:
    """Read the forms as the server does; name the sheet, row and reason of every refusal."""
    import logging

    from app.forms.registry import load_registry
    from app.i18n import translate

    # The forms' loaders log each refusal in English (the registry, and a traceback for an
    # unexpected one); here it is said once, in --lang.
    if not settings.forms_dir.is_dir():  # a typo read as an empty folder: nothing, status 0
        path = terminal_text(str(settings.forms_dir))
        print(translate("cli.forms_dir_missing", args.lang, path=path), file=sys.stderr)
        return 2
    logger = logging.getLogger("app.forms")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        registry = load_registry(settings.forms_dir)
    finally:
        logger.setLevel(level)
    for form in registry.all_current():
        versions = ", ".join(sorted(v or "''" for v in registry.versions[form.form_id]))
        print(
            translate(
                "cli.form_loaded",
                args.lang,
                file=terminal_text(form.filename),
                form_id=terminal_text(form.form_id),
                versions=terminal_text(versions),
            )
        )
    for name, problems in sorted(registry.problems.items()):
        print(translate("cli.form_refused", args.lang, file=terminal_text(name)), file=sys.stderr)
        for problem in problems:
            print(f"  - {terminal_text(problem.message(args.lang))}", file=sys.stderr)
    if settings.household_form not in registry.versions:
        print(
            translate(
                "cli.household_form_missing",
                args.lang,
                form_id=terminal_text(settings.household_form),
                path=terminal_text(str(settings.forms_dir)),
                forms=terminal_text(", ".join(sorted(registry.versions)) or "-"),
            ),
            file=sys.stderr,
        )
        return 2
    return 2 if registry.problems else 0


def cmd_check_config(settings: Settings, args: argparse.Namespace) -> int:
    """Check the settings as the server reads them at its start (the service runs this
    first: a setting it cannot work with fails the unit, with its reason, instead of a
    server whose workers each refuse to start)."""
    from app.main import build_app

    # SettingError: said in one line by main(), exit status 2. A missing household form is
    # logged (the server starts all the same: the form may be dropped in).
    build_app(settings)
    print("settings ok")
    return 0


def cmd_write_boundaries(settings: Settings, args: argparse.Namespace) -> int:
    """Regenerate data/samples/tam-ky/*.geojson from the generator."""
    from app.geo import sample_city

    city = sample_city.generate_city(args.seed)
    directory = Path(args.directory or settings.samples_dir / sample_city.CITY_SLUG)
    directory.mkdir(parents=True, exist_ok=True)
    sample_city.write_boundaries(city, directory)
    print(f"wrote {len(city.wards)} wards and {len(city.settlements)} settlements to {directory}")
    return 0


def _stage_progress() -> Callable[[str, int, int], None]:
    """A progress line per stage (checking wards, storing wards, ...) from running counts."""
    bars: dict[str, Callable[[int], None]] = {}
    done: dict[str, int] = {}

    def report(stage: str, count: int, total: int) -> None:
        if stage not in bars:
            bars[stage], done[stage] = _progress(total, stage), 0
        bars[stage](count - done[stage])
        done[stage] = count

    return report


def cmd_import_boundaries(settings: Settings, args: argparse.Namespace) -> int:
    """Import (or update) a city's wards and settlements from GeoJSON, GeoPackage or Shapefile."""
    from app.db.migrate import upgrade_to_head
    from app.errors import InvalidInput
    from app.services.boundaries import LayerOptions, import_city

    upgrade_to_head(settings.sync_database_url)
    engine = create_engine(settings.sync_database_url)
    try:
        with engine.begin() as connection:
            summary = import_city(
                connection,
                slug=args.city,
                name=args.name,
                province=args.province,
                wards_path=Path(args.wards),
                settlements_path=Path(args.settlements) if args.settlements else None,
                crs=args.crs,
                wards_options=LayerOptions(args.layer, args.code_field, args.name_field),
                settlements_options=LayerOptions(
                    args.settlements_layer,
                    args.settlements_code_field,
                    args.settlements_name_field,
                    args.settlements_ward_field,
                ),
                progress=_stage_progress(),
            )
    except InvalidInput as exc:
        print("nothing was imported:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {terminal_text(problem.message(args.lang))}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    for warning in summary.warnings:
        print(f"warning: {terminal_text(warning.message(args.lang))}", file=sys.stderr)
    read_in = "; ".join(f"{layer} read in {crs}" for layer, crs in summary.crs.items())
    print(
        f"{args.city}: {summary.wards} wards, {summary.settlements} settlements, "
        f"{summary.households_replaced} stored households placed again ({read_in})"
    )
    return 0


def cmd_import_context(settings: Settings, args: argparse.Namespace) -> int:
    """Import a city's streets, waterways, water, buildings and landmarks from an
    OpenStreetMap extract (.osm.pbf, .osm, or a GeoPackage made from one); replaces the last."""
    from app.db.migrate import upgrade_to_head
    from app.errors import DomainError
    from app.services.context import import_extract

    shown: list[str] = []

    def progress(layer: str, count: int) -> None:
        if shown and shown[-1] != layer:
            print(file=sys.stderr)  # the last layer's line stays
        shown.append(layer)
        print(f"\r{layer}: {count} features", end="", file=sys.stderr, flush=True)

    upgrade_to_head(settings.sync_database_url)
    engine = create_engine(settings.sync_database_url)
    try:
        with engine.begin() as connection:
            summary = import_extract(connection, args.city, Path(args.file), progress)
    except DomainError as exc:
        print(file=sys.stderr)
        problems = getattr(exc, "problems", None) or [exc]
        print("nothing was imported:", file=sys.stderr)
        for problem in problems:
            print(f"  - {terminal_text(problem.message(args.lang))}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(file=sys.stderr)
    counts = ", ".join(f"{count} {kind}" for kind, count in sorted(summary.counts.items()))
    print(f"{args.city}: {counts or 'nothing'} from {summary.source}")
    return 0


def ward_file_part(ward: dict[str, Any]) -> str:
    """A ward's code as part of a file name: its letters, digits, `.`, `_` and `-` (a code as
    imported may hold `/` or `..`, which made a path or left the folder); a code changed so
    also carries the ward's id, which keeps two such wards apart."""
    code = str(ward["code"])
    part = re.sub(r"[^A-Za-z0-9_.-]+", "-", code).strip(".-") or "ward"
    return part if part == code else f"{part}-{ward['id']}"


def cmd_print_maps(settings: Settings, args: argparse.Namespace) -> int:
    """Write one printable PDF map per ward of a city."""
    import asyncio

    from app.db.engine import make_engine
    from app.errors import DomainError
    from app.forms.registry import load_registry
    from app.services import maps, places
    from app.services.access import SYSTEM
    from app.services.readiness import priorities_problem
    from app.settings import SettingError

    problem = priorities_problem(settings.priorities_path)
    if problem is not None:  # said before any map is drawn, as the server says it
        raise SettingError(problem)
    forms = load_registry(settings.forms_dir)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    async def run() -> list[Path]:
        engine = make_engine(settings.async_database_url, pool_size=2, max_overflow=0)
        written: list[Path] = []
        try:
            wards = await places.wards(engine, args.city, SYSTEM, settings.household_form)
            step = _progress(len(wards), "ward maps")
            for ward in wards:
                content = await maps.ward_print(
                    engine,
                    forms,
                    ward["id"],
                    priorities=settings.priorities_path,
                    indicator=args.indicator,
                    size=args.size,
                    orientation=args.orientation,
                    output="pdf",
                    language=args.lang,
                    household_form=settings.household_form,
                )
                path = out / f"{args.city}-{ward_file_part(ward)}-{args.indicator}-{args.size}.pdf"
                path.write_bytes(content)
                written.append(path)
                step(1)
        finally:
            await engine.dispose()
        return written

    try:
        written = asyncio.run(run())
    except DomainError as exc:
        print(exc.message("en"), file=sys.stderr)
        return 2
    print(f"wrote {len(written)} ward maps to {out}")
    return 0


def _accounts(settings: Settings, body: Callable[..., Any]) -> int:
    """Run an account command with an engine and the token service; errors as messages."""
    import asyncio

    from app.db.engine import make_engine, make_ingest_pool
    from app.errors import DomainError
    from app.main import auth_policy, secret_key_bytes
    from app.services.auth import Authenticator

    async def run() -> int:
        engine = make_engine(settings.async_database_url, pool_size=2, max_overflow=0)
        pool = make_ingest_pool(settings.libpq_database_url, 2)
        auth = Authenticator(pool, secret_key_bytes(settings), auth_policy(settings))
        try:
            return int(await body(engine, auth))
        finally:
            auth.close()  # argon2's threads
            await pool.close()
            await engine.dispose()

    try:
        return asyncio.run(run())
    except DomainError as exc:
        print(exc.message("en"), file=sys.stderr)
        for problem in getattr(exc, "problems", None) or []:  # which field, and why
            print(f"  - {problem.field}: {problem.message('en')}", file=sys.stderr)
        return 2


async def _user_id(engine: Any, username: str) -> int:
    from app.db import accounts as queries
    from app.errors import NotFound

    async with engine.connect() as connection:
        user = await queries.user_by_username(connection, username.strip().lower())
    if user is None:
        raise NotFound("user_not_found", id=username)
    return int(user["id"])


def _password(args: argparse.Namespace) -> str | None:
    if getattr(args, "password_stdin", False):
        return sys.stdin.readline().rstrip("\n")
    if getattr(args, "ask_password", False):
        return _ask_password("password: ")
    return None


def cmd_user_add(settings: Settings, args: argparse.Namespace) -> int:
    """Add a person (a volunteer needs no password: enrol their phone)."""
    from app.services import accounts

    async def body(engine: Any, auth: Any) -> int:
        user = await accounts.create_user(
            engine, auth, None, args.username, args.name or args.username, _password(args)
        )
        print(f"added {user['username']} (id {user['id']})")
        return 0

    return _accounts(settings, body)


def cmd_user_grant(settings: Settings, args: argparse.Namespace) -> int:
    """Give a person a role on a city or one of its wards."""
    from app.services import accounts

    async def body(engine: Any, auth: Any) -> int:
        user_id = await _user_id(engine, args.username)
        ward_id = args.ward_id
        if args.ward_code:
            from sqlalchemy import text

            async with engine.connect() as connection:
                ward_id = (
                    await connection.execute(
                        text(
                            "SELECT w.id FROM wards w JOIN cities c ON c.id = w.city_id "
                            "WHERE c.slug = :city AND w.code = :code"
                        ),
                        {"city": args.city, "code": args.ward_code},
                    )
                ).scalar()
            if ward_id is None:
                print(f"no ward {args.ward_code} in {args.city}", file=sys.stderr)
                return 2
        await accounts.grant_role(engine, None, user_id, args.role, args.city, ward_id)
        place = f" on ward {ward_id}" if ward_id else (f" on {args.city}" if args.city else "")
        print(f"{args.username} is {args.role}{place}")
        return 0

    return _accounts(settings, body)


def cmd_user_password(settings: Settings, args: argparse.Namespace) -> int:
    """Set a person's password (their tokens are revoked unless it is the one they had)."""
    from app.services import accounts

    async def body(engine: Any, auth: Any) -> int:
        user_id = await _user_id(engine, args.username)
        password = _password(args)
        if password is None:
            password = _ask_password("new password: ")
        await accounts.update_user(engine, auth, None, user_id, password=password)
        # The same words whether or not it was the password they had (then nothing is
        # revoked): an operator learns nothing about someone's password by trying one.
        print(
            f"password of {args.username} set; if it is not the one they had, "
            "their sign-ins must be made again"
        )
        return 0

    return _accounts(settings, body)


def cmd_user_disable(settings: Settings, args: argparse.Namespace) -> int:
    """Disable (or with --enable, enable again) a person; disabling revokes every token."""
    from app.services import accounts

    async def body(engine: Any, auth: Any) -> int:
        user_id = await _user_id(engine, args.username)
        await accounts.update_user(engine, auth, None, user_id, is_active=bool(args.enable))
        print(f"{args.username} {'enabled' if args.enable else 'disabled'}")
        return 0

    return _accounts(settings, body)


def cmd_user_enrol(settings: Settings, args: argparse.Namespace) -> int:
    """A one-time link and QR code that enrols a phone for a person (no password typed)."""
    from app.services import accounts
    from app.services.enrolment import enrolment_url

    async def body(engine: Any, auth: Any) -> int:
        user_id = await _user_id(engine, args.username)
        code, expires_at = await accounts.enrolment(engine, auth, None, user_id, args.device)
        url = enrolment_url(args.base_url, code)
        print(url)
        print(
            f"valid once, until {expires_at:%Y-%m-%d %H:%M} UTC; "
            f"earlier codes of {args.username} not yet used no longer work"
        )
        if args.qr:
            import segno

            segno.make(url, error="m").terminal(compact=True)
        return 0

    return _accounts(settings, body)


def cmd_user_list(settings: Settings, args: argparse.Namespace) -> int:
    """Everyone, with their roles and enrolled phones."""
    from app.db import accounts as queries

    async def body(engine: Any, auth: Any) -> int:
        async with engine.connect() as connection:
            for user in await queries.list_users(connection, None):
                roles = ", ".join(
                    g["role"]
                    + (f"@{g['city']}" if g["city"] else "")
                    + (f"/{g['ward']}" if g["ward"] else "")
                    for g in user["grants"]
                )
                state = "" if user["is_active"] else " (disabled)"
                print(f"{user['username']}{state}: {roles or '-'}; {user['devices']} phones")
        return 0

    return _accounts(settings, body)


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    parser = argparse.ArgumentParser(prog="cdfmap", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    migrate = commands.add_parser("migrate", help=cmd_migrate.__doc__)
    migrate.add_argument("--create-database", action="store_true", help="create it if missing")
    migrate.add_argument(
        "--wait", action="store_true", help="wait for another migration run instead of refusing"
    )
    migrate.set_defaults(run=cmd_migrate)

    backup = commands.add_parser("backup", help=cmd_backup.__doc__)
    backup.add_argument("--out", required=True, help="a new (or empty) directory")
    backup.set_defaults(run=cmd_backup)

    restore = commands.add_parser("restore", help=cmd_restore.__doc__)
    restore.add_argument("--from", dest="from_dir", required=True, help="a backup directory")
    restore.add_argument("--create-database", action="store_true", help="create it if missing")
    restore.set_defaults(run=cmd_restore)

    load = commands.add_parser("load-sample", help=cmd_load_sample.__doc__)
    load.add_argument("--households", type=int, default=5000)
    load.add_argument("--seed", type=int, default=2026)
    load.add_argument(
        "--member-cities",
        type=int,
        choices=(0, 1, 2),
        default=0,
        help="also load this many more synthetic member cities (half the households each)",
    )
    load.set_defaults(run=cmd_load_sample)

    shapes = commands.add_parser("fill-shapes", help=cmd_fill_shapes.__doc__)
    shapes.set_defaults(run=cmd_fill_shapes)

    check_forms = commands.add_parser("check-forms", help=cmd_check_forms.__doc__)
    check_forms.add_argument("--lang", choices=("vi", "en"), default="vi", help="of messages")
    check_forms.set_defaults(run=cmd_check_forms)

    check_config = commands.add_parser("check-config", help=cmd_check_config.__doc__)
    check_config.set_defaults(run=cmd_check_config)

    sample = commands.add_parser("sample", help="sample city files")
    sample_commands = sample.add_subparsers(dest="sample_command", required=True)
    write = sample_commands.add_parser("write-boundaries", help=cmd_write_boundaries.__doc__)
    write.add_argument("--seed", type=int, default=2026)
    write.add_argument("--directory")
    write.set_defaults(run=cmd_write_boundaries)

    boundaries = commands.add_parser("import-boundaries", help=cmd_import_boundaries.__doc__)
    boundaries.add_argument("--city", required=True, help="slug, e.g. tam-ky")
    boundaries.add_argument("--name", required=True, help="display name, e.g. 'Tam Kỳ'")
    boundaries.add_argument("--province")
    boundaries.add_argument(
        "--wards",
        required=True,
        help="ward polygons: GeoJSON, GeoPackage, Shapefile (.shp beside .dbf/.shx/.prj, or .zip)",
    )
    boundaries.add_argument("--settlements", help="settlement polygons (same formats)")
    boundaries.add_argument(
        "--crs",
        help="CRS of files that name none (a .shp without .prj), e.g. EPSG:9210 (VN-2000), "
        "EPSG:32649 (UTM 49N); a file that names its own keeps its own (a warning says so)",
    )
    boundaries.add_argument("--layer", help="the wards' GeoPackage layer (default: the only one)")
    boundaries.add_argument("--code-field", default="code", help="the wards' code column")
    boundaries.add_argument("--name-field", default="name", help="the wards' name column")
    boundaries.add_argument("--settlements-layer", help="the settlements' GeoPackage layer")
    boundaries.add_argument("--settlements-code-field", default="code")
    boundaries.add_argument("--settlements-name-field", default="name")
    boundaries.add_argument(
        "--settlements-ward-field", default="ward_code", help="each settlement's ward code"
    )
    boundaries.add_argument("--lang", choices=("vi", "en"), default="en", help="of messages")
    boundaries.set_defaults(run=cmd_import_boundaries)

    context = commands.add_parser("import-context", help=cmd_import_context.__doc__)
    context.add_argument("city", help="the city's slug (its wards must be imported)")
    context.add_argument("file", help=".osm.pbf, .osm or .gpkg (OpenStreetMap extract)")
    context.add_argument("--lang", choices=["vi", "en"], default="vi")
    context.set_defaults(run=cmd_import_context)

    print_maps = commands.add_parser("print-maps", help=cmd_print_maps.__doc__)
    print_maps.add_argument("--city", required=True, help="slug, e.g. tam-ky")
    print_maps.add_argument("--out", required=True, help="directory for the PDF files")
    print_maps.add_argument("--size", choices=("A4", "A3"), default="A3")
    print_maps.add_argument("--orientation", choices=("landscape", "portrait"), default="landscape")
    print_maps.add_argument("--indicator", default="priority", choices=PRINT_INDICATORS)
    print_maps.add_argument("--lang", choices=("vi", "en"), default="vi")
    print_maps.set_defaults(run=cmd_print_maps)

    user = commands.add_parser("user", help="people, roles and phones")
    user_commands = user.add_subparsers(dest="user_command", required=True)
    add = user_commands.add_parser("add", help=cmd_user_add.__doc__)
    add.add_argument("username")
    add.add_argument("--name", help="display name, e.g. 'Nguyễn Thị Hoa'")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.add_argument("--ask-password", action="store_true", help="prompt for a password")
    add.set_defaults(run=cmd_user_add)
    grant = user_commands.add_parser("grant", help=cmd_user_grant.__doc__)
    grant.add_argument("username")
    grant.add_argument("role", choices=ROLES)
    grant.add_argument("--city", help="city slug (every role but national_admin)")
    grant.add_argument("--ward-id", type=_ward_id, help="ward id (ward_leader; volunteer optional)")
    grant.add_argument("--ward-code", help="ward code within --city, instead of --ward-id")
    grant.set_defaults(run=cmd_user_grant)
    password = user_commands.add_parser("password", help=cmd_user_password.__doc__)
    password.add_argument("username")
    password.add_argument("--password-stdin", action="store_true")
    password.set_defaults(run=cmd_user_password)
    disable = user_commands.add_parser("disable", help=cmd_user_disable.__doc__)
    disable.add_argument("username")
    disable.add_argument("--enable", action="store_true", help="enable again")
    disable.set_defaults(run=cmd_user_disable)
    enrol = user_commands.add_parser("enrol", help=cmd_user_enrol.__doc__)
    enrol.add_argument("username")
    enrol.add_argument("--device", default="phone", help="a name for the phone")
    enrol.add_argument(
        "--base-url", default="http://127.0.0.1:8000", help="the server as phones reach it"
    )
    enrol.add_argument("--qr", action="store_true", help="also draw the QR code here")
    enrol.set_defaults(run=cmd_user_enrol)
    listing = user_commands.add_parser("list", help=cmd_user_list.__doc__)
    listing.set_defaults(run=cmd_user_list)
    return parser


# The arguments that name files or folders, by their argparse names.
PATH_ARGUMENTS = ("out", "from_dir", "wards", "settlements", "file", "directory")


def _paths_from_caller(args: argparse.Namespace) -> None:
    """Relative paths read from the folder the command was typed in: deploy/cdfmap-cli
    changes to the code's folder first and says where it was in CDFMAP_CALLER_DIR (a
    `backup --out nightly` went into /opt/cdfmap, `restore --from bk1` found no backup)."""
    caller = os.environ.get("CDFMAP_CALLER_DIR")
    if not caller:
        return
    for name in PATH_ARGUMENTS:
        value = getattr(args, name, None)
        if isinstance(value, str) and value and not Path(value).is_absolute():
            setattr(args, name, str(Path(caller) / value))


def _ward_id(text: str) -> int:
    """--ward-id: a database id (a larger number was a traceback from the database)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a ward id: {text}") from None
    if not 1 <= value <= 2**31 - 1:
        raise argparse.ArgumentTypeError(f"no ward has the id {text}")
    return value


def _ask_password(prompt: str) -> str:
    """A password typed at the terminal; without one (cron, `< /dev/null`) a message and
    exit status 2 (it was an EOFError traceback)."""
    import getpass

    try:
        return getpass.getpass(prompt)
    except EOFError:
        print(
            "\nno terminal to type the password at: give it with --password-stdin",
            file=sys.stderr,
        )
        raise SystemExit(2) from None


def main(argv: list[str] | None = None) -> int:
    """Entry point. An operator's mistake (a setting, a database out of reach, a schema of
    another release) is a message and exit status 2, not a traceback."""
    import pydantic
    import pydantic_settings

    from app.db.migrate import SchemaMismatch
    from app.settings import SettingError, settings_problems

    args = build_parser().parse_args(argv)
    _paths_from_caller(args)
    try:
        settings = get_settings()
    except (pydantic.ValidationError, pydantic_settings.SettingsError) as exc:
        for problem in settings_problems(exc):
            print(problem, file=sys.stderr)
        return 2
    try:
        return int(args.run(settings, args))
    except (SchemaMismatch, SettingError, PrivilegeMissing) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except Exception as exc:
        cause = _unreachable(exc)
        if cause is not None:
            reason = str(cause).strip().splitlines()[0]
            print(f"cannot reach the database: {reason}", file=sys.stderr)
            return 2
        refused = _insufficient_privilege(exc)
        if refused is not None:
            reason = str(refused).strip().splitlines()[0]
            print(
                f"the database refused: {reason}: ask the database superuser to grant the role "
                "of DATABASE_URL what it needs (docs/deploy.md, section 2)",
                file=sys.stderr,
            )
            return 2
        if isinstance(exc, OSError) and exc.filename:  # a folder or file it cannot write
            print(f"{exc.strerror or exc}: {exc.filename}", file=sys.stderr)
            return 2
        raise


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and its chain of causes, a SQLAlchemy error's driver error included."""
    import sqlalchemy.exc

    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        if isinstance(seen, sqlalchemy.exc.DBAPIError) and seen.orig is not None:
            seen = seen.orig
        else:
            seen = seen.__cause__


def _insufficient_privilege(exc: BaseException) -> BaseException | None:
    """The "permission denied" (SQLSTATE 42501) in `exc`'s chain of causes, or None."""
    # psycopg and asyncpg alike
    return next((e for e in _causes(exc) if getattr(e, "sqlstate", None) == "42501"), None)


def _unreachable(exc: BaseException) -> BaseException | None:
    """The error in `exc`'s chain of causes that says the database could not be connected to
    (down, unknown, sign-in refused), or None: a deadlock, a timeout or a full disk met on a
    connection that worked is not this, and keeps its traceback."""
    import socket

    import asyncpg
    import psycopg

    refused = (
        asyncpg.exceptions.InvalidCatalogNameError,
        asyncpg.exceptions.InvalidAuthorizationSpecificationError,
        asyncpg.exceptions.InvalidPasswordError,
        ConnectionRefusedError,
        socket.gaierror,
    )
    for seen in _causes(exc):
        if isinstance(seen, refused):
            return seen
        if isinstance(seen, psycopg.OperationalError) and str(seen).startswith(
            ("connection failed", "connection to server")
        ):
            return seen
    return None


if __name__ == "__main__":
    raise SystemExit(main())
