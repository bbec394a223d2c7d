"""The text of a Shapefile's table (.dbf): decoded here where GDAL would get it wrong.

GDAL reads a .dbf in the encoding its .cpg names, else the one its header's language driver
byte (LDID) names, else as ISO-8859-1: a UTF-8 table without .cpg was stored as
'PhÆ°á»\\x9dng' for 'Phường', and a Windows-1258 one (Vietnam's Windows code page, common
in cadastral files) as mojibake too, without a word. And the iconv bundled with pyogrio
drops the last letter of every Windows-1258 value and column name ('Phường Tân A' read as
'Phường Tân ', the column ma_phuong as ma_phuon), even when asked for cp1258: its decoder
holds each letter back for a tone mark that may follow and is never flushed.

So in those two cases the table is read as ISO-8859-1 (each byte kept as one character) and
decoded here, in Python: by its .cpg when that names Windows-1258; when neither a .cpg nor
the LDID names an encoding, as UTF-8 if every text is valid UTF-8 (which text in a legacy
code page almost never is), else as Windows-1258, and the import says which it assumed.
TCVN3 (ABC) and VNI tables decode as Windows-1258 too and cannot be told from it reliably,
so that is not tried: the warning says to add a .cpg. Text that is neither is refused.
Windows-1258 writes most tone marks as combining characters; the text is stored precomposed
(NFC), as everywhere else.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from geopandas import GeoDataFrame

# What pyogrio is asked to read such a table as: every byte is one character, nothing lost.
BYTES_AS_TEXT = "ISO-8859-1"
# LDIDs that name no code page: none, and 0x57 ("ANSI": whatever Windows used), which GDAL
# writes by default and reads as ISO-8859-1.
LDID_NAMES_NONE = {0x00, 0x57}
LDID_OFFSET = 29
# GDAL's answer for a table whose encoding nothing names (pyogrio.read_info's "encoding").
GDAL_FALLBACK = "ISO-8859-1"
# A .cpg naming Windows-1258: 1258, CP1258, ANSI 1258, WINDOWS-1258 (in any case).
CP1258_CPG = re.compile(r"(?:ANSI|CP|WINDOWS|MS)?[-_ ]?1258", re.IGNORECASE)

Reading = Literal["cp1258", "detect"]
Decoded = Literal["ascii", "utf-8", "cp1258"]


class Undecodable(Exception):
    """A table whose text is neither UTF-8 nor Windows-1258, and nothing names its encoding."""


def reading(shp: Path, gdal_encoding: str | None) -> Reading | None:
    """How the table beside `shp` must be read: "cp1258" (its .cpg names Windows-1258),
    "detect" (nothing names its encoding), or None (GDAL reads it right)."""
    cpg = shp.with_suffix(".cpg")
    if cpg.is_file():
        named = cpg.read_bytes()[:64].decode("ascii", "replace").strip()
        return "cp1258" if CP1258_CPG.fullmatch(named) else None
    dbf = shp.with_suffix(".dbf")
    with dbf.open("rb") as file:
        header = file.read(LDID_OFFSET + 1)
    ldid = header[LDID_OFFSET] if len(header) > LDID_OFFSET else 0
    # An LDID GDAL does not know leaves it at its fallback, as if there were none.
    if ldid in LDID_NAMES_NONE or (gdal_encoding or "").upper() == GDAL_FALLBACK:
        return "detect"
    return None


def _raw(value: str) -> bytes:
    return value.encode("latin-1")


def _cp1258(raw: bytes) -> str:
    return unicodedata.normalize("NFC", raw.decode("cp1258"))


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def decode(frame: GeoDataFrame, how: Reading) -> tuple[GeoDataFrame, Decoded]:
    """The frame (read as BYTES_AS_TEXT) with its column names and text decoded, and the
    encoding used ("ascii" when every text is ASCII); Undecodable, or UnicodeDecodeError for
    a table its .cpg misnames."""
    geometry = frame.geometry.name
    columns = [c for c in frame.columns if c != geometry]
    texts: list[str] = [c for c in columns if isinstance(c, str)]
    text_columns = [c for c in columns if any(isinstance(v, str) for v in frame[c])]
    for column in text_columns:
        texts += [v for v in frame[column] if isinstance(v, str)]
    if how == "detect":
        if all(text.isascii() for text in texts):
            return frame, "ascii"
        encoding: Decoded = "utf-8" if all(_is_utf8(_raw(t)) for t in texts) else "cp1258"
    else:
        encoding = "cp1258"

    def text(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if encoding == "utf-8":
            return _raw(value).decode("utf-8")
        try:
            return _cp1258(_raw(value))
        except UnicodeDecodeError as exc:
            if how == "detect":
                raise Undecodable from exc
            raise

    frame = frame.copy()
    for column in text_columns:
        frame[column] = frame[column].map(text)
    return frame.rename(columns={c: text(c) for c in columns}), encoding
