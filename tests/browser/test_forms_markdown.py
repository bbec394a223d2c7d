"""ODK's markdown in labels and hints (static/collect/markdown.js) in Chromium: built as DOM
nodes, never HTML from the form or from an answer (issue 10, defect 6)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

pytestmark = pytest.mark.browser

RENDER = """
async (cases) => {
  const { renderMarkdown } = await import("/static/collect/markdown.js");
  window.hacked = false;
  return cases.map(([text, values]) => {
    const holder = document.createElement("div");
    holder.append(renderMarkdown(text, values));
    document.body.append(holder);  // in the page: an <img onerror> would run here
    const html = holder.innerHTML;
    holder.remove();
    return html;
  });
}
"""

# (label or hint as written in the form, ${name} values, the DOM it becomes)
CASES: list[tuple[str, dict[str, str], str]] = [
    ("**Bold** and *italic*", {}, "<strong>Bold</strong> and <em>italic</em>"),
    ("__bold__ and _italic_", {}, "<strong>bold</strong> and <em>italic</em>"),
    ("snake_case_name stays", {}, "snake_case_name stays"),
    ("# Title\nline one\nline two", {}, '<h3 class="md-heading">Title</h3>line one<br>line two'),
    (
        "[ODK](https://getodk.org)",
        {},
        '<a href="https://getodk.org" target="_blank" rel="noopener noreferrer">ODK</a>',
    ),
    ("[click](javascript:alert(1))", {}, "click)"),
    ("<img src=x onerror=window.hacked=true>", {}, "&lt;img src=x onerror=window.hacked=true&gt;"),
    ('<span style="color:red">red</span> text', {}, "red text"),
    ("{{7*7}} \\*not italic\\*", {}, "{{7*7}} *not italic*"),
    (
        "Tuổi của **${name}**",
        {"name": "<b>x</b> **y**"},
        'Tuổi của <strong><span class="output" data-output="name">'
        "&lt;b&gt;x&lt;/b&gt; **y**</span></strong>",
    ),
    ("Có ${n} người", {}, 'Có <span class="output" data-output="n"></span> người'),
    # Names starting with a Vietnamese letter are XML names (pyxform's too): shown, not literal.
    (
        "Tuổi: ${tuổi}, **${địa_chỉ}**",
        {"tuổi": "30", "địa_chỉ": "Hội An"},
        'Tuổi: <span class="output" data-output="tuổi">30</span>, '
        '<strong><span class="output" data-output="địa_chỉ">Hội An</span></strong>',
    ),
    # An output in a link's address is its value, URI-escaped, and the address is judged
    # with it (the private-use marks of the output were left in the address).
    (
        "[Bản đồ](https://maps.example/?q=${lat},${lon}&t=${tên})",
        {"lat": "15.57", "lon": "108.47", "tên": 'Xóm "Bàu" <x>'},
        '<a href="https://maps.example/?q=15.57,108.47&amp;t=X%C3%B3m%20%22B%C3%A0u%22%20%3Cx%3E"'
        ' target="_blank" rel="noopener noreferrer">Bản đồ</a>',
    ),
    ("[x](${url})", {"url": "javascript:window.hacked=true"}, "x"),
    (
        "[x](${url})",
        {"url": "https://getodk.org/a b"},
        '<a href="https://getodk.org/a%20b" target="_blank" rel="noopener noreferrer">x</a>',
    ),
    (
        "${ảnh.1-b} ${1x} ${a b}",
        {"ảnh.1-b": "x"},
        '<span class="output" data-output="ảnh.1-b">x</span> ${1x} ${a b}',
    ),
]


def test_markdown_becomes_elements_and_data_stays_text(desktop: Page) -> None:
    desktop.goto("/collect")
    rendered = desktop.evaluate(RENDER, [[text, values] for text, values, _ in CASES])
    wrong = [
        (text, expected, got)
        for (text, _, expected), got in zip(CASES, rendered, strict=True)
        if got != expected
    ]
    assert wrong == []
    desktop.wait_for_timeout(200)
    assert desktop.evaluate("window.hacked") is False
