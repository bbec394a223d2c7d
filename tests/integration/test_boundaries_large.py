"""A large boundary import is stored by a few statements, whatever its size.

Every statement on wards, settlements or cities fired the boundary generation's trigger
(migration 0019), which then wrote its one row, the row the import holds FOR UPDATE and every
survey upload reads FOR SHARE. Stored a statement per feature, 50,000 features wrote that row
100,000 times in one transaction, each write slower than the one before (~250 s; uploads of
every city waited meanwhile). The trigger now writes it once a transaction (migration 0026),
and the layers are upserts of arrays: the statements are counted here by a trigger of the
test's own, and what they insert, update and keep is checked against the rules the statement
per feature kept."""

from __future__ import annotations

from typing import Any

import pytest
import shapely
from sqlalchemy import Connection, Engine, text

from app.geo.boundary_files import Feature, Layer
from app.services import boundaries as service
from app.services.boundaries import Boundaries, ImportSummary, store_boundaries

SLUG = "thi-xa-lon"
WEST, SOUTH, CELL = 106.3, 10.2, 0.002  # far from the sample city and the other tests' towns


def ward(index: int, code: str | None = None, name: str | None = None) -> Feature:
    """Ward `index` of a grid 100 wide, CELL degrees square."""
    x0, y0 = WEST + (index % 100) * CELL, SOUTH + (index // 100) * CELL
    square = shapely.box(x0, y0, x0 + CELL, y0 + CELL)
    return Feature(
        index + 1,
        code or f"W{index:05d}",
        name or f"Phường {index}",
        shapely.MultiPolygon([square]),
        {},
    )


def settlement(index: int, ward_code: str | None, **fields: Any) -> Feature:
    """A settlement inside ward `index`."""
    x0, y0 = WEST + (index % 100) * CELL, SOUTH + (index // 100) * CELL
    code = f"S{index:05d}"
    return Feature(
        index + 1,
        code,
        f"Xóm {index}",
        shapely.box(x0 + CELL / 4, y0 + CELL / 4, x0 + CELL / 2, y0 + CELL / 2),
        {"code": code, "ghi_chú": "bên sông"},
        {"ward_code": ward_code, **fields},
    )


def city(wards: list[Feature], settlements: list[Feature] | None) -> Boundaries:
    return Boundaries(
        Layer("wards", "wards.geojson", "EPSG:4326", tuple(wards)),
        None
        if settlements is None
        else Layer("settlements", "settlements.geojson", "EPSG:4326", tuple(settlements)),
    )


def generation(connection: Connection) -> int:
    return int(connection.execute(text("SELECT generation FROM boundary_generation")).scalar_one())


# In the test's transaction (rolled back): a note of every statement on the boundaries.
COUNT_STATEMENTS = """
CREATE TEMP TABLE boundary_statements (tablename text) ON COMMIT DROP;
CREATE FUNCTION test_note_boundary_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO boundary_statements VALUES (TG_TABLE_NAME);
    RETURN NULL;
END $$;
"""


def count_statements(connection: Connection) -> None:
    connection.execute(text(COUNT_STATEMENTS))
    for table in ("cities", "wards", "settlements"):
        connection.execute(
            text(
                f"CREATE TRIGGER {table}_test_statements "
                f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION test_note_boundary_statement()"
            )
        )


def statements(connection: Connection, boundaries: Boundaries) -> int:
    """How many statements on the boundaries storing `boundaries` (as SLUG) takes."""
    notes = text("SELECT count(*) FROM boundary_statements")
    before = int(connection.execute(notes).scalar_one())
    store_boundaries(connection, slug=SLUG, name="Thị xã Lớn", province=None, boundaries=boundaries)
    return int(connection.execute(notes).scalar_one()) - before


def test_4000_features_take_as_many_statements_as_2_and_one_generation(
    sync_engine: Engine,
) -> None:
    """The regression: a statement per feature moved the generation 8,007 times here (and 2
    a feature imported again), writing the row every survey upload waits for."""
    large = city(
        [ward(i) for i in range(2000)],
        [settlement(i, f"W{i:05d}", households_estimate=i) for i in range(2000)],
    )
    small = city([ward(0)], [settlement(0, "W00000")])
    with sync_engine.connect() as connection:  # rolled back at the end
        count_statements(connection)
        before = generation(connection)
        few = statements(connection, small)
        assert few <= 8
        assert statements(connection, large) == few  # 1 ward updated, 1,999 inserted
        assert statements(connection, large) == few  # every one updated
        assert generation(connection) == before + 1  # three imports, one transaction
        stored = connection.execute(
            text(
                "SELECT count(DISTINCT w.id), count(s.id), count(s.ward_id = w.id OR NULL) "
                "FROM wards w JOIN cities c ON c.id = w.city_id "
                "LEFT JOIN settlements s ON s.code = 'S' || substr(w.code, 2) "
                "AND s.city_id = c.id WHERE c.slug = :slug"
            ),
            {"slug": SLUG},
        ).one()
        assert tuple(stored) == (2000, 2000, 2000)


def rows(connection: Connection, table: str, columns: str) -> dict[str, tuple[Any, ...]]:
    result = connection.execute(
        text(
            f"SELECT t.code, t.id, {columns} FROM {table} t JOIN cities c ON c.id = t.city_id "
            "WHERE c.slug = :slug"
        ),
        {"slug": SLUG},
    )
    return {row[0]: tuple(row[1:]) for row in result}


SETTLEMENT_COLUMNS = (
    "(SELECT code FROM wards WHERE id = t.ward_id), t.name, t.households_estimate, "
    "t.year_settled, t.land_type, t.threats, t.profile, ST_AsText(t.geom)"
)


@pytest.mark.parametrize("store_bytes", [service.STORE_BYTES, 250])
def test_an_import_again_updates_by_code_inserts_the_new_and_keeps_the_missing(
    sync_engine: Engine, monkeypatch: pytest.MonkeyPatch, store_bytes: int
) -> None:
    """Wards and settlements are matched by code (ids kept), those not in the file are kept
    and named; a settlement's ward code may name a ward stored before, an unknown or missing
    one leaves it in the ward it lies in. With STORE_BYTES small, a layer is stored in
    several statements (two wards of 102 bytes a statement), progress after each."""
    monkeypatch.setattr(service, "STORE_BYTES", store_bytes)
    steps: list[tuple[str, int, int]] = []
    with sync_engine.connect() as connection:  # rolled back at the end
        first = store_boundaries(
            connection,
            slug=SLUG,
            name="Thị xã Lớn",
            province=None,
            boundaries=city(
                [ward(0), ward(1), ward(2)],
                [
                    settlement(0, "W00000", households_estimate=40, threats=["lũ"]),
                    settlement(1, None),
                    settlement(2, "W00009", land_type="public"),
                ],
            ),
        )
        assert (first.created, first.wards, first.settlements) == (True, 3, 3)
        wards_before = rows(connection, "wards", "t.name")
        settlements_before = rows(connection, "settlements", SETTLEMENT_COLUMNS)
        assert {code: row[1] for code, row in settlements_before.items()} == {
            "S00000": "W00000",
            "S00001": "W00001",  # no ward code: the ward it lies in
            "S00002": "W00002",  # an unknown ward code: likewise
        }
        assert settlements_before["S00000"][3:7] == (40, None, None, ["lũ"])
        assert settlements_before["S00000"][7] == {"code": "S00000", "ghi_chú": "bên sông"}

        again: ImportSummary = store_boundaries(
            connection,
            slug=SLUG,
            name=None,
            province=None,
            boundaries=city(
                [ward(1, name="Phường Mới"), ward(3), ward(4), ward(5)],
                [
                    settlement(0, "W00002", year_settled=1975, threats=[]),  # stored, not in file
                    settlement(3, "W00003", threats=["giải tỏa", "lũ"]),
                ],
            ),
            progress=lambda what, done, total: steps.append((what, done, total)),
        )
        wards_after = rows(connection, "wards", "t.name")
        settlements_after = rows(connection, "settlements", SETTLEMENT_COLUMNS)
    assert not again.created and (again.wards, again.settlements) == (4, 2)
    assert set(wards_after) == {f"W0000{i}" for i in range(6)}
    for code in ("W00000", "W00001", "W00002"):  # updated or kept, never replaced
        assert wards_after[code][0] == wards_before[code][0]
    assert wards_after["W00001"][1] == "Phường Mới"
    assert wards_after["W00000"][1] == "Phường 0"
    assert settlements_after["S00000"][0] == settlements_before["S00000"][0]
    assert settlements_after["S00000"][1:6] == ("W00002", "Xóm 0", None, 1975, None)
    assert settlements_after["S00000"][6] == []
    assert settlements_after["S00003"][1] == "W00003"
    assert settlements_after["S00003"][6] == ["giải tỏa", "lũ"]
    assert settlements_after["S00001"] == settlements_before["S00001"]  # kept as it was
    kept = {w.code: w.params for w in again.warnings if w.code.startswith("boundary_kept")}
    assert kept == {
        "boundary_kept_wards": {"file": "wards.geojson", "count": 2, "codes": "W00000, W00002"},
        "boundary_kept_settlements": {
            "file": "settlements.geojson",
            "count": 2,
            "codes": "S00001, S00002",
        },
    }
    ward_steps = [step for step in steps if step[0] == "storing wards"]
    statements = 2 if store_bytes == 250 else 1
    assert ward_steps[0] == ("storing wards", 0, 4) and ward_steps[-1] == ("storing wards", 4, 4)
    assert len(ward_steps) == 1 + statements
    assert steps[-1] == ("storing settlements", 2, 2)
