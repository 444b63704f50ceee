# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks of block and app parameters: one ValueError that names the parameter, the
accepted range and the value given (nothing here imports GNU Radio)."""

import math
import numbers


def _range(minimum, maximum):
    if minimum is not None and maximum is not None:
        return f" in [{minimum}, {maximum}]"
    if minimum is not None:
        return f" >= {minimum}"
    if maximum is not None:
        return f" <= {maximum}"
    return ""


def integer(value, name, minimum=None, maximum=None):
    """``value`` as an int: an integer (Python or numpy, or a float with no fraction such
    as GRC's 1024.0) within [minimum, maximum]; ValueError otherwise (2.7 is refused, not
    truncated; so are bools and strings)."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not ok and isinstance(value, numbers.Real) and not isinstance(value, bool):
        ok = math.isfinite(value) and float(value).is_integer()
    if ok:
        value = int(value)
        ok = (minimum is None or value >= minimum) and (maximum is None or value <= maximum)
    if not ok:
        raise ValueError(f"{name} must be an integer{_range(minimum, maximum)}, got {value!r}")
    return value


def real(value, name, minimum=None, maximum=None, low_open=False):
    """``value`` as a finite float within [minimum, maximum] ((minimum, maximum] with
    ``low_open``); ValueError otherwise."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        value = float(value)
        ok = math.isfinite(value)
        if minimum is not None:
            ok = ok and (value > minimum if low_open else value >= minimum)
        ok = ok and (maximum is None or value <= maximum)
    if not ok:
        where = _range(minimum, maximum)
        if low_open and minimum is not None:
            where = f" in ({minimum}, {maximum}]" if maximum is not None else f" > {minimum}"
        raise ValueError(f"{name} must be a finite number{where}, got {value!r}")
    return value
