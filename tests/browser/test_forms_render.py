"""Every form of the corpus (tests/forms/) that loads is offered on the phone at 360 x 640, and
every question it shows is rendered on its screen, inside repeat instances too, without an
error (real server with the corpus as its forms, real Chromium)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from playwright.sync_api import Browser, Page, expect

from app.forms.definition import FormLoadError, load_form
from app.settings import REPO_ROOT
from bench.common import uvicorn_server
from tests.browser.conftest import PHONE, TAM_KY, PhoneAccount, record_console_errors, sign_in_phone

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_surveys")]
expect.set_options(timeout=10_000)

CORPUS = REPO_ROOT / "tests" / "forms"
NOT_SHOWN = {"calculate", "hidden"}


def pyxform_markdown_to_xlsx(source: Path, target: Path) -> None:
    """pyxform's markdown XLSForm (`| survey |` then `| | type | name |` rows) as a workbook."""
    book = openpyxl.Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    sheet = None
    for line in source.read_text(encoding="utf-8").splitlines():
        if not line.strip().startswith("|"):
            continue
        # A cell may hold `\|` (XPath's union), as in pyxform's reader.
        parts = re.split(r"(?<!\\)\|", line.strip().strip("|"))
        cells = [cell.strip().replace("\\|", "|") for cell in parts]
        if cells[0]:
            sheet = book.create_sheet(cells[0])
        elif sheet is not None:
            sheet.append([cell or None for cell in cells[1:]])
    book.save(target)


def loadable() -> dict[str, dict[str, Any]]:
    """The corpus forms that load: {form_id: model}."""
    models = {}
    for path in sorted(CORPUS.glob("*.md")):
        if not path.read_text(encoding="utf-8").lstrip().startswith("|"):
            continue
        try:
            form = load_form(path)
        except FormLoadError:
            continue
        models[form.form_id] = {"file": path.name, "model": form.model}
    return models


def shown_names(model: dict[str, Any]) -> set[str]:
    """Questions a volunteer sees, except under a top-level group or repeat that may not apply
    to an empty survey (its screen is skipped then) and in a repeat whose repeat_count gives
    no instance to an empty survey."""
    names: set[str] = set()

    def walk(children: list[dict[str, Any]], top: bool) -> None:
        for node in children:
            if node["kind"] == "question":
                if node["type"] not in NOT_SHOWN:
                    names.add(node["name"])
            elif not (top and node.get("relevant")) and not node.get("repeat_count"):
                walk(node["children"], False)

    walk(model["children"], True)
    return names


@pytest.fixture(scope="module")
def corpus() -> dict[str, dict[str, Any]]:
    return loadable()


def filtered(model: dict[str, Any]) -> set[str]:
    """Selects whose choices follow another answer: none offered in an empty survey."""
    found: set[str] = set()

    def walk(children: list[dict[str, Any]]) -> None:
        for node in children:
            if node.get("choice_filter"):
                found.add(node["name"])
            walk(node.get("children", []))

    walk(model["children"])
    return found


@pytest.fixture(scope="module")
def corpus_server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, corpus: dict[str, Any]
) -> Iterator[str]:
    forms = tmp_path_factory.mktemp("corpus") / "forms"
    forms.mkdir()
    for form_id, entry in corpus.items():
        pyxform_markdown_to_xlsx(CORPUS / entry["file"], forms / f"{form_id}.xlsx")
    for data in [*CORPUS.glob("*.csv"), *CORPUS.glob("*.xml")]:  # select_one_from_file lists
        shutil.copy(data, forms / data.name)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FORMS_DIR", str(forms))
        with uvicorn_server("app.main:create_app", database_url) as (base, _pid):
            yield base


@pytest.fixture
def corpus_phone(browser: Browser, corpus_server: str, volunteer: PhoneAccount) -> Iterator[Page]:
    context = browser.new_context(
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
        geolocation=TAM_KY,
        permissions=["geolocation"],
        base_url=corpus_server,
    )
    sign_in_phone(context, volunteer)
    page = context.new_page()
    record_console_errors(page)
    yield page
    context.close()


# Show screen n of the survey in hand as Android's Back would reach it (editor.js keeps a
# history entry per screen): the keys of the questions rendered there.
SHOW_SCREEN = """
async (n) => {
  const state = history.state;
  history.pushState({ ...state, screen: n }, "");
  history.pushState({ ...state, screen: n }, "");
  await new Promise((resolve) => {
    window.addEventListener("popstate", () => setTimeout(resolve, 50), { once: true });
    history.back();
  });
  return [...document.querySelectorAll("section.question[data-key]")].map((s) => ({
    key: s.dataset.key,
    type: s.dataset.type,
    controls: s.querySelectorAll("input, select, textarea, button, .gps, .map").length,
  }));
}
"""


def test_every_question_of_every_corpus_form_is_rendered_on_the_phone(
    corpus_phone: Page, corpus: dict[str, dict[str, Any]]
) -> None:
    page = corpus_phone
    page.goto("/collect")
    expect(page.locator("#app")).to_have_attribute("data-view", "home")
    assert len(corpus) >= 10
    missing: dict[str, Any] = {}
    for form_id, entry in corpus.items():
        expect(page.locator(f"#new-{form_id}")).to_be_visible()
        page.click(f"#new-{form_id}")
        expect(page.locator("#app")).to_have_attribute("data-view", "survey")
        rendered: dict[str, dict[str, Any]] = {}
        for n in range(len(entry["model"]["children"])):
            for item in page.evaluate(SHOW_SCREEN, n):
                rendered[item["key"]] = item
            adds = page.locator("button.add-instance")
            if adds.count():
                for index in range(adds.count()):
                    adds.nth(index).click()
                for item in page.evaluate(SHOW_SCREEN, n):
                    rendered[item["key"]] = item
        names = {key.rsplit("/", 1)[-1] for key in rendered}
        cascading = filtered(entry["model"])
        without_control = [
            key
            for key, item in rendered.items()
            if item["type"] != "note"
            and not item["controls"]
            and key.rsplit("/", 1)[-1] not in cascading
        ]
        lost = shown_names(entry["model"]) - names
        if lost or without_control:
            missing[form_id] = {"not rendered": sorted(lost), "no control": without_control}
        page.click("#exit-survey")
        expect(page.locator("#app")).to_have_attribute("data-view", "home")
    assert missing == {}
    assert page.console_errors == []  # type: ignore[attr-defined]
