"""Colours, hatches and classes shared by the web map and the printed map (pure data)."""

from __future__ import annotations

from dataclasses import dataclass

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


def value_class(value: float | None) -> int | None:
    """The class index (0-4) of a 0-100 value; None when there is no value."""
    if value is None:
        return None
    for index, bound in enumerate(CLASS_BOUNDS):
        if value < bound:
            return index
    return len(CLASS_BOUNDS) - 1


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
