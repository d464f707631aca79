"""Parsing of structured option values (spec/cli.md §1.2).

``-B``/``-H``/``--disk``/... all share one ``key=val,...`` syntax, and
sizes, yes/no flags and time specifications have one spelling each;
parsing them in one place keeps every gnt-* command consistent. Errors
are ParameterError (the CLI prints ``Failure: <message>``), except
timespecs which, as in Ganeti, fail with OpPrereqError.
"""

from __future__ import annotations

import re

from ganeti import errors
from ganeti.utils.text import parse_unit

NO_PREFIX = "no_"
UN_PREFIX = "-"


def split_escaped(text: str, sep: str = ",") -> list[str]:
    """Split on ``sep`` unless backslash-escaped; ``\\X`` stands for X.

    So ``a\\,b`` is the single element ``a,b`` and ``a\\\\,b`` is ``a\\``
    followed by ``b``. A lone trailing backslash is kept.
    """
    parts: list[str] = []
    current: list[str] = []
    idx = 0
    while idx < len(text):
        char = text[idx]
        if char == "\\" and idx + 1 < len(text):
            current.append(text[idx + 1])
            idx += 2
            continue
        if char == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        idx += 1
    parts.append("".join(current))
    return parts


def escape(text: str, sep: str = ",") -> str:
    """Inverse of :func:`split_escaped` for one element."""
    return text.replace("\\", "\\\\").replace(sep, "\\" + sep)


def parse_kv(text: str, what: str = "option") -> dict:
    """``a=1,b,no_c,-d`` -> ``{"a": "1", "b": True, "c": False, "d": None}``.

    Values stay strings (types are checked by the opcode); a key given
    twice or an empty key is an error naming ``what`` (e.g. "option -B").
    """
    result: dict = {}
    if not text:
        return result
    for elem in split_escaped(text):
        if "=" in elem:
            key, value = elem.split("=", 1)
        elif elem.startswith(NO_PREFIX):
            key, value = elem[len(NO_PREFIX):], False
        elif elem.startswith(UN_PREFIX):
            key, value = elem[len(UN_PREFIX):], None
        else:
            key, value = elem, True
        if not key:
            raise errors.ParameterError("Empty parameter name in %s: '%s'" % (what, text))
        if key in result:
            raise errors.ParameterError("Duplicate key '%s' in %s" % (key, what))
        result[key] = value
    return result


def parse_ident_kv(text: str, what: str = "option") -> tuple[str, dict | bool | None]:
    """``ident:k=v,...`` -> (ident, dict); ``no_ident`` -> False; ``-ident`` -> None.

    ``-`` followed by a digit is a (negative) identifier, not a removal,
    so ``--disk -1:...`` style indices still parse. The removal forms
    take no parameters.
    """
    ident, _, rest = text.partition(":")
    removal: bool | None
    if ident.startswith(NO_PREFIX):
        ident, removal = ident[len(NO_PREFIX):], False
    elif ident.startswith(UN_PREFIX) and not ident[len(UN_PREFIX):][:1].isdigit():
        ident, removal = ident[len(UN_PREFIX):], None
    else:
        return ident, parse_kv(rest, what)
    if rest:
        raise errors.ParameterError("Cannot pass options when removing parameter groups:"
                                    " %s" % text)
    return ident, removal


def parse_size(text: str) -> int:
    """A size (``512``, ``1.5g``, ``2T``) in MiB, rounded up to 4 MiB."""
    try:
        return parse_unit(text)
    except errors.UnitParseError as err:
        raise errors.ParameterError("Invalid size '%s': %s" % (text, err.args[0]))


def parse_bool_yes_no(text: str, what: str = "option") -> bool:
    """``yes``/``no`` (also ``true``/``false``), case-insensitive."""
    value = text.strip().lower()
    if value in ("yes", "true"):
        return True
    if value in ("no", "false"):
        return False
    raise errors.ParameterError("Invalid boolean value '%s' for %s (expected yes or no)"
                                % (text, what))


_TIMESPEC_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_TIMESPEC_RE = re.compile(r"[+-]?\d+")


def parse_timespec(text: str) -> int:
    """Seconds from ``30``, ``30s``, ``5m``, ``2h``, ``1d`` or ``1w``."""
    value = str(text).strip()
    if not value:
        raise errors.OpPrereqError("Empty time specification passed", errors.ECODE_INVAL)
    multiplier = 1
    if value[-1] in _TIMESPEC_UNITS:
        multiplier = _TIMESPEC_UNITS[value[-1]]
        value = value[:-1]
        if not value:
            raise errors.OpPrereqError("Invalid time specification (only suffix passed)",
                                       errors.ECODE_INVAL)
    if not _TIMESPEC_RE.fullmatch(value):
        raise errors.OpPrereqError("Invalid time specification '%s' (expected a number of"
                                   " seconds or a number with suffix s, m, h, d or w)" % text,
                                   errors.ECODE_INVAL)
    return int(value) * multiplier
