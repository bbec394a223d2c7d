"""Admin commands: `python -m app.cli --help` (or `cdfmap --help` once installed)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine

from app.services.indicators import INDICATOR_KEYS
from app.settings import Settings, get_settings

PRINT_INDICATORS = ("priority", *INDICATOR_KEYS)


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
    """Create PostGIS and upgrade the schema to head."""
    from app.db.migrate import create_database_if_missing, upgrade_to_head

    if args.create_database and create_database_if_missing(settings.sync_database_url):
        print("created the database")
    upgrade_to_head(settings.sync_database_url)
    print("database schema is at head")
    return 0


def cmd_load_sample(settings: Settings, args: argparse.Namespace) -> int:
    """Load the synthetic sample city (Tam Kỳ) once."""
    from app.forms.registry import load_registry
    from app.services.samples import load_sample_city

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
    finally:
        engine.dispose()
    print(
        f"sample city: {summary.wards} wards, {summary.settlements} settlements, "
        f"{created} new household surveys"
    )
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


def cmd_import_boundaries(settings: Settings, args: argparse.Namespace) -> int:
    """Import (or update) a city's wards and settlements from GeoJSON files."""
    from app.db.migrate import upgrade_to_head
    from app.services.boundaries import import_city

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
            )
    finally:
        engine.dispose()
    print(
        f"{args.city}: {summary.wards} wards, {summary.settlements} settlements, "
        f"{summary.households_replaced} stored households placed again"
    )
    return 0


def cmd_print_maps(settings: Settings, args: argparse.Namespace) -> int:
    """Write one printable PDF map per ward of a city."""
    import asyncio

    from app.db.engine import make_engine
    from app.errors import DomainError
    from app.forms.registry import load_registry
    from app.services import maps, places

    forms = load_registry(settings.forms_dir)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    async def run() -> list[Path]:
        engine = make_engine(settings.async_database_url, pool_size=2, max_overflow=0)
        written: list[Path] = []
        try:
            wards = await places.wards(engine, args.city)
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
                )
                path = out / f"{args.city}-{ward['code']}-{args.indicator}-{args.size}.pdf"
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


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    parser = argparse.ArgumentParser(prog="cdfmap", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    migrate = commands.add_parser("migrate", help=cmd_migrate.__doc__)
    migrate.add_argument("--create-database", action="store_true", help="create it if missing")
    migrate.set_defaults(run=cmd_migrate)

    load = commands.add_parser("load-sample", help=cmd_load_sample.__doc__)
    load.add_argument("--households", type=int, default=5000)
    load.add_argument("--seed", type=int, default=2026)
    load.set_defaults(run=cmd_load_sample)

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
    boundaries.add_argument("--wards", required=True, help="GeoJSON of ward polygons (code, name)")
    boundaries.add_argument("--settlements", help="GeoJSON of settlement polygons")
    boundaries.set_defaults(run=cmd_import_boundaries)

    print_maps = commands.add_parser("print-maps", help=cmd_print_maps.__doc__)
    print_maps.add_argument("--city", required=True, help="slug, e.g. tam-ky")
    print_maps.add_argument("--out", required=True, help="directory for the PDF files")
    print_maps.add_argument("--size", choices=("A4", "A3"), default="A3")
    print_maps.add_argument("--orientation", choices=("landscape", "portrait"), default="landscape")
    print_maps.add_argument("--indicator", default="priority", choices=PRINT_INDICATORS)
    print_maps.add_argument("--lang", choices=("vi", "en"), default="vi")
    print_maps.set_defaults(run=cmd_print_maps)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = build_parser().parse_args(argv)
    return int(args.run(get_settings(), args))


if __name__ == "__main__":
    raise SystemExit(main())
