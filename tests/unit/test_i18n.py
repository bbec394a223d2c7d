"""One catalogue of messages and labels, complete in Vietnamese and English."""

from __future__ import annotations

import re

import pytest

from app.i18n import LANGUAGES, MESSAGES, pick_language, translate

PLACEHOLDER = re.compile(r"\{(\w+)\}")


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_every_message_has_both_languages_with_the_same_placeholders(code: str) -> None:
    texts = MESSAGES[code]
    assert set(texts) == set(LANGUAGES), code
    assert all(texts[language].strip() for language in LANGUAGES), code
    vi, en = (set(PLACEHOLDER.findall(texts[language])) for language in ("vi", "en"))
    assert vi == en, code


def test_vietnamese_is_the_default_and_diacritics_survive() -> None:
    assert pick_language(None) == "vi"
    assert pick_language("en-US,en;q=0.9") == "en"
    assert pick_language("fr") == "vi"
    assert translate("print_map.rank", "vi") == "Hạng"
    assert translate("web_map.wards", "en") == "Ward boundaries"
    assert translate("map_page.ward_title", "vi", ward="An Xuân", city="Tam Kỳ") == (
        "Bản đồ nâng cấp khu dân cư: An Xuân, Tam Kỳ"
    )


def test_number_text_writes_each_languages_separators() -> None:
    from app.i18n import number_text

    assert number_text(1234567.25, "vi", 1) == "1.234.567,2"
    assert number_text(1234567.25, "en", 1) == "1,234,567.2"
    assert number_text(42.66, "vi", 1) == "42,7" and number_text(12345, "vi") == "12.345"
