"""National view benchmark (issue 14): the network of member cities against one city.

Loads the sample city with N households, then clones it (wards, settlements, households,
moved across Vietnam) into C - 1 more cities inside PostgreSQL, and times through uvicorn:
  - the national indicators (JSON) and the national page against one city's indicators and
    its map page at the same size (the issue: within 1.5 x of one city's figures);
  - the busiest ward's printed map (PDF) with the city's context layers (streets, water,
    landmarks) against the same print without them.
Usage: python -m bench.national [--quick] [--cities C] [--households N] [--runs R] [--keep]
"""

from __future__ import annotations

import time

import httpx
from sqlalchemy import Connection, create_engine, text

from app.settings import with_driver
from bench.common import bench_arguments, bench_database, bench_token, best_of, uvicorn_server

KEYS = ("id", "city_id", "ward_id", "settlement_id", "geom")


def _columns(connection: Connection, table: str) -> list[str]:
    return [
        row[0]
        for row in connection.execute(
            text(
                "SELECT column_name FROM information_schema.columns WHERE table_name = :t "
                "AND table_schema = 'public' AND is_generated = 'NEVER' ORDER BY ordinal_position"
            ),
            {"t": table},
        )
        if row[0] not in KEYS
    ]


def clone_cities(sync_url: str, count: int) -> float:
    """`count` more cities, each a copy of the sample city moved elsewhere in Vietnam (its
    wards, settlements and household surveys, new ids); seconds taken."""
    started = time.perf_counter()
    engine = create_engine(sync_url)
    try:
        with engine.begin() as connection:
            source = connection.execute(
                text("SELECT id FROM cities WHERE slug = 'tam-ky'")
            ).scalar_one()
            settlement_columns = [
                c for c in _columns(connection, "settlements") if c not in ("code",)
            ]
            survey_columns = _columns(connection, "household_surveys")
            for number in range(1, count + 1):
                dx = -4.0 + (number % 8) * 0.6  # a grid of cities from 104.5 to 108.7 E
                dy = -6.0 + (number // 8) * 0.9  # and 9.6 to 21 N
                city = connection.execute(
                    text(
                        "INSERT INTO cities (slug, name, province) VALUES (:slug, :name, :p) "
                        "RETURNING id"
                    ),
                    {"slug": f"bench-{number:03d}", "name": f"Thành phố {number}", "p": "Tỉnh"},
                ).scalar_one()
                moved = {"source": source, "city": city, "dx": dx, "dy": dy}
                connection.execute(
                    text(
                        "INSERT INTO wards (city_id, code, name, geom) SELECT :city, code, name, "
                        "ST_Translate(geom, :dx, :dy) FROM wards WHERE city_id = :source"
                    ),
                    moved,
                )
                extra = ", ".join(f"s.{c}" for c in settlement_columns if c != "ward_id")
                names = ", ".join(c for c in settlement_columns if c != "ward_id")
                connection.execute(
                    text(
                        f"INSERT INTO settlements (city_id, ward_id, code, {names}, geom) "
                        f"SELECT :city, nw.id, s.code, {extra}, ST_Translate(s.geom, :dx, :dy) "
                        "FROM settlements s JOIN wards ow ON ow.id = s.ward_id "
                        "JOIN wards nw ON nw.city_id = :city AND nw.code = ow.code "
                        "WHERE s.city_id = :source"
                    ),
                    moved,
                )
                copied = ", ".join(f"h.{c}" for c in survey_columns)
                connection.execute(
                    text(
                        "INSERT INTO household_surveys (id, city_id, ward_id, settlement_id, "
                        f"geom, {', '.join(survey_columns)}) "
                        "SELECT gen_random_uuid(), :city, nw.id, ns.id, "
                        f"ST_Translate(h.geom, :dx, :dy), {copied} "
                        "FROM household_surveys h "
                        "LEFT JOIN wards ow ON ow.id = h.ward_id "
                        "LEFT JOIN wards nw ON nw.city_id = :city AND nw.code = ow.code "
                        "LEFT JOIN settlements os ON os.id = h.settlement_id "
                        "LEFT JOIN settlements ns ON ns.city_id = :city AND ns.code = os.code "
                        "WHERE h.city_id = :source"
                    ),
                    moved,
                )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    finally:
        engine.dispose()
    return time.perf_counter() - started


def busiest_ward(sync_url: str) -> int:
    engine = create_engine(sync_url)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(
                    text(
                        "SELECT h.ward_id FROM household_surveys h JOIN cities c ON "
                        "c.id = h.city_id WHERE c.slug = 'tam-ky' AND h.ward_id IS NOT NULL "
                        "GROUP BY h.ward_id ORDER BY count(*) DESC LIMIT 1"
                    )
                ).scalar_one()
            )
    finally:
        engine.dispose()


def drop_context(sync_url: str) -> None:
    engine = create_engine(sync_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM context_imports"))
    finally:
        engine.dispose()


def main() -> None:
    parser = bench_arguments(__doc__, "bench_national")
    parser.add_argument("--cities", type=int, default=50)
    parser.add_argument("--households", type=int, default=20_000, help="per city")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    cities, households, runs = args.cities, args.households, args.runs
    if args.quick:
        cities, households, runs = 3, 300, 1
    with bench_database(args.database, households, args.keep) as url:
        sync_url = with_driver(url, "postgresql+psycopg")
        seconds = clone_cities(sync_url, cities - 1)
        print(f"national: {cities} cities x {households} households, cloned in {seconds:.1f} s")
        ward = busiest_ward(sync_url)
        token = bench_token(url, role="national_admin", username="bench-national")
        figures: dict[str, float] = {}
        with (
            uvicorn_server("app.main:create_app", url) as (base, _pid),
            httpx.Client(
                base_url=base, timeout=600, headers={"Authorization": f"Bearer {token}"}
            ) as client,
        ):

            def get(path: str) -> int:
                response = client.get(path)
                assert response.status_code == 200, (path, response.status_code)
                return len(response.content)

            for name, path in (
                ("national_json", "/api/v1/national/indicators"),
                ("city_json", "/api/v1/cities/tam-ky/indicators"),
                ("national_page", "/maps/national"),
                ("city_page", "/maps/cities/tam-ky"),
                ("ward_pdf_context", f"/maps/wards/{ward}.pdf"),
            ):
                get(path)  # warm (fonts, plans)
                figures[name], size = best_of(runs, lambda path=path: get(path))
                print(f"national {name:17s}: {figures[name] * 1000:8.1f} ms ({size} bytes)")
            drop_context(sync_url)
            get(f"/maps/wards/{ward}.pdf")
            figures["ward_pdf"], size = best_of(runs, lambda: get(f"/maps/wards/{ward}.pdf"))
            print(f"national {'ward_pdf':17s}: {figures['ward_pdf'] * 1000:8.1f} ms ({size} bytes)")
        print(
            f"national ratio: indicators {figures['national_json'] / figures['city_json']:.2f} x "
            f"one city's, page {figures['national_page'] / figures['city_page']:.2f} x one "
            f"city's map page (target <= 1.5 at 50 x 20,000); ward PDF with context layers "
            f"{figures['ward_pdf_context'] / figures['ward_pdf']:.2f} x without"
        )


if __name__ == "__main__":
    main()
