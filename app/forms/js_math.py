"""Numbers as the phone computes them: JavaScript's Math and `**`, and the browser's own XPath
functions (floor, ceiling, substring) as openrosa-xpath-evaluator calls them.

Why a module: Python's math raises where JavaScript gives Infinity or NaN (`math.exp(1000)`,
`10.0 ** 400`), drops the sign of zero (`math.ceil(-0.5)` is the integer 0, JavaScript's
`Math.ceil(-0.5)` is -0, and `1 div -0` is -Infinity), and `math.floor(x + 0.5)` is not
`Math.round` (0.49999999999999994 gives 1). Each function here is the JavaScript one over IEEE
doubles; tests/xpath_parity.py holds rows recorded in Chromium.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

NAN = float("nan")
# x.toFixed(20) writes |x| >= 1e21 as "1e+21", which no XPath parser reads.
_FIXED_LIMIT = 1e21
_TWENTY_PLACES = Decimal(1).scaleb(-20)


def js_floor(x: float) -> float:
    """Math.floor: -0 stays -0, Infinity stays Infinity."""
    if x == 0 or not math.isfinite(x):
        return x
    return float(math.floor(x))


def js_ceil(x: float) -> float:
    """Math.ceil: a negative number above -1 gives -0."""
    if x == 0 or not math.isfinite(x):
        return x
    result = float(math.ceil(x))
    return -0.0 if result == 0 and x < 0 else result


def js_trunc(x: float) -> float:
    """The evaluator's asInteger: Math.floor above 0, else Math.ceil."""
    return js_floor(x) if x > 0 else js_ceil(x)


def js_round(x: float) -> float:
    """Math.round: the nearest integer, halves toward +Infinity, -0 for -0.5 <= x < 0."""
    if x == 0 or not math.isfinite(x):
        return x
    fraction, whole = math.modf(x)  # both exact, unlike x + 0.5
    if x > 0:
        return whole + 1 if fraction >= 0.5 else whole
    result = whole - 1 if fraction < -0.5 else whole
    return -0.0 if result == 0 else result


def js_pow(x: float, y: float) -> float:
    """x ** y (Number::exponentiate), where Python's pow differs: (±1) ** ±Infinity is NaN,
    overflow is ±Infinity, 0 ** -1 is Infinity (-0 ** -1 is -Infinity)."""
    if y != y:
        return NAN
    if y == 0:
        return 1.0
    if x != x or (abs(x) == 1 and math.isinf(y)):
        return NAN
    try:
        return math.pow(x, y)
    except OverflowError:
        return -math.inf if x < 0 and _odd_integer(y) else math.inf
    except ValueError:
        if x == 0:  # y < 0
            negative = math.copysign(1.0, x) < 0 and _odd_integer(y)
            return -math.inf if negative else math.inf
        return NAN  # a negative number to a fractional power


def _odd_integer(y: float) -> bool:
    return math.isfinite(y) and y.is_integer() and abs(y) < 2**53 and int(y) % 2 == 1


def js_exp(x: float) -> float:
    """Math.exp: Infinity past the largest double, not an error."""
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def js_max(numbers: list[float]) -> float:
    """Math.max of numbers holding no NaN: +0 is above -0."""
    result = max(numbers)
    if result == 0 and any(math.copysign(1.0, n) > 0 for n in numbers if n == 0):
        return 0.0
    return result


def js_min(numbers: list[float]) -> float:
    """Math.min of numbers holding no NaN: -0 is below +0."""
    result = min(numbers)
    if result == 0 and any(math.copysign(1.0, n) < 0 for n in numbers if n == 0):
        return -0.0
    return result


def native_number(x: float, function: str) -> float:
    """The number the browser's XPath function receives: openrosa-xpath-evaluator writes it
    into an expression as x.toFixed(20), so a magnitude of 1e21 or more is an error (the text
    "1e+21" is no XPath), below 5e-21 it is zero, and NaN is read as a path to nothing."""
    if x != x or math.isinf(x):
        return x
    if abs(x) >= _FIXED_LIMIT:
        raise ValueError(
            f"{function}() of {x:.17g}: the phone's evaluator cannot pass a number of 1e21 or"
            " more to it"
        )
    if abs(x) < 1e-20:
        fixed = float(Decimal(abs(x)).quantize(_TWENTY_PLACES, rounding=ROUND_HALF_UP))
        return -fixed if x < 0 else fixed  # "-0.000…" is read as -0
    return x
