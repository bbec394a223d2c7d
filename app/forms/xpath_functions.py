"""XPath 1.0 and ODK functions, as openrosa-xpath-evaluator 3.x (src/openrosa-extensions.js,
src/utils/native.js) defines them. A name missing here is refused when a form loads."""

from __future__ import annotations

import base64
import hashlib
import math
import random
import re
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.forms.js_math import (
    js_ceil,
    js_exp,
    js_floor,
    js_max,
    js_min,
    js_pow,
    js_round,
    js_trunc,
    native_number,
)
from app.forms.regex_check import PatternError, compile_pattern
from app.forms.xpath_values import (
    DATE_STRING,
    JS_SPACE,
    LOCAL_TZ,
    NAN,
    XDate,
    as_boolean,
    as_date,
    as_number,
    as_string,
    date_string_to_days,
    js_number,
    js_trim,
    now,
    parse_js_datetime,
    today,
)

if TYPE_CHECKING:
    from app.forms.xpath import Ast, Compiled, Ctx, _Compiler

Impl = Callable[[Any, list[Any]], Any]  # (Ctx, argument values) -> value


def _each(fn: Callable[[Any], Any], values: list[Any]) -> list[Any]:
    """mapFn: node-sets give one value per node."""
    found: list[Any] = []
    for value in values:
        if type(value) is list:
            found.extend(fn(node) for node in value)
        else:
            found.append(fn(value))
    return found


def _round_half_up(number: float) -> float:
    """The evaluator's _round: Math.round, symmetric about 0 (-2.5 gives -3)."""
    if number < 0:
        return -js_round(-number)
    return js_round(number)


def _integer(value: Any) -> float:
    """The evaluator's asInteger (int(-0.5) is -0)."""
    return js_trunc(as_number(value))


def _units(text: str) -> list[str] | str:
    """A string as JavaScript indexes it (UTF-16 code units) when it holds astral characters."""
    if all(ord(ch) < 0x10000 for ch in text):
        return text
    data = text.encode("utf-16-le")
    return [data[i : i + 2].decode("utf-16-le", "surrogatepass") for i in range(0, len(data), 2)]


def _join_units(units: list[str] | str) -> str:
    if isinstance(units, str):
        return units
    return "".join(units).encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _slice_index(value: float, length: int) -> int:
    if value != value:
        return 0
    if math.isinf(value):
        return length if value > 0 else 0
    index = int(value)
    if index < 0:
        return max(length + index, 0)
    return min(index, length)


def _substr(c: Ctx, a: list[Any]) -> str:
    units = _units(as_string(a[0]))
    start = _slice_index(as_number(a[1]), len(units))
    end = len(units) if len(a) < 3 else _slice_index(as_number(a[2]), len(units))
    return _join_units(units[start:end]) if end > start else ""


def _xpath_round(value: float) -> float:
    return math.floor(value + 0.5) if not (value != value or math.isinf(value)) else value


def _substring(c: Ctx, a: list[Any]) -> str:
    """XPath 1.0 substring(), positions from 1, rounded arguments."""
    units = _units(as_string(a[0]))
    start = as_number(a[1])
    if len(a) < 3:
        start = native_number(js_max([0.0, start]) if start == start else start, "substring")
        first = _xpath_round(start)
        if first != first:
            return ""
        return _join_units(units[max(int(max(first, 1)) - 1, 0) :]) if first < math.inf else ""
    first = _xpath_round(native_number(start, "substring"))
    last = first + _xpath_round(native_number(as_number(a[2]), "substring"))
    if first != first or last != last:
        return ""
    kept = [u for i, u in enumerate(units, 1) if first <= i < last]
    return _join_units(kept)


def _normalize_space(c: Ctx, a: list[Any]) -> str:
    text = as_string(a[0] if a else [c.node])
    text = text.replace("\f", "\\f").replace("\r\v", "\v").replace("\v", "\\v")
    text = re.sub(f"[{JS_SPACE}]+", " ", text).strip(JS_SPACE)
    return text.replace("\\v", "\v").replace("\\f", "\f")


def _substring_before(c: Ctx, a: list[Any]) -> str:
    """XPath 1.0: the text before the first occurrence; '' for an empty separator."""
    text, separator = as_string(a[0]), as_string(a[1])
    index = text.find(separator)
    return text[:index] if index >= 0 else ""


def _substring_after(c: Ctx, a: list[Any]) -> str:
    """XPath 1.0: the text after the first occurrence; all of it for an empty separator."""
    text, separator = as_string(a[0]), as_string(a[1])
    index = text.find(separator)
    return text[index + len(separator) :] if index >= 0 else ""


def _translate(c: Ctx, a: list[Any]) -> str:
    """XPath 1.0 translate() over UTF-16 units, as the browser's: an emoji is two characters
    (half of one becomes U+FFFD, as the phone sends it)."""
    text, source, target = (_units(as_string(v)) for v in a)
    table: dict[str, str] = {}
    for i, unit in enumerate(source):
        if unit not in table:
            table[unit] = target[i] if i < len(target) else ""
    return _join_units([table.get(unit, unit) for unit in text])


def _boolean_from_string(c: Ctx, a: list[Any]) -> bool:
    """ODK's rule: true for the text 'true' or '1' only; a number by its text (1.0 is '1',
    2 and 1.5 are false), on the phone too (static/collect/xpath.js)."""
    return as_string(a[0]) in ("1", "true")


def _selected(c: Ctx, a: list[Any]) -> bool:
    return js_trim(as_string(a[1])) in as_string(a[0]).split(" ")


def _selected_at(c: Ctx, a: list[Any]) -> str:
    parts = as_string(a[0]).split(" ")
    index = _integer(a[1])
    if index != index or math.isinf(index) or index < 0 or index >= len(parts):
        return ""
    return parts[int(index)]


def _min_max(pick: Callable[[list[float]], float]) -> Impl:
    def run(c: Ctx, a: list[Any]) -> float:
        numbers = _each(as_number, a)
        if not numbers or any(n != n for n in numbers):
            return NAN
        return pick(numbers)

    return run


def _sum(c: Ctx, a: list[Any]) -> float:
    total = 0.0
    for node in reversed(a[0]):  # as the evaluator adds: from the last node
        total += as_number(node)
    return total


def _position(c: Ctx, a: list[Any]) -> float:
    if not a:
        return float(c.position)
    if not a[0]:
        raise ValueError("cannot call position() on an empty nodeset")
    return float(a[0][0].index())


def _format_date(c: Ctx, a: list[Any]) -> str:
    moment = as_date(a[0])
    pattern = as_string(a[1])
    if moment.blank or not moment.valid():
        return ""
    local = moment.local()
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch != "%":
            out.append(ch)
            i += 1
            continue
        i += 1
        if i >= len(pattern):
            raise ValueError("date format string ends with %")
        code = pattern[i]
        i += 1
        if code not in DATE_FORMAT_CODES:
            raise date_format_error(code)
        out.append(
            {
                "%": "%",
                "Y": _zero_pad(local.year, 4),
                "y": _zero_pad(local.year, 4)[2:],
                "m": _zero_pad(local.month, 2),
                "n": str(local.month),
                "b": _MONTHS[local.month - 1],
                "d": _zero_pad(local.day, 2),
                "e": str(local.day),
                "H": _zero_pad(local.hour, 2),
                "h": str(local.hour),
                "M": _zero_pad(local.minute, 2),
                "S": _zero_pad(local.second, 2),
                "3": _zero_pad(local.millisecond, 3),
                "a": _WEEKDAYS[local.weekday],
            }[code]
        )
    return "".join(out)


# %b and %a: English short names whatever the phone's locale, as ODK Collect writes them (the
# phone's wrapper, static/collect/xpath.js, writes these; the library followed the locale).
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")


def _zero_pad(number: int, width: int) -> str:
    """The evaluator's _zeroPad: the number's text with zeros before it ("00-5" for -5)."""
    return str(number).rjust(width, "0")


# The codes of format-date() the phone's formatDate knows; any other fails there, and so here.
_CODES_IN_ORDER = "YymnbdeHhMS3a%"
DATE_FORMAT_CODES = frozenset(_CODES_IN_ORDER)


def date_format_error(code: str) -> ValueError:
    """The error of a code neither engine formats (%j, %W, %A, %p...)."""
    from app.forms.xpath import ExpressionError

    known = " ".join(f"%{c}" for c in _CODES_IN_ORDER)
    return ExpressionError("form_date_format_code", letter=code, known=known)


def date_format_problem(pattern: str) -> ValueError | None:
    """What is wrong with a format-date() pattern written in the form, or None."""
    from app.forms.xpath import ExpressionError

    i = 0
    while i < len(pattern):
        if pattern[i] == "%":
            if i + 1 >= len(pattern):
                return ExpressionError("form_date_format_ends")
            if pattern[i + 1] not in DATE_FORMAT_CODES:
                return date_format_error(pattern[i + 1])
            i += 1
        i += 1
    return None


def _decimal_date_time(c: Ctx, a: list[Any]) -> float:
    value = a[0]
    if type(value) is float:
        return value
    return date_string_to_days(as_string(value))


def _decimal_time(c: Ctx, a: list[Any]) -> float:
    if type(a[0]) is float:
        return NAN
    match = re.match(
        r"^(\d\d):(\d\d):(\d\d)(\.\d\d?\d?)?([+-])(\d\d):(\d\d)$", as_string(a[0]), re.ASCII
    )
    if not match or int(match.group(1)) >= 24 or int(match.group(2)) >= 60:
        return NAN
    if int(match.group(3)) >= 60 or int(match.group(6)) >= 24 or int(match.group(7)) >= 60:
        return NAN
    local_today = today().local()
    day = f"{local_today.year:04d}-{local_today.month:02d}-{local_today.day:02d}"
    ms = parse_js_datetime(f"{day}T{as_string(a[0])}")
    if ms != ms:
        return NAN
    local = XDate(ms).local()
    return (local.second / 3600 + local.minute / 60 + local.hour) / 24


def _number(c: Ctx, a: list[Any]) -> float:
    value = a[0] if a else [c.node]
    text = as_string(value)
    if DATE_STRING.match(text):
        return date_string_to_days(text)
    return as_number(value)


def _digest(c: Ctx, a: list[Any]) -> str:
    algorithm = as_string(a[1]).lower() if len(a) > 1 else ""
    encoding = as_string(a[2]).lower() if len(a) > 2 and as_string(a[2]) else "base64"
    names = {"md5": "md5", "sha-1": "sha1", "sha-256": "sha256", "sha-384": "sha384"}
    names["sha-512"] = "sha512"
    if algorithm not in names or encoding not in ("base64", "hex"):
        raise ValueError("invalid digest algorithm or encoding")
    digest = hashlib.new(names[algorithm], as_string(a[0]).encode("utf-8")).digest()
    return base64.b64encode(digest).decode() if encoding == "base64" else digest.hex()


def _checklist(c: Ctx, a: list[Any]) -> bool:
    low, high = as_number(a[0]), as_number(a[1])
    trues = sum(1 for v in _each(as_boolean, a[2:]) if v)
    return (low < 0 or trues >= low) and (high < 0 or trues <= high)


def _weighted_checklist(c: Ctx, a: list[Any]) -> bool:
    low, high = as_number(a[0]), as_number(a[1])
    values: list[bool] = []
    weights: list[float] = []
    rest = a[2:]
    for i in range(0, len(rest) - 1, 2):
        values.extend(_each(as_boolean, [rest[i]]))
        weights.extend(_each(as_number, [rest[i + 1]]))
    total = sum((weights[i] if i < len(weights) else 0) or 0 for i, v in enumerate(values) if v)
    return (low < 0 or total >= low) and (high < 0 or total <= high)


def _once(c: Ctx, a: list[Any]) -> str:
    return as_string([c.node]) or as_string(a[0])


def _math(fn: Callable[[float], float]) -> Impl:
    def run(c: Ctx, a: list[Any]) -> float:
        try:
            return float(fn(as_number(a[0])))
        except (ValueError, OverflowError):
            return NAN

    return run


def _pow(c: Ctx, a: list[Any]) -> float:
    return js_pow(as_number(a[0]), as_number(a[1]))


def _native(fn: Callable[[float], float], name: str) -> Impl:
    """floor() and ceiling(): the browser's XPath functions, given the number as the
    evaluator writes it (native_number)."""
    return lambda c, a: fn(native_number(as_number(a[0]), name))


def _name(c: Ctx, a: list[Any]) -> str:
    nodes = a[0] if a else [c.node]
    return nodes[0].name if nodes else ""


def _coalesce(c: Ctx, a: list[Any]) -> str:
    return as_string(a[0]) or as_string(a[1])


def _log(fn: Callable[[float], float]) -> Impl:
    def run(c: Ctx, a: list[Any]) -> float:
        number = as_number(a[0])
        if number != number or number < 0:
            return NAN
        if number == 0:
            return -math.inf
        return fn(number)

    return run


EARTH_RADIUS_M = 6378100.0  # the evaluator's EARTH_EQUATORIAL_RADIUS_METERS


def _geopoints(a: list[Any]) -> list[list[str]]:
    """geo.js asGeopoints and _toLatLngs: points as lists of their space-separated parts."""
    if len(a) > 1:
        texts = [as_string(v) for v in a]
    elif type(a[0]) is list and len(a[0]) > 1:
        texts = [node.text() for node in a[0]]
    else:
        texts = as_string(a[0]).split(";")
    return [js_trim(text).split(" ") for text in texts]


def _valid_points(points: list[list[str]]) -> bool:
    for parts in points:
        if len(parts) < 2 or parts[0] == "" or parts[1] == "":
            return False
        lat, lon = js_number(parts[0]), js_number(parts[1])
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return False
        if len(parts) > 2 and js_number(parts[2]) != js_number(parts[2]):
            return False
        if len(parts) > 3 and not js_number(parts[3]) >= 0:
            return False
    return True


def _area(c: Ctx, a: list[Any]) -> float:
    """geo.js area(): square metres of a shape, to the centimetre."""
    points = _geopoints(a)
    if not _valid_points(points):
        return NAN
    total = 0.0
    count = len(points)
    if count > 2:
        for i in range(count):
            lat1, lon1 = js_number(points[i][0]), js_number(points[i][1])
            nxt = points[(i + 1) % count]
            lat2, lon2 = js_number(nxt[0]), js_number(nxt[1])
            total += math.radians(lon2 - lon1) * (
                2 + math.sin(math.radians(lat1)) + math.sin(math.radians(lat2))
            )
        total = total * EARTH_RADIUS_M * EARTH_RADIUS_M / 2.0
    return abs(js_round(total * 100)) / 100


def _distance(c: Ctx, a: list[Any]) -> float:
    """geo.js distance(): metres along the points, to the centimetre."""
    points = _geopoints(a)
    if not _valid_points(points):
        return NAN
    total = 0.0
    for i in range(1, len(points)):
        lat1, lon1 = math.radians(js_number(points[i - 1][0])), js_number(points[i - 1][1])
        lat2, lon2 = math.radians(js_number(points[i][0])), js_number(points[i][1])
        cosine = math.sin(lat1) * math.sin(lat2) + math.cos(lat1) * math.cos(lat2) * math.cos(
            math.radians(lon1 - lon2)
        )
        total += (math.acos(cosine) if -1 <= cosine <= 1 else NAN) * EARTH_RADIUS_M
    return abs(js_round(total * 100)) / 100


# name -> (implementation, fewest arguments, most arguments or None)
FUNCTIONS: dict[str, tuple[Impl, int, int | None]] = {
    "true": (lambda c, a: True, 0, 0),
    "false": (lambda c, a: False, 0, 0),
    "not": (lambda c, a: not as_boolean(a[0]), 1, 1),
    "boolean": (lambda c, a: as_boolean(a[0]), 1, 1),
    "boolean-from-string": (_boolean_from_string, 1, 1),
    "number": (_number, 0, 1),
    "string": (lambda c, a: as_string(a[0] if a else [c.node]), 0, 1),
    "string-length": (lambda c, a: float(len(_units(as_string(a[0] if a else [c.node])))), 0, 1),
    "concat": (lambda c, a: "".join(_each(as_string, a)), 0, None),
    "join": (lambda c, a: as_string(a[0]).join(_each(as_string, a[1:])), 1, None),
    "contains": (lambda c, a: as_string(a[1]) in as_string(a[0]), 2, 2),
    "starts-with": (lambda c, a: as_string(a[0]).startswith(as_string(a[1])), 2, 2),
    "ends-with": (lambda c, a: as_string(a[0]).endswith(as_string(a[1])), 2, 2),
    "substring": (_substring, 2, 3),
    "substr": (_substr, 2, 3),
    "substring-before": (_substring_before, 2, 2),
    "substring-after": (_substring_after, 2, 2),
    "translate": (_translate, 3, 3),
    "normalize-space": (_normalize_space, 0, 1),
    "coalesce": (_coalesce, 2, 2),
    "if": (lambda c, a: a[1] if as_boolean(a[0]) else a[2], 3, 3),
    "selected": (_selected, 2, 2),
    "count-selected": (lambda c, a: float(sum(1 for p in as_string(a[0]).split(" ") if p)), 1, 1),
    "selected-at": (_selected_at, 2, 2),
    "count": (lambda c, a: float(len(a[0])), 1, 1),
    "count-non-empty": (lambda c, a: float(sum(1 for n in a[0] if n.text())), 1, 1),
    "sum": (_sum, 1, 1),
    "min": (_min_max(js_min), 0, None),
    "max": (_min_max(js_max), 0, None),
    "position": (_position, 0, 1),
    "last": (lambda c, a: float(c.size), 0, 0),
    "current": (lambda c, a: [c.current], 0, 0),
    "name": (_name, 0, 1),
    "local-name": (lambda c, a: _name(c, a).rpartition(":")[2], 0, 1),
    "int": (lambda c, a: _integer(a[0]), 1, 1),
    "round": (
        lambda c, a: (
            _round_half_up(as_number(a[0]))
            if len(a) < 2
            else _round_digits(as_number(a[0]), _integer(a[1]))
        ),
        1,
        2,
    ),
    "floor": (_native(js_floor, "floor"), 1, 1),
    "ceiling": (_native(js_ceil, "ceiling"), 1, 1),
    "abs": (_math(abs), 1, 1),
    "sqrt": (_math(math.sqrt), 1, 1),
    "exp": (_math(js_exp), 1, 1),
    "exp10": (_math(lambda x: js_pow(10.0, x)), 1, 1),
    "log": (_log(math.log), 1, 1),
    "log10": (_log(math.log10), 1, 1),
    "sin": (_math(math.sin), 1, 1),
    "cos": (_math(math.cos), 1, 1),
    "tan": (_math(math.tan), 1, 1),
    "asin": (_math(math.asin), 1, 1),
    "acos": (_math(math.acos), 1, 1),
    "atan": (_math(math.atan), 1, 1),
    "atan2": (lambda c, a: math.atan2(as_number(a[0]), as_number(a[1])), 2, 2),
    "pow": (_pow, 2, 2),
    "pi": (lambda c, a: math.pi, 0, 0),
    "random": (lambda c, a: round(random.random(), 15), 0, 0),
    "uuid": (lambda c, a: str(uuid.uuid4()), 0, 0),
    "today": (lambda c, a: today(c.env.now), 0, 0),
    "now": (lambda c, a: now(c.env.now), 0, 0),
    "date": (lambda c, a: as_date(a[0]), 1, 1),
    "date-time": (lambda c, a: as_date(a[0]), 1, 1),
    "decimal-date-time": (_decimal_date_time, 1, 1),
    "decimal-time": (_decimal_time, 1, 1),
    "format-date": (_format_date, 2, 2),
    "format-date-time": (_format_date, 2, 2),
    "once": (_once, 1, 1),
    "digest": (_digest, 2, 3),
    "checklist": (_checklist, 2, None),
    "area": (_area, 1, None),
    "distance": (_distance, 1, None),
    "weighted-checklist": (_weighted_checklist, 2, None),
}
_NODE_SET_ARGUMENT = frozenset({"count", "count-non-empty", "sum"})
SUPPORTED = frozenset({*FUNCTIONS, "instance", "jr:choice-name", "regex"})
assert LOCAL_TZ is not None


def _round_digits(number: float, digits: float) -> float:
    """round(number, digits) as the evaluator computes it (10 ** 400 is Infinity: NaN)."""
    power = js_pow(10.0, abs(digits))
    if digits > 0:
        return _round_half_up(number * power) / power
    return power * _round_half_up(number / power)


def compile_call(compiler: _Compiler, name: str, args: list[Ast]) -> Compiled:
    """Compile a function call, checking its name and argument count."""
    from app.forms.xpath import ExpressionError, _nodes_from

    if name == "instance":
        return _instance(compiler, args)
    if name == "jr:choice-name":
        return _choice_name(compiler, args)
    if name == "regex":
        return _regex(compiler, args)
    if name not in FUNCTIONS:
        raise ExpressionError("form_function_not_supported", function=name)
    impl, fewest, most = FUNCTIONS[name]
    if len(args) < fewest or (most is not None and len(args) > most):
        raise _arguments_error(name, fewest, most, len(args))
    if name in _NODE_SET_ARGUMENT and not _nodes_from(args[0]):
        raise ExpressionError("form_function_node_set", function=name)
    if name == "position" and args and not _nodes_from(args[0]):
        raise ExpressionError("form_function_node_set", function=name)
    if name in ("format-date", "format-date-time") and args[1][0] == "str":
        problem = date_format_problem(args[1][1])
        if problem is not None:
            raise problem
    compiled = [compiler.compile(arg) for arg in args]
    if not compiled:
        return lambda c: impl(c, [])
    if len(compiled) == 1:
        (only,) = compiled
        return lambda c: impl(c, [only(c)])
    return lambda c: impl(c, [arg(c) for arg in compiled])


def _arguments_error(name: str, fewest: int, most: int | None, given: int) -> ValueError:
    """A function called with a number of arguments it does not take."""
    from app.forms.xpath import ExpressionError

    if fewest == most:
        return ExpressionError("form_function_arguments", function=name, count=fewest, given=given)
    if most is None:
        return ExpressionError(
            "form_function_arguments_at_least", function=name, fewest=fewest, given=given
        )
    return ExpressionError(
        "form_function_arguments_range", function=name, fewest=fewest, most=most, given=given
    )


def _instance(compiler: _Compiler, args: list[Ast]) -> Compiled:
    from app.forms.xpath import ExpressionError

    if len(args) != 1 or args[0][0] != "str":
        raise ExpressionError("form_instance_argument")
    name = args[0][1]
    known = compiler.schema.instances
    if known is not None and name not in known:
        # The phone fails on it (no secondary instance): refused now, not at a survey.
        if not known:
            raise ExpressionError("form_instance_unknown_no_lists", name=name)
        lists = ", ".join(sorted(known))
        raise ExpressionError("form_instance_unknown", name=name, lists=lists)
    return lambda c: [c.env.instances[name]] if name in c.env.instances else []


def _choice_name(compiler: _Compiler, args: list[Ast]) -> Compiled:
    from app.forms.xpath import ExpressionError

    if len(args) != 2:
        raise _arguments_error("jr:choice-name", 2, 2, len(args))
    value = compiler.compile(args[0])
    if args[1][0] != "str":
        raise ExpressionError("form_choice_name_path")
    path = args[1][1].strip()
    labels = compiler.schema.choice_labels
    here = compiler.schema.here
    if here is not None or path.startswith("/"):
        found = labels.get(choice_name_path(path, here or "/"))
    else:  # no node to read it from (an expression compiled outside a form)
        found = labels.get(path) or labels.get(path.rsplit("/", 1)[-1])
    if compiler.schema.root is not None and found is None:
        raise ExpressionError("form_choice_name_not_select", path=path)
    table = found or {}
    return lambda c: table.get(as_string(value(c)), "")


def choice_name_path(path: str, here: str) -> str:
    """The question jr:choice-name() names, as JavaRosa reads its path: from the node whose
    expression it is (`here`) when relative (`../dist` of /data/m/dname is /data/m/dist,
    `current()/..` too), indexes left out (`/data/m[2]/dist`). The phone reads it alike
    (static/collect/form.js, choicePath)."""
    text = re.sub(r"\[[^\]]*\]", "", path).strip()
    if text.startswith("/"):
        parts: list[str] = []
    else:
        parts = [part for part in here.split("/") if part]
        text = re.sub(r"^current\(\s*\)", "", text)
    for step in text.split("/"):
        step = step.strip()
        if step.startswith("child::"):
            step = step[len("child::") :]
        if step in ("", ".", "self::node()"):
            continue
        if step in ("..", "parent::node()"):
            if parts:
                parts.pop()
        else:
            parts.append(step)
    return "/" + "/".join(parts)


def _regex(compiler: _Compiler, args: list[Ast]) -> Compiled:
    from app.forms.xpath import ExpressionError

    if len(args) != 2:
        raise _arguments_error("regex", 2, 2, len(args))
    text_of = compiler.single_text(args[0])
    subject = compiler.compile(args[0])
    if args[1][0] != "str":
        raise ExpressionError("form_regex_literal")
    try:
        pattern = compile_pattern(args[1][1])
    except PatternError as exc:
        raise ExpressionError(exc.code, **exc.params) from exc
    search = pattern.search
    if text_of is not None:
        get = text_of
        return lambda c: search(get(c)) is not None
    return lambda c: search(as_string(subject(c))) is not None
