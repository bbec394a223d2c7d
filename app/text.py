"""Names put into sentences, the same for every page, map and print (pure: no data access).

A name from a boundary file or a form may carry right-to-left letters (Arabic, Hebrew) or a
bidi control (U+202E RIGHT-TO-LEFT OVERRIDE): placed as it is into "Bản đồ …: {ward}, {city}",
it reordered the text after it (", Tam Kỳ" drawn backwards on a map's title and a browser
tab). Inside an isolate (U+2068 FIRST STRONG ISOLATE … U+2069 POP DIRECTIONAL ISOLATE) its
direction ends with it, in a browser (plain text: <title>, <option>, textContent) as in
matplotlib. HTML markup has <bdi> for the same where markup is allowed.
"""

from __future__ import annotations

import unicodedata

# Bidi classes of the characters that can reorder the text around a name: right-to-left
# letters and numbers, and every embedding, override and isolate control.
_ISOLATE = frozenset(
    {"R", "AL", "AN", "LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"}
)


def isolated(text: str) -> str:
    """A name to put inside a sentence: as a Unicode isolate (FSI ... PDI) when it has
    right-to-left letters or bidi controls, so that it neither reorders the Vietnamese text
    around it (a browser or matplotlib lays out a line by the Unicode bidi algorithm, its
    direction from the first strong letter) nor carries an override past its end; other
    texts unchanged."""
    if text.isascii() or not any(unicodedata.bidirectional(c) in _ISOLATE for c in text):
        return text
    return f"\u2068{_balanced(text)}\u2069"


_OPENS_EMBEDDING = frozenset("\u202a\u202b\u202d\u202e")  # LRE, RLE, LRO, RLO
_OPENS_ISOLATE = frozenset("\u2066\u2067\u2068")  # LRI, RLI, FSI
_POP_EMBEDDING, _POP_ISOLATE = "\u202c", "\u2069"  # PDF, PDI


def _balanced(text: str) -> str:
    """`text` with its own direction controls balanced (UAX #9): a PDI or PDF that closes
    nothing opened in the text is dropped (a name's own U+2069 closed the isolate around it
    at once, and the override after it ran to the end of the line), and what the text leaves
    open is closed at its end."""
    kept: list[str] = []
    opened: list[str] = []  # "e" an embedding or override, "i" an isolate
    for char in text:
        if char in _OPENS_EMBEDDING:
            opened.append("e")
        elif char in _OPENS_ISOLATE:
            opened.append("i")
        elif char == _POP_EMBEDDING:
            if not opened or opened[-1] != "e":
                continue  # closes nothing of the text's (an embedding outside an isolate)
            opened.pop()
        elif char == _POP_ISOLATE:
            if "i" not in opened:
                continue
            while opened.pop() != "i":  # a PDI also ends the embeddings opened inside
                pass
        kept.append(char)
    closing = "".join(_POP_EMBEDDING if kind == "e" else _POP_ISOLATE for kind in reversed(opened))
    return "".join(kept) + closing
