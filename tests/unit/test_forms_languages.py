"""A form's own messages in one language serve the others; languages named without a code."""

from __future__ import annotations

from pathlib import Path

from app.forms.definition import FormDefinition, load_form
from app.forms.validation import validate_answers

ENGLISH_ONLY_MESSAGE = """| survey |
| | type | name | label::Tiếng Việt (vi) | label::English (en) | constraint | constraint_message::English (en) | required | required_message::English (en) |
| | integer | age | Tuổi | Age | . <= 120 | 0-120 | yes | Age please |
| settings |
| | form_id | version | default_language |
| | ages | 1 | Tiếng Việt (vi) |
"""  # noqa: E501
NAMED_LANGUAGES = """| survey |
| | type | name | label::{vi} | label::English | constraint | constraint_message::{vi} |
| | integer | age | Tuổi | Age | . <= 120 | Từ 0 đến 120 |
| settings |
| | form_id | version |
| | ages | 1 |
"""


def load(tmp_path: Path, text: str) -> FormDefinition:
    path = tmp_path / "ages.md"
    path.write_text(text, encoding="utf-8")
    return load_form(path)


def messages(form: FormDefinition, answers: dict[str, object]) -> dict[str, str]:
    _normalised, [problem] = validate_answers(form, answers)
    return {language: problem.message(language) for language in ("vi", "en")}


def test_a_message_written_in_english_only_is_said_to_a_vietnamese_phone(tmp_path: Path) -> None:
    # The Vietnamese phone got the generic "Câu trả lời không hợp lệ" instead.
    form = load(tmp_path, ENGLISH_ONLY_MESSAGE)
    assert messages(form, {"age": 130}) == {"vi": "0-120", "en": "0-120"}
    assert messages(form, {}) == {"vi": "Age please", "en": "Age please"}
    [question] = form.model["children"]
    assert question["constraint_message"]["vi"] == "0-120"


def test_the_default_language_s_message_comes_first(tmp_path: Path) -> None:
    text = ENGLISH_ONLY_MESSAGE.replace(
        "constraint_message::English (en) |",
        "constraint_message::English (en) | constraint_message::Français (fr) |",
    ).replace("| 0-120 |", "| 0-120 | de 0 à 120 |")
    text = text.replace("| ages | 1 | Tiếng Việt (vi) |", "| ages | 1 | Français (fr) |")
    form = load(tmp_path, text)
    assert form.by_name["age"].constraint_message == {
        "en": "0-120",
        "fr": "de 0 à 120",
        "vi": "de 0 à 120",
    }


def test_a_language_named_without_its_code_is_known(tmp_path: Path) -> None:
    for name in ("Tiếng Việt", "Vietnamese", "vietnamese "):
        form = load(tmp_path, NAMED_LANGUAGES.format(vi=name))
        assert form.languages == ("en", "vi"), name
        assert form.by_name["age"].label == {"vi": "Tuổi", "en": "Age"}
        assert messages(form, {"age": 130})["vi"] == "Từ 0 đến 120"
        assert form.model["default_language"] == "vi"
