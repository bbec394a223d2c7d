"""Colours, hatches and classes shared by the web map and the printed map (pure data)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NO_DATA_COLOUR = "#bdbdbd"


@dataclass(frozen=True)
class PointStyle:
    """How household points are coloured for one question: answers from best to worst."""

    key: str
    question: str
    colours: tuple[tuple[str, str], ...]  # (answer value, colour)
    title: dict[str, str]

    @property
    def values(self) -> tuple[str, ...]:
        """The answer values in legend order."""
        return tuple(value for value, _ in self.colours)


# Green (fine) to red (worst): readable for the common red-green colour blindness because
# lightness also changes, and printed maps add hatching.
POINT_STYLES: tuple[PointStyle, ...] = (
    PointStyle(
        "tenure",
        "tenure",
        (
            ("red_book", "#1a9850"),
            ("pink_book", "#66bd63"),
            ("papers_only", "#fee08b"),
            ("relatives", "#fdae61"),
            ("renting", "#f46d43"),
            ("public_land", "#a50026"),
        ),
        {"vi": "Giấy tờ nhà đất", "en": "Tenure"},
    ),
    PointStyle(
        "water",
        "water_source",
        (
            ("piped", "#1a9850"),
            ("shared_tap", "#a6d96a"),
            ("well", "#fee08b"),
            ("rain", "#fdae61"),
            ("vendor", "#d73027"),
        ),
        {"vi": "Nguồn nước", "en": "Water"},
    ),
    PointStyle(
        "sanitation",
        "sanitation",
        (("own_toilet", "#1a9850"), ("shared_toilet", "#fdae61"), ("none", "#d73027")),
        {"vi": "Nhà vệ sinh", "en": "Sanitation"},
    ),
    PointStyle(
        "electricity",
        "electricity",
        (("own_meter", "#1a9850"), ("neighbour_meter", "#fdae61"), ("none", "#d73027")),
        {"vi": "Điện", "en": "Electricity"},
    ),
    PointStyle(
        "flooding",
        "flooding",
        (("never", "#1a9850"), ("rarely", "#d9ef8b"), ("yearly", "#fdae61"), ("often", "#d73027")),
        {"vi": "Ngập / thoát nước", "en": "Flooding / drainage"},
    ),
    PointStyle(
        "house",
        "house_condition",
        (
            ("permanent", "#1a9850"),
            ("semi_permanent", "#d9ef8b"),
            ("temporary", "#fdae61"),
            ("dilapidated", "#d73027"),
        ),
        {"vi": "Tình trạng nhà", "en": "House condition"},
    ),
)
POINT_STYLE_BY_KEY = {style.key: style for style in POINT_STYLES}

# Classes of a 0-100 value (priority score, or a share in percent): upper bounds, colours
# (ColorBrewer YlOrRd) and hatches (denser = worse) so that a black-and-white copy still reads.
CLASS_BOUNDS: tuple[float, ...] = (20.0, 40.0, 60.0, 80.0, 100.0)
CLASS_COLOURS: tuple[str, ...] = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
CLASS_HATCHES: tuple[str, ...] = ("", "..", "//", "xx", "xxxx")

# The same classes on paper, where a black-and-white copy must still tell every class apart
# (and "not surveyed" from all of them). YlOrRd hues whose lightness (CIE L*) falls from 86 to
# 21, below the white of "not surveyed" (dashed outline); hatches are lines, never dots
# (households are dots), dark on the light fills and white on the two dark ones so they
# still show. Measured on a grey copy (pdftoppm -gray, tests/unit/test_print_grey.py): mean
# grey 211, 158, 129, 89, 45 and 255 for "not surveyed", every hatched class textured.
PRINT_CLASS_COLOURS: tuple[str, ...] = ("#fed35e", "#f9952f", "#f06a2a", "#c01b16", "#6e0015")
PRINT_CLASS_HATCHES: tuple[str, ...] = ("", "//", "--", "x", "|")
PRINT_HATCH_COLOURS: tuple[str, ...] = ("#3b1d05", "#3b1d05", "#3b1d05", "#ffffff", "#ffffff")
PRINT_NO_DATA_COLOUR = "#ffffff"
PRINT_NO_DATA_LINESTYLE: tuple[float, tuple[float, float]] = (0.0, (2.5, 1.5))
PRINT_OUTLINE = "#3b1d05"


@dataclass(frozen=True)
class PrintFill:
    """How one class (or "not surveyed") is filled on paper."""

    facecolor: str
    hatch: str
    hatch_colour: str
    linestyle: Any  # a matplotlib linestyle
    linewidth: float


def print_fill(index: int | None) -> PrintFill:
    """The paper fill of a class index (None: not surveyed)."""
    if index is None:
        return PrintFill(PRINT_NO_DATA_COLOUR, "", PRINT_OUTLINE, PRINT_NO_DATA_LINESTYLE, 1.2)
    return PrintFill(
        PRINT_CLASS_COLOURS[index],
        PRINT_CLASS_HATCHES[index],
        PRINT_HATCH_COLOURS[index],
        "-",
        0.9,
    )


def value_class(value: float | None) -> int | None:
    """The class index (0-4) of a 0-100 value as shown (a score rounded as the API shows it:
    a reader who sees 20.0 finds it in the class 20-40); None when there is no value."""
    if value is None:
        return None
    for index, bound in enumerate(CLASS_BOUNDS):
        if value < bound:
            return index
    return len(CLASS_BOUNDS) - 1


def value_class_sql(value: str) -> str:
    """SQL: value_class of the SQL expression `value` (the value as shown), the same bounds
    and the same index (0-4), NULL for NULL: the exports class as the maps draw."""
    whens = " ".join(
        f"WHEN {value} < {bound!r} THEN {index}" for index, bound in enumerate(CLASS_BOUNDS)
    )
    return f"CASE WHEN {value} IS NULL THEN NULL {whens} ELSE {len(CLASS_BOUNDS) - 1} END"


def class_colour(value: float | None) -> str:
    """The fill colour of a 0-100 value."""
    index = value_class(value)
    return NO_DATA_COLOUR if index is None else CLASS_COLOURS[index]


def class_labels() -> list[str]:
    """Legend labels of the classes: '0-20', '20-40', ..."""
    lower = (0.0, *CLASS_BOUNDS[:-1])
    return [f"{low:.0f}–{high:.0f}" for low, high in zip(lower, CLASS_BOUNDS, strict=True)]


# Upgrading projects (app/services/cdf_projects.py), by status: blues to green (done), apart
# from the settlements' yellow-red classes. On paper every project is black: status reads
# from the marker's fill (hollow until done) and the table beside the map.
PROJECT_STATUS_COLOURS: tuple[tuple[str, str], ...] = (
    ("proposed", "#9ecae1"),
    ("approved", "#3182bd"),
    ("building", "#756bb1"),
    ("done", "#238b45"),
)
