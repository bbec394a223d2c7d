"""Instance XML as Collect writes it, read into the JSON API's survey (no database needed):
repeats, groups, geo answers, selects, file names, namespaces, hostile XML."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.forms.definition import load_form
from app.forms.instance_xml import (
    InstanceError,
    guard,
    map_instance,
    parse_instance,
    stored_filename,
)
from app.forms.registry import FormRegistry
from app.forms.validation import validate_answers
from app.services.intake import prepare_submission
from app.settings import REPO_ROOT
from tests.odk import NAMESPACES, household_xml

ROSTER = REPO_ROOT / "tests" / "forms" / "household_roster.md"
ALL_WIDGETS = REPO_ROOT / "tests" / "forms" / "all_widgets.md"
WIDGETS_BASE = {"leader": "An", "households": 12, "land": "public", "consent": "OK"}


def registry(*paths: Path) -> FormRegistry:
    forms = FormRegistry()
    for path in paths:
        forms.add(load_form(path))
    return forms


def roster_xml(members: list[tuple[str, str, str, str]]) -> bytes:
    inner = "".join(
        f"<member><member_name>{n}</member_name><age>{a}</age><sex>{s}</sex>"
        f"<disability>{d}</disability><position_in_roster/></member>"
        for n, a, s, d in members
    )
    return (
        f'<data id="household_roster" version="2026120201" {NAMESPACES}>'
        "<head_name>Lê Thị Thu</head_name>"
        f"<member_count>{len(members)}</member_count>{inner}<adults/><total_age/><summary/>"
        "<meta><instanceID>uuid:0b6f1c9e-31a6-4f0c-9f25-6f1d8a0b7c11</instanceID></meta></data>"
    ).encode()


def test_a_repeat_becomes_a_list_of_objects_and_passes_the_checks() -> None:
    form = load_form(ROSTER)
    xml = roster_xml([("Lê Thị Thu", "41", "female", "no"), ("Lê Văn An", "3", "male", "")])
    head = parse_instance(xml)
    mapped = map_instance(head, form, "tnv-07", "2026-12-03T09:00:00+07:00")
    answers = mapped.raw["answers"]
    # An empty element is sent as empty (no answer, and no default fills it).
    assert answers["member"] == [
        {"member_name": "Lê Thị Thu", "age": "41", "sex": "female", "disability": "no"}
        | {"position_in_roster": ""},
        {"member_name": "Lê Văn An", "age": "3", "sex": "male", "disability": ""}
        | {"position_in_roster": ""},
    ]
    normalised, problems = validate_answers(form, answers)
    assert problems == []
    assert "disability" not in normalised["member"][1]
    assert [m["position_in_roster"] for m in normalised["member"]] == ["1", "2"]  # recomputed
    assert normalised["member"][0]["age"] == 41
    assert str(normalised["adults"]) == "1"


def test_groups_flatten_and_the_geopoint_is_the_location() -> None:
    forms = registry(REPO_ROOT / "forms" / "household.xlsx")
    head = parse_instance(household_xml(geopoint="15.571 108.474 12.0 6.5", photo="a b.jpg"))
    mapped = map_instance(head, forms.current("household"), "tnv-07", "2026-12-03T09:00:00")
    raw = mapped.raw
    assert raw["location"] == {"lat": 15.571, "lon": 108.474, "altitude_m": 12.0, "accuracy_m": 6.5}
    assert raw["collected_at"] == "2026-11-26T09:30:00.000+07:00"
    assert raw["answers"]["tenure"] == "papers_only"
    assert raw["answers"]["priority_needs"] == "drainage lane"
    assert raw["answers"]["lane_paved"] == ""  # an empty element is no answer
    assert mapped.files == {"a b.jpg": raw["answers"]["photo"]}
    now = datetime(2026, 12, 3, tzinfo=UTC)
    prepared, problems = prepare_submission(raw, forms, now)
    assert problems == [] and prepared is not None
    assert (prepared.lat, prepared.lon, prepared.accuracy_m) == (15.571, 108.474, 6.5)
    assert "lane_paved" not in prepared.answers


def test_a_geoshape_answer_is_kept_as_collect_wrote_it() -> None:
    forms = registry(REPO_ROOT / "forms" / "settlement.xlsx")
    shape = "15.57 108.47 0 5; 15.571 108.47 0 5;15.571 108.471 0 5; 15.57 108.47 0 5;"
    xml = (
        f'<data id="settlement" version="2026112801" {NAMESPACES}><start/><end/>'
        "<settlement_name>Khu phố 3</settlement_name><households_count>40</households_count>"
        f"<land_type>residential</land_type><threats>eviction flooding</threats>"
        f"<boundary>{shape}</boundary>"
        "<meta><instanceID>uuid:7d7c4a57-4b6e-4b1f-8d0e-6f9b1f0a5e21</instanceID></meta></data>"
    ).encode()
    mapped = map_instance(parse_instance(xml), forms.current("settlement"), None, "2026-12-03")
    assert mapped.raw["answers"]["boundary"] == shape
    assert "location" not in mapped.raw
    prepared, problems = prepare_submission(mapped.raw, forms, datetime(2026, 12, 3, tzinfo=UTC))
    assert problems == [], problems
    assert prepared is not None and prepared.answers["threats"] == "eviction flooding"


def test_an_older_orx_meta_and_unknown_elements() -> None:
    forms = registry(REPO_ROOT / "forms" / "household.xlsx")
    xml = household_xml().replace(b"<meta>", b"<orx:meta>").replace(b"</meta>", b"</orx:meta>")
    xml = xml.replace(b"<g_housing>", b"<g_housing><castle>yes</castle>")
    head = parse_instance(xml)
    mapped = map_instance(head, forms.current("household"), None, "2026-12-03")
    # The orx:meta block is metadata; the element the form does not have is named where it is.
    assert [(p.field, p.code) for p in mapped.problems] == [
        ("answers.g_housing.castle", "unknown_question")
    ]
    assert "castle" not in mapped.raw["answers"]
    _prepared, problems = prepare_submission(mapped.raw, forms, datetime(2026, 12, 3, tzinfo=UTC))
    assert problems == []


def test_metadata_the_form_names_its_own_way_is_not_an_answer() -> None:
    # `start starttime`, `deviceid imei`...: Collect writes each under the form's name; none is
    # a question (until this, every submission of such a form was refused: "no question 'u'").
    forms = registry(REPO_ROOT / "tests" / "forms" / "metadata_renamed.md")
    xml = (
        f'<data id="metadata_renamed" version="1" {NAMESPACES}>'
        "<starttime>2026-12-03T08:10:00.000+07:00</starttime>"
        "<endtime>2026-12-03T08:25:00.000+07:00</endtime><td>2026-12-03</td>"
        "<imei>collect:Xy12</imei><u>tnv-07</u><ph/><street>Lê Lợi</street>"
        "<meta><instanceID>uuid:0b6f1c9e-31a6-4f0c-9f25-6f1d8a0b7c11</instanceID></meta></data>"
    ).encode()
    mapped = map_instance(parse_instance(xml), forms.current("metadata_renamed"), None, "x")
    assert mapped.raw["answers"] == {"street": "Lê Lợi"}
    assert mapped.raw["collected_at"] == "2026-12-03T08:25:00.000+07:00"  # the end, renamed
    prepared, problems = prepare_submission(mapped.raw, forms, datetime(2026, 12, 3, tzinfo=UTC))
    assert problems == []
    assert prepared is not None and prepared.answers == {"street": "Lê Lợi"}


def test_an_answer_sent_empty_is_not_filled_by_its_default() -> None:
    # Collect filled the defaults when the survey was made; an element it sends empty is one
    # the volunteer cleared: the server used to fill it again (n = 5, sm = "yes no").
    form = load_form(REPO_ROOT / "tests" / "forms" / "defaults_cleared.md")
    assert validate_answers(form, {})[0] == {"n": 5, "sm": "yes no", "street": "Lê Lợi"}
    assert validate_answers(form, {"n": "", "sm": "", "street": None}) == ({}, [])
    xml = (
        f'<data id="defaults_cleared" version="1" {NAMESPACES}><n/><sm></sm><street/>'
        "<meta><instanceID>uuid:0b6f1c9e-31a6-4f0c-9f25-6f1d8a0b7c11</instanceID></meta></data>"
    ).encode()
    mapped = map_instance(parse_instance(xml), form, None, "2026-12-03T09:00:00+07:00")
    assert validate_answers(form, mapped.raw["answers"]) == ({}, [])


@pytest.mark.parametrize(
    ("xml", "code"),
    [
        (b"", "malformed_xml"),
        (b"not xml", "malformed_xml"),
        (b'<!DOCTYPE d [<!ENTITY e "x">]><data id="f"/>', "xml_declarations"),
        (
            b'<data id="f"><meta><instanceID>uuid:nope</instanceID></meta></data>',
            "instance_id_invalid",
        ),
        (b'<data id="f"><meta/></data>', "instance_id_missing"),
        (
            b"<data><meta><instanceID>uuid:0b6f1c9e-31a6-4f0c-9f25-6f1d8a0b7c11</instanceID>"
            b"</meta></data>",
            "form_id_missing",
        ),
        (b"<data id='f'>" + b"<a/>" * 60_000 + b"</data>", "instance_too_large"),
    ],
)
def test_bad_instances_are_named(xml: bytes, code: str) -> None:
    with pytest.raises(InstanceError) as caught:
        parse_instance(xml)
    assert caught.value.code == code


@pytest.mark.parametrize(
    "xml",
    [
        b"<data id='f'>" + b"<a/>" * 60_000 + b"</data>",
        b"<data id='f'><a " + b" ".join(b"x%d='1'" % i for i in range(60_000)) + b"/></data>",
    ],
    ids=["elements", "attributes"],
)
def test_too_many_elements_or_attributes_stop_the_first_read(xml: bytes) -> None:
    """ElementTree built every element of a 10 MB instance (2.6 million, ~2 s on the event
    loop) and only then counted them; an element's attributes were not counted at all
    (review). The guard counts both as expat reads them, before any tree is built."""
    with pytest.raises(InstanceError) as caught:
        guard(xml)
    assert caught.value.code == "instance_too_large"


@pytest.mark.parametrize(
    "name",
    [
        "ảnh nhà.jpg",
        "../../etc/passwd",
        "=cmd|' /C calc'!A0.jpg",
        "{{7*7}}.png",
        "Đ",
        ".jpg",
        "report..final v2.pdf",  # kept "..", which the answer check refuses: the survey too
    ],
)
def test_stored_file_names_are_safe_and_distinct(name: str) -> None:
    stored = stored_filename(name)
    assert stored.isascii() and "/" not in stored and ".." not in stored
    assert stored[0].isalnum()
    assert stored != stored_filename(name + "x")
    assert stored_filename("1764747000123.jpg") == "1764747000123.jpg"
    problems = validate_answers(load_form(ALL_WIDGETS), {"plan": stored, **WIDGETS_BASE})[1]
    assert problems == []


def test_an_instance_under_a_root_named_on_the_settings_sheet_is_read_and_checked() -> None:
    form = load_form(REPO_ROOT / "tests" / "forms" / "root_name.md")

    def verdict(a: str, b: str) -> set[tuple[str, str]]:
        xml = (
            f'<my_root id="root_name" version="3" {NAMESPACES}><a>{a}</a><b>{b}</b>'
            "<g><c>x</c></g><loc>15.571 108.474 12.0 6.5</loc>"
            "<meta><instanceID>uuid:5b8a3f0e-0c2d-4b7e-9d7a-2f6f0b0c1d11</instanceID></meta>"
            "</my_root>"
        ).encode()
        mapped = map_instance(parse_instance(xml), form, "tnv-07", "2026-12-03T09:00:00")
        assert mapped.raw["location"]["lat"] == 15.571
        _normalised, problems = validate_answers(form, mapped.raw["answers"])
        return {(p.field, p.code) for p in problems}

    assert verdict("5", "3") == {("answers.c", "not_relevant")}
    assert verdict("1", "5") >= {("answers.b", "not_relevant")}
    assert verdict("5", "9") >= {("answers.b", "constraint")}
