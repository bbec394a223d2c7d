"""Which names an XForm refers to may be served to Collect as media files."""

from __future__ import annotations

import pytest

from app.forms.xform import media_references
from app.services.odk import safe_media_name


@pytest.mark.parametrize(
    "name",
    ["front.jpg", "ảnh mặt tiền nhà.jpg", "a\u0301nh.jpg", "Bản đồ (2026)_v2-final.png", "1.mp3"],
)
def test_plain_names_of_any_script_are_served(name: str) -> None:
    assert safe_media_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "../secret.txt",
        "a/../../b.jpg",
        "/etc/passwd",
        "sub/front.jpg",
        "..\\secret.txt",
        "C:\\front.jpg",
        ".hidden.jpg",
        "-rf.jpg",
        " front.jpg",
        "front.jpg ",
        "front.",
        "a..b.jpg",
        "front\x00.jpg",
        "front\n.jpg",
        "front\u202egpj.exe",  # right-to-left override: shows as front.exe reversed
        "front\u200b.jpg",  # zero-width space
        "\ud800.jpg",
        "a:b.jpg",
        "a%2Fb.jpg",
        "x" * 252 + ".jpg",
        "ả" * 100 + ".jpg",  # 304 bytes of UTF-8
    ],
)
def test_paths_hidden_files_and_odd_characters_are_not(name: str) -> None:
    assert not safe_media_name(name)


def test_every_media_reference_of_an_xform_once() -> None:
    xform = (
        '<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml">'
        "<h:head><model><itext><translation lang='en'><text id='a'><value>A</value>"
        '<value form="image">jr://images/a.jpg</value><value form="audio">jr://audio/b c.mp3'
        '</value><value form="video"> jr://video/d&amp;e.mp4 </value></text>'
        "<text id='b'><value form='image'>jr://images/a.jpg</value>"
        "<value>jr://images/label-text.jpg</value></text></translation>"
        '</itext><instance><data id="f"/></instance>'
        '<instance id="s" src="jr://file-csv/streets.csv"/>'
        '<instance id="x" src="jr://file/ảnh.xml"/></model></h:head><h:body/></h:html>'
    )
    assert media_references(xform) == (
        "a.jpg",
        "b c.mp3",
        "d&e.mp4",
        "streets.csv",
        "ảnh.xml",
    )
