"""Writing GeoJSON layers into one GeoPackage (QGIS's own format), batch by batch.

Why GDAL's Arrow stream (pyogrio.raw.open_arrow -> write_arrow) rather than geopandas: the
features go from the GeoJSON reader to the GeoPackage writer in record batches inside GDAL,
so memory stays that of a batch whatever the layer's size, and no Python object is made per
feature (pyarrow is not needed: the stream crosses as an Arrow C stream capsule).
"""

from __future__ import annotations

from pathlib import Path

GEOPACKAGE_VERSION = "1.2"  # readable by every GDAL/QGIS still in use (3.6 warns about 1.4)
BATCH_FEATURES = 10_000


def add_geojson_layer(geojson: Path, geopackage: Path, layer: str) -> None:
    """Copy a GeoJSON file's features into `layer` of a GeoPackage (created if missing).

    Features without geometry stay, with a null geometry; a layer without features is
    still created (with no columns), so the package always lists every layer.
    """
    from pyogrio.raw import open_arrow, write_arrow

    with open_arrow(geojson, use_pyarrow=False, batch_size=BATCH_FEATURES) as (meta, stream):
        write_arrow(
            stream,
            geopackage,
            layer=layer,
            driver="GPKG",
            geometry_name="geometry",
            geometry_type=meta["geometry_type"] or "Unknown",
            crs=meta["crs"] or "EPSG:4326",
            dataset_options={"VERSION": GEOPACKAGE_VERSION},
        )
