"""Maps benchmark at 100k households (docs/maps.md, performance.md).

City map page: the HTML plus its household-points JSON (bytes and seconds, through uvicorn) vs
the baseline `orjson.dumps` of the households' [lon, lat] coordinates read from the same table.
On the wire: the points JSON gzip-compressed, and a zoom-15 view's households as a large city's
page fetches them (3 x 3 vector tiles, gzip). Ward print map: GET /maps/wards/{id}.pdf for the
busiest ward vs a plain matplotlib scatter of the same points saved to PDF (time and size).
Settlement meeting map: GET /maps/settlements/{id}.pdf for the busiest settlement (map page
with its households numbered, or gridded where numbers crowd, then the numbered table), as a
planner (no names) and as a city admin (?names=true, as a ward leader prints it), and its PNG,
vs the same plain scatter of its points (target: a few seconds, <= 3 s on a quiet machine).
Usage: python -m bench.maps [--quick] [--households N] [--runs R] [--keep]
"""

from __future__ import annotations

import io
import math
import re
import time

import httpx
import orjson
from sqlalchemy import create_engine, text

from app.settings import with_driver
from bench.common import (
    bench_arguments,
    bench_database,
    bench_token,
    best_of,
    uvicorn_server,
)


def coordinates(
    sync_url: str, ward_id: int | None = None, settlement_id: int | None = None
) -> list[list[float]]:
    """[lon, lat] of every household (of a ward, or of a settlement), straight from PostGIS."""
    engine = create_engine(sync_url)
    try:
        with engine.connect() as connection:
            where = "" if ward_id is None else " WHERE ward_id = :ward"
            if settlement_id is not None:
                where = " WHERE settlement_id = :settlement"
            rows = connection.execute(
                text(f"SELECT ST_X(geom), ST_Y(geom) FROM household_surveys{where}"),
                {"ward": ward_id, "settlement": settlement_id},
            )
            return [[lon, lat] for lon, lat in rows]
    finally:
        engine.dispose()


def analyze(sync_url: str) -> None:
    """Refresh the planner's statistics of the freshly loaded table."""
    engine = create_engine(sync_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("ANALYZE household_surveys"))
    finally:
        engine.dispose()


def busiest_ward(sync_url: str) -> int:
    """The ward with the most households."""
    engine = create_engine(sync_url)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(
                    text(
                        "SELECT ward_id FROM household_surveys WHERE ward_id IS NOT NULL "
                        "GROUP BY ward_id ORDER BY count(*) DESC LIMIT 1"
                    )
                ).scalar_one()
            )
    finally:
        engine.dispose()


def busiest_settlement(sync_url: str) -> int:
    """The settlement with the most households."""
    engine = create_engine(sync_url)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(
                    text(
                        "SELECT settlement_id FROM household_surveys "
                        "WHERE settlement_id IS NOT NULL "
                        "GROUP BY settlement_id ORDER BY count(*) DESC LIMIT 1"
                    )
                ).scalar_one()
            )
    finally:
        engine.dispose()


def scatter_pdf(points: list[list[float]]) -> bytes:
    """The baseline: a plain matplotlib scatter of the points saved to an A4 PDF."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11.69, 8.27))
    ax = figure.add_subplot()
    ax.scatter([p[0] for p in points], [p[1] for p in points], s=2)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="pdf")
    return buffer.getvalue()


def pdf_pages(content: bytes) -> int:
    """The page objects of a PDF matplotlib wrote."""
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", content))


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The x, y of the Web Mercator tile holding a point."""
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def line(name: str, ours: float, baseline: float, unit: str, target: str) -> str:
    """One figure: ours, the baseline, the ratio and the target."""
    ratio = ours / baseline if baseline else float("nan")
    return (
        f"{name}: {ours:,.3f} {unit} vs baseline {baseline:,.3f} {unit} = {ratio:.2f}x ({target})"
    )


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the benchmark; print and return the figures."""
    parser = bench_arguments(__doc__, "cdfmap_bench_maps")
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    households, runs = (300, 1) if args.quick else (args.households, args.runs)

    started = time.perf_counter()
    with bench_database(args.database, households, args.keep) as url:
        sync_url = with_driver(url, "postgresql+psycopg")
        loaded = time.perf_counter() - started
        analyze(sync_url)  # fresh statistics, as autovacuum keeps them on a live server
        print(f"database {args.database}: {households:,} households (ready in {loaded:.0f} s)")
        ward_id = busiest_ward(sync_url)
        base_seconds, base_json = best_of(runs, lambda: orjson.dumps(coordinates(sync_url)))
        ward_points = coordinates(sync_url, ward_id)
        settlement_id = busiest_settlement(sync_url)
        settlement_points = coordinates(sync_url, settlement_id=settlement_id)
        settlement_scatter_seconds, settlement_scatter = best_of(
            runs, lambda: scatter_pdf(coordinates(sync_url, settlement_id=settlement_id))
        )
        scatter_seconds, scatter = best_of(
            runs, lambda: scatter_pdf(coordinates(sync_url, ward_id))
        )
        headers = {"Authorization": f"Bearer {bench_token(url, 'planner')}"}
        with (
            uvicorn_server("app.main:create_app", url) as (base, _pid),
            httpx.Client(base_url=base, timeout=300, headers=headers) as client,
        ):
            client.get("/maps/cities/tam-ky").raise_for_status()  # warm up imports

            def page() -> tuple[bytes, bytes]:
                html = client.get("/maps/cities/tam-ky")
                points = client.get("/maps/data/cities/tam-ky/households.json")
                html.raise_for_status()
                points.raise_for_status()
                return html.content, points.content

            page_seconds, (html, points) = best_of(runs, page)

            def fetch(path: str, extra: dict[str, str] | None = None) -> bytes:
                response = client.get(path, headers=extra)
                response.raise_for_status()
                return response.content

            pdf_seconds, pdf_bytes = best_of(runs, lambda: fetch(f"/maps/wards/{ward_id}.pdf"))
            settlement = f"/maps/settlements/{settlement_id}"
            indicator = "?indicator=no_piped_water"
            settlement_seconds, settlement_bytes = best_of(
                runs, lambda: fetch(f"{settlement}.pdf{indicator}")
            )
            admin = {"Authorization": f"Bearer {bench_token(url, 'city_admin', 'bench-admin')}"}
            named_seconds, named_bytes = best_of(
                runs, lambda: fetch(f"{settlement}.pdf{indicator}&names=true", admin)
            )
            png_seconds, _png = best_of(runs, lambda: fetch(f"{settlement}.png{indicator}"))

            # What goes over the wire: the points JSON gzip-compressed, and the households of
            # one zoom-15 view (the 3 x 3 vector tiles around the busiest settlement), as a
            # large city's page fetches them instead of every point.
            def wire(path: str) -> bytes:
                with client.stream("GET", path, headers={"Accept-Encoding": "gzip"}) as response:
                    response.raise_for_status()
                    return b"".join(response.iter_raw())

            points_gzip = wire("/maps/data/cities/tam-ky/households.json")
            lon, lat = settlement_points[len(settlement_points) // 2]
            x, y = tile_of(lon, lat, 15)
            view = [
                f"/tiles/households/15/{x + dx}/{y + dy}.pbf"
                for dx in (-1, 0, 1)
                for dy in (-1, 0, 1)
            ]
            view_seconds, view_bytes = best_of(runs, lambda: b"".join(wire(tile) for tile in view))
        figures = {
            "html_bytes": len(html),
            "points_bytes": len(points),
            "coordinates_bytes": len(base_json),
            "page_seconds": page_seconds,
            "coordinates_seconds": base_seconds,
            "pdf_seconds": pdf_seconds,
            "scatter_seconds": scatter_seconds,
            "pdf_bytes": len(pdf_bytes),
            "scatter_bytes": len(scatter),
            "settlement_pdf_seconds": settlement_seconds,
            "settlement_scatter_seconds": settlement_scatter_seconds,
            "settlement_pdf_bytes": len(settlement_bytes),
            "settlement_scatter_bytes": len(settlement_scatter),
            "settlement_pdf_pages": pdf_pages(settlement_bytes),
            "settlement_names_pdf_seconds": named_seconds,
            "settlement_names_pdf_pages": pdf_pages(named_bytes),
            "settlement_png_seconds": png_seconds,
            "points_gzip_bytes": len(points_gzip),
            "view_tiles_bytes": len(view_bytes),
            "view_tiles_seconds": view_seconds,
        }
        print(f"city map: {households:,} households; busiest ward {ward_id}: {len(ward_points):,}")
        # The HTML does not depend on the households; only the points JSON grows with them.
        print(
            line(
                "map bytes growing with households (points JSON)",
                len(points) / 1e6,
                len(base_json) / 1e6,
                "MB",
                "target <= 1.5x",
            )
        )
        print(f"map HTML (fixed, no household in it): {len(html) / 1e6:.3f} MB")
        print(
            line(
                "points JSON on the wire, gzip",
                len(points_gzip) / 1e6,
                len(points) / 1e6,
                "MB",
                "for information: vs the plain JSON",
            )
        )
        print(
            line(
                "households of a zoom-15 view, 3 x 3 vector tiles (gzip)",
                len(view_bytes) / 1e6,
                len(points_gzip) / 1e6,
                "MB",
                f"{view_seconds:.3f} s; for information: vs every point, gzip",
            )
        )
        print(
            line(
                "map page time (HTML + points)", page_seconds, base_seconds, "s", "for information"
            )
        )
        print(line("ward PDF time", pdf_seconds, scatter_seconds, "s", "target <= 1.3x"))
        print(line("ward PDF size", len(pdf_bytes) / 1e6, len(scatter) / 1e6, "MB", "<= 1.3x"))
        print(
            f"busiest settlement {settlement_id}: {len(settlement_points):,} households "
            "(numbered on the map, or gridded where numbers crowd; a row of the table each)"
        )
        print(
            line(
                "settlement PDF time",
                settlement_seconds,
                settlement_scatter_seconds,
                "s",
                f"{pdf_pages(settlement_bytes)} pages; target <= 3 s on a quiet machine",
            )
        )
        print(
            line(
                "settlement PDF with names time",
                named_seconds,
                settlement_scatter_seconds,
                "s",
                f"{pdf_pages(named_bytes)} pages; target <= 3 s on a quiet machine",
            )
        )
        print(
            line(
                "settlement PNG time",
                png_seconds,
                settlement_scatter_seconds,
                "s",
                "the map page at 200 dpi; for information",
            )
        )
        print(
            line(
                "settlement PDF size",
                len(settlement_bytes) / 1e6,
                len(settlement_scatter) / 1e6,
                "MB",
                "for information",
            )
        )
    return figures


if __name__ == "__main__":
    main()
