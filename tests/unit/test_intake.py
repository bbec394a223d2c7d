"""Submission checks that need no database: normalisation, hashing, messages."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from app.forms.registry import FormRegistry
from app.services.intake import MAX_NODES, item_problems, prepare_submission, with_lateness
from tests.factories import household_answers, household_survey

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


def test_a_valid_survey_is_normalised(forms: FormRegistry) -> None:
    body = household_survey(answers=household_answers(household_size="4", priority_needs=["water"]))
    prepared, problems = prepare_submission(body, forms, NOW)
    assert problems == []
    assert prepared is not None
    assert prepared.answers["household_size"] == 4
    assert prepared.answers["priority_needs"] == "water"
    assert "location" not in prepared.answers  # it lives in the geometry column
    assert prepared.lat == 15.571 and prepared.lon == 108.474


def test_the_hash_ignores_encoding_but_not_content(forms: FormRegistry) -> None:
    body = household_survey()
    same = {**body, "collected_at": "2026-11-26T02:30:00+00:00"}
    same["answers"] = {**body["answers"], "household_size": "4"}
    edited = {**body, "answers": household_answers(flooding="never")}
    hashes = [prepare_submission(b, forms, NOW)[0].content_hash for b in (body, same, edited)]  # type: ignore[union-attr]
    assert hashes[0] == hashes[1] != hashes[2]


def test_a_time_without_offset_is_vietnam_time(forms: FormRegistry) -> None:
    prepared, _ = prepare_submission(
        household_survey(collected_at="2026-11-26T09:30:00"), forms, NOW
    )
    assert prepared is not None
    assert prepared.collected_at.astimezone(UTC).hour == 2


def test_every_problem_is_reported_at_once(forms: FormRegistry) -> None:
    body = household_survey(
        location={"lat": 15.57, "lon": 108.47, "accuracy_m": -1},
        answers=household_answers(tenure=None, water_source="river"),
    )
    prepared, problems = prepare_submission(body, forms, NOW)
    assert prepared is None
    assert {(p.field, p.code) for p in problems} == {
        ("location.accuracy_m", "accuracy_negative"),
        ("answers.tenure", "required"),
        ("answers.water_source", "invalid_choice"),
    }
    messages = {p.field: p.message("vi") for p in problems}
    assert messages["answers.tenure"] == "Bắt buộc trả lời câu này."
    assert "river" in messages["answers.water_source"]


def test_not_an_object(forms: FormRegistry) -> None:
    prepared, problems = prepare_submission(["a", "list"], forms, NOW)
    assert prepared is None and problems[0].code == "wrong_type"


def test_today_is_the_day_the_survey_was_collected() -> None:
    """A survey sent days after it was filled keeps the verdict it had on the phone."""
    from app.forms.definition import load_form
    from app.settings import REPO_ROOT

    registry = FormRegistry()
    registry.add(load_form(REPO_ROOT / "tests" / "forms" / "defect_5_dates.md"))

    def survey(birth: str) -> dict[str, object]:
        return {
            "id": "0d7d1c9e-6a43-4c0a-9d0e-0f1d5b0c0a01",
            "form_id": "defect_5_dates",
            "form_version": "1",
            "collected_at": "2026-11-20T10:00:00+07:00",
            "answers": {"birth": birth, "deadline": "2026-02-01"},
        }

    # Born on the day of the survey: today() was that day on the phone, so it is here.
    prepared, problems = prepare_submission(survey("2026-11-20"), registry, NOW)
    assert problems == [] and prepared is not None
    assert prepared.answers["age_days"] == "0"  # a calculate is text, as in ODK
    # The next day was still in the future when the survey was filled.
    _, problems = prepare_submission(survey("2026-11-21"), registry, NOW)
    assert [(p.field, p.code) for p in problems] == [("answers.birth", "constraint")]


def test_the_review_page_labels_come_from_the_household_form(forms: FormRegistry) -> None:
    """HOUSEHOLD_FORM names the form whose questions the review page labels (vi and en)."""
    from app.api.review_page import forms_summary

    vietnamese = forms_summary(forms, "vi", "household")["household"]["answers"]["tenure"]
    english = forms_summary(forms, "en", "household")["household"]["answers"]["tenure"]
    assert vietnamese["label"] and english["label"] != vietnamese["label"]
    household = forms_summary(forms, "en", "household")["household"]
    assert (household["title_question"], household["title_label"]) == (
        "head_name",
        "Head of household",
    )
    assert "head_phone" not in household["questions"]


def test_the_review_page_shows_any_form_by_its_own_title_and_questions(
    forms: FormRegistry,
) -> None:
    """A settlement profile is titled by the settlement's name and lists its other answers
    (never its boundary), with the form's labels in the page's language."""
    from app.api.review_page import forms_summary

    profile = forms_summary(forms, "vi", "household")["settlement"]
    assert profile["title"] == "Hồ sơ khu dân cư / Settlement profile"
    assert (profile["title_question"], profile["title_label"]) == (
        "settlement_name",
        "Tên khu dân cư",
    )
    assert "boundary" not in profile["questions"] and "settlement_name" not in profile["questions"]
    assert profile["questions"][:3] == ["leader_name", "leader_phone", "households_count"]
    english = forms_summary(forms, "en", "household")["settlement"]
    assert english["title_label"] == "Settlement name"
    assert english["answers"]["land_type"]["choices"]["riverbank"] == "River or canal bank"


# Hashes computed by the server before the UTC time was written by orjson (2026-12-04): a
# phone resending one of these surveys must get `duplicate`, never `conflict`.
HASHED_BEFORE = {
    "2026-11-26T09:30:00": "5ed5d1abe7329eea0fd5024c10ebe5e4508a773cbbddf18189b010764b854cfd",
    "2026-11-26T02:30:00.123456Z": (
        "14edabd07c66c06d713379597ebde3024669fb5ad14bcd6b28f43191128261c8"
    ),
    "2026-11-26T09:30:00.5+07:00": (
        "7535cdaf95778ff8ff5d47761add03561357702e75a04b83a2d98fb7a3fd757a"
    ),
    "2026-11-27T23:59:59.000001-05:00": (
        "b416cefe805fcf115d9357a57382f2faecd35660df410b789faaef15bccebacf"
    ),
}


def _stored_survey(collected_at: str, **location: object) -> dict[str, object]:
    """A survey written out in full (not from tests.factories, which may change)."""
    return {
        "id": "6f1c0f3e-8a52-4b4e-9d55-0d6a4c2b9e11",
        "form_id": "household",
        "form_version": "2026112801",
        "collected_at": collected_at,
        "collector": "tnv-07",
        "location": {
            "lat": 15.571,
            "lon": 108.474,
            "accuracy_m": 6.5,
            "altitude_m": 12.0,
            **location,
        },
        "answers": {
            "head_name": "Nguyễn Thị Hoa",
            "head_phone": "0905123456",
            "household_size": 4,
            "poverty_status": "poor",
            "tenure": "papers_only",
            "house_condition": "temporary",
            "eviction_threat": "no",
            "water_source": "shared_tap",
            "sanitation": "shared_toilet",
            "electricity": "neighbour_meter",
            "flooding": "often",
            "waste": "dumped",
            "lane_access": "motorbike",
            "lane_width_m": 1.8,
            "savings_group": "yes",
            "cdf_loan": "no",
            "priority_needs": "drainage lane",
        },
    }


def test_the_content_hash_is_what_older_servers_stored(forms: FormRegistry) -> None:
    for collected_at, digest in HASHED_BEFORE.items():
        prepared, problems = prepare_submission(_stored_survey(collected_at), forms, NOW)
        assert problems == [] and prepared is not None
        assert prepared.content_hash == digest, collected_at
    manual, _ = prepare_submission(_stored_survey("2026-11-26T09:30:00", manual=True), forms, NOW)
    assert manual is not None
    assert manual.content_hash == "43c5528d3df9ad28242bc49b170095bdb55cd8fa45d0e913e8e5c204b37a60fc"


def test_orjson_writes_a_utc_time_as_its_isoformat() -> None:
    # _content_hash leaves the collection time to orjson: its text must stay isoformat()'s.
    rng = random.Random(3)
    start = datetime(1, 1, 1, tzinfo=UTC)
    moments = [start, datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)]
    for _ in range(20_000):
        seconds = rng.randrange(0, 3_155_000_000 * 100)
        micro = rng.choice([0, 1, 10, 500_000, 999_999, rng.randrange(1_000_000)])
        moments.append(start + timedelta(seconds=seconds, microseconds=micro))
    for moment in moments:
        assert orjson.dumps(moment) == orjson.dumps(moment.isoformat()), moment


def test_the_location_text_is_made_when_an_expression_reads_it(tmp_path: Path) -> None:
    # The survey's location becomes the geopoint's answer ("lat lon alt accuracy") only for
    # the expressions that read it: the household form has none, this one has one.
    source = tmp_path / "reads_location.md"
    source.write_text(
        "| survey |\n"
        "| | type | name | label | relevant |\n"
        "| | geopoint | location | Location | |\n"
        "| | text | remark | Remark | ${location} != '' |\n"
        "| settings |\n"
        "| | form_id | version |\n"
        "| | reads_location | 1 |\n",
        encoding="utf-8",
    )
    from app.forms.definition import load_form

    registry = FormRegistry()
    form = load_form(source)
    registry.add(form)
    assert form.compiled.flat is not None and "location" in form.compiled.flat_reads
    body = {
        "id": "0d7d1c9e-6a43-4c0a-9d0e-0f1d5b0c0a02",
        "form_id": "reads_location",
        "form_version": "1",
        "collected_at": "2026-11-20T10:00:00+07:00",
        "location": {"lat": 15.571, "lon": 108.474},
        "answers": {"remark": "near the bridge"},
    }
    prepared, problems = prepare_submission(body, registry, NOW)
    assert problems == [] and prepared is not None
    assert prepared.answers == {"remark": "near the bridge"}


def test_the_household_forms_expressions_do_not_read_the_location(forms: FormRegistry) -> None:
    compiled = forms.get("household", None).compiled
    assert compiled.flat is not None and "location" not in compiled.flat_reads


def test_a_survey_id_is_read_as_uuid_reads_it() -> None:
    """The canonical id (what phones send) is built without uuid.UUID's parsing: the same
    object and text; every other spelling goes through uuid.UUID, and what it refuses is
    refused."""
    import uuid

    import pytest

    from app.services.intake import _survey_id

    canonical = "0d7d1c9e-6a43-4c0a-9d0e-0f1d5b0c0a02"
    for sent in (
        canonical,
        canonical.upper(),
        "{" + canonical + "}",
        "urn:uuid:" + canonical,
        canonical.replace("-", ""),
        "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
    ):
        made, key = _survey_id(sent)
        expected = uuid.UUID(sent)
        assert made == expected and hash(made) == hash(expected)
        assert key == str(made) == str(expected) and made.version == expected.version
        assert made.is_safe == expected.is_safe
    for bad in ("", canonical[:-1], canonical + "0", canonical.replace("d", "g"), "1_2" * 12):
        with pytest.raises(ValueError):
            _survey_id(bad)
        with pytest.raises(ValueError):
            uuid.UUID(bad)


def test_a_batch_checked_clean_once_gives_what_each_survey_checked_gives(
    forms: FormRegistry,
) -> None:
    """all_clean holds for a batch only when item_problems finds nothing in any survey of it,
    and a survey checked with `clean` gets the verdict and hash it gets without."""
    from app.services.intake import all_clean, item_problems

    good = [household_survey() for _ in range(3)]
    deep: object = "x"
    for _ in range(300):
        deep = [deep]
    hostile = [
        {**good[0], "collector": "a\x00b"},
        {**good[0], "answers": {**good[0]["answers"], "note": "\ud800"}},
        {**good[0], "answers": {**good[0]["answers"], "deep": deep}},
    ]
    assert all_clean(good)
    for survey in hostile:
        assert item_problems(survey) != []
        assert not all_clean([*good, survey])
    for survey in good:
        plain, problems = prepare_submission(survey, forms, NOW)
        clean, clean_problems = prepare_submission(survey, forms, NOW, clean=True)
        assert problems == clean_problems == [] and plain is not None and clean is not None
        assert clean.content_hash == plain.content_hash and clean.key == str(plain.id)


def test_a_kept_late_upload_takes_the_place_intake_gives_it(forms: FormRegistry) -> None:
    """A correction keeps the first sending's `late_upload` (app/services/review.correct):
    where intake writes it, whatever the correction's other flags."""
    late = household_survey(
        collected_at="2026-11-01T09:00:00+07:00",
        location={"lat": 15.571, "lon": 108.474, "accuracy_m": 80},
    )
    prepared, _ = prepare_submission(late, forms, NOW, late_after=timedelta(days=14))
    assert prepared is not None
    assert prepared.flags == ["low_gps_accuracy", "late_upload"]
    assert with_lateness(["low_gps_accuracy"], True) == prepared.flags
    assert with_lateness(prepared.flags, False) == ["low_gps_accuracy"]
    assert with_lateness(["clock_skew", "contradiction"], True) == [
        "clock_skew",
        "late_upload",
        "contradiction",
    ]
    assert with_lateness([], True) == ["late_upload"]


def test_a_point_placed_by_hand_is_named_inside_repeats_as_the_phone_names_it() -> None:
    """`repeat[n]/name`, n from 1: the answer must be there, a text, of a geopoint question."""
    from app.services.intake import _point_answered

    answers = {"plots": [{"corner": "15.57 108.47"}, {"corner": ""}], "corner": "15.5 108.4"}
    names = {"corner"}
    assert _point_answered(answers, "plots[1]/corner", names)
    assert _point_answered(answers, "corner", names)
    assert not _point_answered(answers, "plots[2]/corner", names)  # blank
    assert not _point_answered(answers, "plots[3]/corner", names)  # no such instance
    assert not _point_answered(answers, "plots[0]/corner", names)
    assert not _point_answered(answers, "plots/corner", names)
    assert not _point_answered(answers, "plots[1]/size", names)


def test_too_many_values_are_counted_before_any_is_walked() -> None:
    """A body with one NUL escape (off the fast path) and a list of a million zeros: the
    walk stacked a path for each zero, ~0.4 s on the event loop per request, before its
    count of 20,000 stopped it (review). The list is refused by its own name, unwalked; a
    survey just under the bound is still walked whole, its NUL named."""
    problems = item_problems({"code": "\u0000", "a": [0] * 1_000_000})
    assert [(p.field, p.code) for p in problems] == [("a", "too_many_values")]
    nested = item_problems({"code": "\u0000", "b": [{"c": [0] * 30_000}]})
    assert [(p.field, p.code) for p in nested] == [("b[0].c", "too_many_values")]
    under = item_problems({"code": "\u0000", "a": [0] * (MAX_NODES - 10)})
    assert [(p.field, p.code) for p in under] == [("code", "nul_character")]
