"""Streets, water and places under a printed map (the hook for OpenStreetMap context layers).

Pure: `draw_context(ax, layers, crs, bounds)` draws whatever context the caller found for
the map's extent, under everything else; with no layers it draws nothing. Each layer is a
dict: `kind` ("road", "waterway", "water", "building", "landmark"), `geometry` (GeoJSON,
lon/lat) and an optional `name`. Until context layers are imported (issue 14, "Streets and
places under the map") the services pass an empty list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# Grey roads and blue water survive a black-and-white copy as light grey, under the symbols.
STYLES: dict[str, dict[str, Any]] = {
    "road": {"color": "#9a9a9a", "linewidth": 2.4},
    "waterway": {"color": "#6baed6", "linewidth": 1.6},
    "water": {"facecolor": "#c6dbef", "edgecolor": "#6baed6", "linewidth": 0.6},
    "building": {"facecolor": "#e0e0e0", "edgecolor": "#b0b0b0", "linewidth": 0.3},
    "landmark": {"color": "#444444", "marker": "s", "markersize": 4},
}


def draw_context(
    ax: Any,
    layers: Sequence[dict[str, Any]],
    crs: str,
    bounds: tuple[float, float, float, float],
    size: float,
) -> None:
    """The context layers inside `bounds` (metres in `crs`) on the map's axes, names in
    `size` points; nothing when there are none."""
    if not layers:
        return
    import geopandas as gpd
    import matplotlib.patheffects as effects
    from shapely.geometry import box, shape
    from shapely.plotting import patch_from_polygon

    frame = box(*bounds)
    shapes = gpd.GeoSeries([shape(layer["geometry"]) for layer in layers], crs="EPSG:4326")
    halo = [effects.withStroke(linewidth=2.5, foreground="white")]
    for layer, geometry in zip(layers, shapes.to_crs(crs), strict=True):
        geometry = geometry.intersection(frame)
        if geometry.is_empty:
            continue
        style = STYLES.get(layer.get("kind", ""), STYLES["road"])
        parts = getattr(geometry, "geoms", [geometry])
        for part in parts:
            if part.geom_type == "Polygon":
                ax.add_patch(patch_from_polygon(part, zorder=1.5, **style))
            elif part.geom_type == "LineString":
                ax.plot(*part.xy, zorder=1.6, solid_capstyle="round", **style)
            elif part.geom_type == "Point":
                ax.plot(part.x, part.y, linestyle="none", zorder=1.7, **style)
        name = layer.get("name")
        if name:
            anchor = geometry.representative_point()
            label = ax.text(
                anchor.x,
                anchor.y,
                name,
                fontsize=size,
                color="#333333",
                ha="center",
                va="center",
                style="italic",
                path_effects=halo,
                zorder=1.8,
                clip_on=True,
            )
            label.set_parse_math(False)
