"""The printed ward map's layout on A4 and A3, landscape and portrait, in both languages: every
text on the page and apart from the others, big enough to read at arm's length, the map using
most of the sheet, long and hostile names wrapped rather than cut."""

from __future__ import annotations

import dataclasses
import itertools
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from app.geo import print_layout, print_map
from app.geo.print_map import BODY_SIZE, PrintInput, render_print_map
from tests.hostile import DOLLARS, TEMPLATE_CODE
from tests.unit.test_print_map import ward_page

LONG_NAME = "Khu dân cư ven kênh Phú Lộc nối dài từ cầu Trần Hưng Đạo đến chợ cá Thuận Phước cũ"
# The smallest share of the page the map takes: beside the panel in landscape, above the
# table in portrait (which needs the page's width for its columns).
MAP_SHARE = {"landscape": 0.55, "portrait": 0.50}


def crowded_page(language: str, indicator: str = "no_piped_water") -> PrintInput:
    """The small ward with a long Vietnamese name and a hostile one among its settlements."""
    page = ward_page(indicator, language)
    settlements = [dict(settlement) for settlement in page.settlements]
    settlements[0]["name"] = LONG_NAME
    settlements[1]["name"] = f"{TEMPLATE_CODE} {DOLLARS}"
    return dataclasses.replace(page, settlements=settlements)


def page_texts(data: PrintInput, size: str, orientation: str) -> tuple[Any, list[Any], Any]:
    """Render the page; return the figure's bbox, its visible texts with their extents
    (pixels at the figure's dpi), and the map's axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    seen: dict[str, Any] = {}

    def inspect(figure: Any) -> None:
        renderer = FigureCanvasAgg(figure).get_renderer()
        figure.draw(renderer)
        texts = [
            (text, text.get_window_extent(renderer))
            for text in print_map._page_texts(figure)
            if text.get_visible() and text.get_text().strip()
        ]
        seen.update(bbox=figure.bbox.frozen(), texts=texts, map=figure.axes[0].get_position())

    render_print_map(data, size, orientation, "pdf", on_page=inspect)
    return seen["bbox"], seen["texts"], seen["map"]


def with_projects(page: PrintInput) -> PrintInput:
    """The page with seven upgrading projects, long and hostile names among them."""
    projects = [
        {
            "number": index + 1,
            "name": (LONG_NAME, TEMPLATE_CODE, DOLLARS)[index % 3],
            "kind": "Lát ngõ, hẻm",
            "status": "Đang thi công",
            "status_code": "building" if index % 2 else "done",
            "settlement": (LONG_NAME, "Xóm Chài")[index % 2],
            "rank": str(index + 1),
            "budget": f"{92_000_000 * (index + 1):,}".replace(",", "."),
            "leverage": "1,04",
            "geometry": {"type": "Point", "coordinates": [108.463 + index * 0.0005, 15.565]},
            "label_lon": 108.463 + index * 0.0005,
            "label_lat": 15.565,
        }
        for index in range(7)
    ]
    return dataclasses.replace(page, projects=projects)


@pytest.mark.parametrize("projects", [False, True])
@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize("orientation", ["landscape", "portrait"])
@pytest.mark.parametrize("size", ["A4", "A3"])
def test_layout(size: str, orientation: str, language: str, projects: bool) -> None:
    data = crowded_page(language)
    page, texts, map_box = page_texts(with_projects(data) if projects else data, size, orientation)
    assert len(texts) > 40
    for text, box in texts:
        assert text.get_fontsize() >= BODY_SIZE[size], (text.get_text(), text.get_fontsize())
        assert box.x0 >= page.x0 - 0.5 and box.x1 <= page.x1 + 0.5, text.get_text()
        assert box.y0 >= page.y0 - 0.5 and box.y1 <= page.y1 + 0.5, text.get_text()
    for (a, box_a), (b, box_b) in itertools.combinations(texts, 2):
        overlap_x = min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)
        overlap_y = min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0)
        # A pixel of touching (ascenders of one line, descenders of the next) is not overlap.
        assert overlap_x <= 1 or overlap_y <= 1, (a.get_text(), b.get_text())
    # With projects their table takes the lower part of the map's frame.
    share = MAP_SHARE[orientation] * (1 - print_map.PROJECTS_SHARE[orientation] if projects else 1)
    assert map_box.width * map_box.height >= share
    # Long names wrap onto more lines, whole: nothing is shortened with "…".
    shown = "".join("".join(text.get_text().split()) for text, _ in texts)
    for name in (LONG_NAME, f"{TEMPLATE_CODE} {DOLLARS}"):
        assert "".join(name.split()) in shown
    assert not any(text.get_text().endswith("…") for text, _ in texts)


def test_names_wrap_in_the_pdf(tmp_path: Path) -> None:
    path = tmp_path / "page.pdf"
    path.write_bytes(render_print_map(crowded_page("vi"), "A4", "landscape", "pdf"))
    words = subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    flat = "".join(words.split())
    # The table's name cell, whole over its lines (map labels are outlined paths in a PDF).
    assert "".join(LONG_NAME.split()) in flat
    assert "".join(TEMPLATE_CODE.split()) in flat and "Hẻm$5và$10" in flat


def test_wrap_breaks_at_spaces_and_inside_long_words() -> None:
    lines = print_layout.wrap(LONG_NAME, 9, 120)
    assert len(lines) > 2 and " ".join(lines) == LONG_NAME
    assert all(print_layout.text_width(line, 9) <= 120 for line in lines)
    long_word = "x" * 200
    lines = print_layout.wrap(long_word, 9, 50)
    assert "".join(lines) == long_word and all(
        print_layout.text_width(line, 9) <= 50 for line in lines
    )


def test_a_long_decomposed_name_is_cut_in_few_measures_between_letters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 2,000-letter name typed with combining marks (no space) was cut one character at a
    time, each measured by matplotlib: a settlement print took 196 s (found by review)."""
    import unicodedata

    name = unicodedata.normalize("NFD", "Nguyễn" * 333)
    measures = 0
    measure = print_layout.text_width

    def counted(text: str, size: float, bold: bool = False) -> float:
        nonlocal measures
        measures += 1
        return measure(text, size, bold)

    monkeypatch.setattr(print_layout, "text_width", counted)
    lines = print_layout.wrap(name, 9, 150)
    assert "".join(lines) == name and len(lines) > 20
    assert all(measure(line, 9) <= 150 for line in lines)
    # No line begins with a mark cut off from its letter.
    assert not any(unicodedata.combining(line[0]) for line in lines)
    # About log2(2,000) measures a line, not hundreds.
    assert measures < 20 * len(lines)


def test_many_settlements_stop_with_a_count() -> None:
    page = ward_page()
    many = [
        {**page.settlements[0], "name": f"Khu {index}", "rank_in_ward": index + 1}
        for index in range(60)
    ]
    data = dataclasses.replace(page, settlements=many)
    _, texts, _ = page_texts(data, "A4", "landscape")
    # (a column of one-line rows is one text, a line per row)
    contents = [line for text, _ in texts for line in text.get_text().split("\n")]
    more = [text for text in contents if text.startswith("… và")]
    assert len(more) == 1
    shown = 60 - int(more[0].split()[2])
    assert shown >= 12  # beside the map on A4
    assert sum(1 for text in contents if re.fullmatch(r"Khu \d+", text)) == shown  # table rows


def projects_on_the_names(page: PrintInput) -> PrintInput:
    """Projects right where the settlements' names go: a point on each label point, a street
    project across the second name, as on Tam Kỳ's ward 1 ("P1" and its bar over "3. Xóm
    Giếng Làng")."""
    projects = [
        {
            "number": index + 1,
            "name": f"Dự án {index + 1}",
            "kind": "Lát ngõ, hẻm",
            "status": "Đang thi công",
            "status_code": ("done", "building")[index % 2],
            "settlement": settlement["name"],
            "rank": "1",
            "budget": "92.000.000",
            "leverage": "1,04",
            "geometry": geometry,
            "label_lon": settlement["label_lon"],
            "label_lat": settlement["label_lat"],
        }
        for index, (settlement, geometry) in enumerate(
            [
                (s, {"type": "Point", "coordinates": [s["label_lon"], s["label_lat"]]})
                for s in page.settlements
            ]
            + [
                (
                    s,
                    {
                        "type": "LineString",
                        "coordinates": [
                            [s["label_lon"] - 0.001, s["label_lat"]],
                            [s["label_lon"] + 0.001, s["label_lat"]],
                        ],
                    },
                )
                for s in page.settlements[1:]
            ]
        )
    ]
    return dataclasses.replace(page, projects=projects)


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize("orientation", ["landscape", "portrait"])
def test_project_marks_keep_off_the_settlements_names(orientation: str, language: str) -> None:
    from matplotlib.transforms import Bbox

    data = projects_on_the_names(ward_page("priority", language))
    names = [str(s["name"]) for s in data.settlements]
    seen: dict[str, Any] = {}

    def inspect(figure: Any) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        renderer = FigureCanvasAgg(figure).get_renderer()
        figure.draw(renderer)
        ax = figure.axes[0]
        texts = [
            (text.get_text(), text.get_window_extent(renderer))
            for text in ax.texts
            if text.get_visible() and text.get_text().strip()
        ]
        symbols = []
        for line in ax.lines:
            if line.get_zorder() != 12:
                continue  # the projects' symbols only
            path = line.get_transform().transform_path(line.get_path())
            if line.get_marker() == "^":
                (x, y), half = path.vertices[0], line.get_markersize() / 2 * figure.dpi / 72
                symbols.append(Bbox.from_extents(x - half, y - half, x + half, y + half))
            else:
                symbols.append(path)
        seen.update(texts=texts, symbols=symbols)

    render_print_map(data, "A4", orientation, "pdf", on_page=inspect)
    texts = seen["texts"]
    labels = [(text, box) for text, box in texts if re.fullmatch(r"P\d+", text)]
    settlement_names = [(t, b) for t, b in texts if any(n.split()[0] in t for n in names)]
    assert len(labels) == len(data.projects) and len(settlement_names) == len(names)
    for (a, box_a), (b, box_b) in itertools.combinations(labels + settlement_names, 2):
        overlap_x = min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)
        overlap_y = min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0)
        assert overlap_x <= 1 or overlap_y <= 1, (a, b)
    assert len(seen["symbols"]) == len(data.projects)
    for text, box in settlement_names:
        for symbol in seen["symbols"]:
            if isinstance(symbol, Bbox):
                assert not symbol.overlaps(box), text
            else:
                assert not symbol.intersects_bbox(box, filled=False), text


def test_printable_turns_control_characters_only_into_spaces() -> None:
    from app.geo.print_layout import printable

    assert printable("Tổ\t5\r=1\x00") == "Tổ 5 =1 "
    assert printable("Hẻm 2\nNgõ 3") == "Hẻm 2\nNgõ 3"  # a line break stays one
    # Pasted names keep their non-breaking space, soft hyphen and zero-width joiner.
    pasted = "Nguy\u00adễn\u00a0Văn\u200dA"
    assert printable(pasted) == pasted
    assert printable("a\ud800b") == "a\ufffdb"
