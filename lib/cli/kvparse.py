"""Parsing of ``key=value,...`` option values, sizes, yes/no and timespecs."""

from __future__ import annotations

import re

from ganeti import errors
from ganeti.utils.text import parse_unit

_SPLIT_RE = re.compile(r"(?<!\\),")


def _split(text: str) -> list[str]:
    return [p.replace("\\,", ",") for p in _SPLIT_RE.split(text)]


def parse_kv(text: str, what: str = "option") -> dict:
    """'a=1,b,no_c,-d' -> {'a': '1', 'b': True, 'c': False, 'd': None}."""
    out: dict = {}
    if text == "":
        return out
    for elem in _split(text):
        if "=" in elem:
            key, value = elem.split("=", 1)
        elif elem.startswith("no_"):
            key, value = elem[3:], False
        elif elem.startswith("-"):
            key, value = elem[1:], None
        else:
            key, value = elem, True
        if not key:
            raise errors.ParameterError("Empty parameter name in %s '%s'" % (what, text))
        if key in out:
            raise errors.ParameterError("Duplicate key '%s' in %s" % (key, what))
        out[key] = value
    return out


def parse_ident_kv(text: str, what: str = "option") -> tuple[str, dict | bool | None]:
    """'ident:k=v,...' -> (ident, dict); 'no_ident' -> (ident, False); '-ident' -> None."""
    if ":" in text:
        ident, rest = text.split(":", 1)
    else:
        ident, rest = text, ""
    if ident.startswith("no_"):
        if rest:
            raise errors.ParameterError("Cannot pass options when removing parameter groups:"
                                        " %s" % text)
        return ident[3:], False
    if ident.startswith("-") and not ident[1:2].isdigit():
        if rest:
            raise errors.ParameterError("Cannot pass options when removing parameter groups:"
                                        " %s" % text)
        return ident[1:], None
    return ident, parse_kv(rest, what)


def parse_size(text: str) -> int:
    try:
        return parse_unit(text)
    except errors.UnitParseError as err:
        raise errors.ParameterError("Invalid size '%s': %s" % (text, err.args[0]))


def parse_bool_yes_no(text: str, what: str = "option") -> bool:
    value = text.strip().lower()
    if value in ("yes", "true", "1"):
        return True
    if value in ("no", "false", "0"):
        return False
    raise errors.ParameterError("Invalid value '%s' for %s, expected yes or no" % (text, what))


_TIMESPEC = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_timespec(text: str) -> int:
    value = text.strip()
    if not value:
        raise errors.OpPrereqError("Empty time specification passed", errors.ECODE_INVAL)
    mult = 1
    if value[-1] in _TIMESPEC:
        mult = _TIMESPEC[value[-1]]
        value = value[:-1]
        if not value:
            raise errors.OpPrereqError("Invalid time specification (only suffix passed)",
                                       errors.ECODE_INVAL)
    try:
        return int(value) * mult
    except ValueError:
        raise errors.OpPrereqError("Invalid time specification '%s'" % text, errors.ECODE_INVAL)


def convert_values(params: dict) -> dict:
    """Turn CLI strings into numbers/bools where they look like ones."""
    out = {}
    for key, value in params.items():
        if isinstance(value, str):
            low = value.lower()
            if low in ("true", "false"):
                value = low == "true"
            elif re.fullmatch(r"-?\d+", value):
                value = int(value)
            elif re.fullmatch(r"-?\d+\.\d*", value):
                value = float(value)
        out[key] = value
    return out
