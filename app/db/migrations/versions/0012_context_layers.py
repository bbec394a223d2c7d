"""context_layers: streets, waterways, water, buildings and landmarks under the maps

Revision ID: 0012_context_layers
Revises: 0011_cdf_summary
Create Date: 2026-12-03

Imported per city from an OpenStreetMap extract (or generated for the sample city): one row
per feature, in EPSG:4326, with the import it came from (its source and attribution, printed
under the maps where the data is under the ODbL). A new import of a city replaces the last.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_context_layers"
down_revision: str | None = "0011_cdf_summary"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
CREATE TABLE context_imports (
    id serial PRIMARY KEY,
    city_id integer NOT NULL UNIQUE REFERENCES cities(id) ON DELETE CASCADE,
    source text NOT NULL,
    attribution text NOT NULL DEFAULT '',
    license text,
    counts jsonb NOT NULL DEFAULT '{}'::jsonb,
    imported_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE context_features (
    id bigserial PRIMARY KEY,
    import_id integer NOT NULL REFERENCES context_imports(id) ON DELETE CASCADE,
    city_id integer NOT NULL REFERENCES cities(id) ON DELETE CASCADE,
    kind varchar(16) NOT NULL
        CHECK (kind IN ('road', 'waterway', 'water', 'building', 'landmark')),
    class varchar(32) NOT NULL DEFAULT '',
    name text,
    osm_id text,
    geom geometry(Geometry, 4326) NOT NULL
);
CREATE INDEX ix_context_features_geom ON context_features USING gist (geom);
CREATE INDEX ix_context_features_city_kind ON context_features (city_id, kind);
CREATE INDEX ix_context_features_import ON context_features (import_id);
"""
    )


def downgrade() -> None:
    op.execute("DROP TABLE context_features; DROP TABLE context_imports;")
