"""Rendering of list output the way Ganeti's CLI prints it.

Scripts parse ``gnt-* list`` output, so column widths, alignment and the
rendering of every value kind must match Ganeti byte for byte:

* aligned mode: columns separated by one space, numeric kinds (number,
  float, unit) right-aligned, others left-aligned; the last column is not
  padded when left-aligned (an empty last cell still leaves the
  separating space, as upstream does);
* ``--separator``: cells joined by the separator, no padding;
* values: booleans ``Y``/``N``, sizes via format_unit (``h`` unless a
  separator is given, then ``m``), timestamps as local
  ``YYYY-MM-DD HH:MM:SS``, lists of strings joined by ``,``, other values
  via ``str``; missing values as ``??``/``?``/``-``/``*`` or, verbose,
  ``(unknown)``/``(nodata)``/``(unavail)``/``(offline)``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable

from ganeti import constants
from ganeti.utils.text import format_unit

TYPE_CHECKING = False   # typing costs ~10 ms of every command's start-up
if TYPE_CHECKING:
    from typing import Any

#: Overall result of formatting a query answer (mapped to exit codes by the CLI).
QR_NORMAL = 0      # every value present
QR_UNKNOWN = 1     # some requested field is unknown (exit 14)
QR_INCOMPLETE = 2  # some values are missing (nodata, unavailable, offline)

_SPECIAL = {
    constants.RS_UNKNOWN: ("??", "(unknown)"),
    constants.RS_NODATA: ("?", "(nodata)"),
    constants.RS_UNAVAIL: ("-", "(unavail)"),
    constants.RS_OFFLINE: ("*", "(offline)"),
}
NUMERIC_KINDS = frozenset([constants.QFT_NUMBER, constants.QFT_NUMBER_FLOAT,
                           constants.QFT_UNIT])
#: How ``list-fields`` names the kinds ("Type" column).
KIND_NAMES = {
    constants.QFT_UNKNOWN: "Unknown",
    constants.QFT_TEXT: "Text",
    constants.QFT_BOOL: "Boolean",
    constants.QFT_NUMBER: "Number",
    constants.QFT_NUMBER_FLOAT: "Floating-point number",
    constants.QFT_UNIT: "Storage size",
    constants.QFT_TIMESTAMP: "Timestamp",
    constants.QFT_OTHER: "Custom",
}

#: field name -> (format function for normal values, align right)
FormatOverride = dict[str, tuple[Callable[..., str], bool]]


def default_units(separator: str | None) -> str:
    """Human-readable sizes for aligned tables, plain MiB for parseable ones."""
    return "m" if separator else "h"


def format_time(value: Any) -> str:
    """A timestamp (seconds) as local ``YYYY-MM-DD HH:MM:SS``; ``?`` if not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "?"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(value))


def join_list(value: Any) -> str:
    """``a,b,c`` for lists (the usual override for name lists)."""
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def format_dict(value: Any) -> str:
    """``k=v, k=v`` for parameter dicts (as gnt-group list shows ndparams)."""
    if isinstance(value, dict):
        return ", ".join("%s=%s" % (k, v) for k, v in value.items())
    return str(value)


def format_value(kind: str, value: Any, units: str) -> str:
    """Render one normal value of a field of ``kind``."""
    if kind == constants.QFT_BOOL:
        return "Y" if value else "N"
    if kind == constants.QFT_UNIT:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return format_unit(value, units)
        return str(value)
    if kind == constants.QFT_TIMESTAMP:
        return format_time(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ",".join(value)
    return str(value)


def format_special(status: int, verbose: bool = False) -> str:
    """Text for a value that is not there (result status other than normal)."""
    terse, long = _SPECIAL.get(status, _SPECIAL[constants.RS_UNKNOWN])
    return long if verbose else terse


def _fdef_dict(fdef: Any) -> dict:
    return fdef if isinstance(fdef, dict) else fdef.to_dict()


def format_table(rows: list[list[str]], titles: list[str] | None, align_right: list[bool],
                 separator: str | None = None) -> list[str]:
    """Lay out already formatted cells (one list per row).

    ``titles`` None means no header line. Widths include the header.
    """
    lines = ([list(titles)] if titles is not None else []) + [list(r) for r in rows]
    if separator is not None:
        return [separator.join(line) for line in lines]
    ncols = len(align_right)
    widths = [0] * ncols
    for line in lines:
        for idx in range(ncols):
            widths[idx] = max(widths[idx], len(line[idx]))
    if ncols and not align_right[-1]:
        widths[-1] = 0  # no padding after the last column
    # one format string for all lines: ten thousand rows stay cheap
    pattern = " ".join(("{:%s%d}" % (">" if right else "<", width)) if width else "{}"
                       for width, right in zip(widths, align_right, strict=True))
    return [pattern.format(*line) for line in lines]


def render(headers: list[str] | None, rows: list[list[str]], numeric: list[bool],
           separator: str | None) -> list[str]:
    """Same as :func:`format_table` (argument order kept for older callers)."""
    return format_table(rows, headers, numeric, separator)


def _kind_formatter(kind: str, units: str) -> Callable[[Any], str]:
    if kind == constants.QFT_TEXT:
        def fmt_text(value: Any) -> str:
            # the common case first: long listings are mostly names
            return value if value.__class__ is str else format_value(kind, value, units)
        return fmt_text

    def fmt(value: Any) -> str:
        return format_value(kind, value, units)
    return fmt


def format_query_result(fielddefs: list, rows: list, separator: str | None = None,
                        header: bool = True, units: str | None = None,
                        verbose: bool = False,
                        format_override: FormatOverride | None = None
                        ) -> tuple[int, list[str]]:
    """Format a query answer (field definitions + rows of ``[status, value]``).

    Returns ``(status, lines)`` where status is QR_UNKNOWN when a requested
    field is unknown, QR_INCOMPLETE when some value is missing, else
    QR_NORMAL; the CLI maps QR_UNKNOWN to exit code 14.
    """
    if units is None:
        units = default_units(separator)
    override = format_override or {}
    fdefs = [_fdef_dict(f) for f in fielddefs]
    columns = []
    for fdef in fdefs:
        if fdef["name"] in override:
            fn, right = override[fdef["name"]]
        else:
            fn = _kind_formatter(fdef["kind"], units)
            right = fdef["kind"] in NUMERIC_KINDS
        columns.append((fn, right))
    unknown = any(f["kind"] == constants.QFT_UNKNOWN for f in fdefs)
    incomplete = False
    cells = []
    for row in rows:
        line = []
        for (fn, _), (status, value) in zip(columns, row, strict=True):
            if status == constants.RS_NORMAL:
                line.append(fn(value))
            else:
                if status == constants.RS_UNKNOWN:
                    unknown = True
                incomplete = True
                line.append(format_special(status, verbose))
        cells.append(line)
    titles = [f["title"] for f in fdefs] if header else None
    lines = format_table(cells, titles, [right for _, right in columns], separator)
    if unknown:
        return QR_UNKNOWN, lines
    return (QR_INCOMPLETE if incomplete else QR_NORMAL), lines


def format_list_fields(fielddefs: list, separator: str | None = None,
                       header: bool = True) -> list[str]:
    """The ``list-fields`` table: Name, Type, Title, Description."""
    rows = []
    for fdef in (_fdef_dict(f) for f in fielddefs):
        rows.append([fdef["name"], KIND_NAMES.get(fdef["kind"], fdef["kind"]),
                     fdef["title"], fdef["doc"]])
    titles = ["Name", "Type", "Title", "Description"] if header else None
    return format_table(rows, titles, [False] * 4, separator)


def _matcher(patterns: Iterable[str]) -> Callable[[str], bool]:
    """Field-name sets may hold plain names or regexes (matched in full)."""
    compiled = [re.compile(p) for p in patterns]
    return lambda name: any(c.fullmatch(name) for c in compiled)


def generate_table(headers: dict[str, str] | None, fields: list[str],
                   separator: str | None, data: list, numfields: Iterable[str] = (),
                   unitfields: Iterable[str] = (), units: str | None = None) -> list[str]:
    """Table for commands that are not query-based (volumes, os list, ...).

    ``headers`` maps field names to titles (None: no header line); a field
    without a title uses its name. ``data`` rows are plain values; a None
    row prints ``-`` in every column. ``numfields`` are right-aligned,
    ``unitfields`` formatted as sizes when they are integers. As in
    Ganeti, the header line is laid out before the last column loses its
    padding, so it is padded to the widest value of that column.
    """
    if units is None:
        units = default_units(separator)
    is_num = _matcher(numfields)
    is_unit = _matcher(unitfields)
    right = [is_num(f) for f in fields]
    rows: list[list[str] | None] = []
    for row in data:
        if row is None:
            rows.append(None)
            continue
        line = []
        for idx, value in enumerate(row):
            if is_unit(fields[idx]):
                try:
                    value = format_unit(int(value), units)
                except (TypeError, ValueError):
                    pass
            line.append(str(value))
        rows.append(line)
    titles = [(headers or {}).get(f, f) for f in fields]
    widths = [0] * len(fields)
    # None rows do not count for the widths (their "-" may overflow)
    for line in [r for r in rows if r is not None] + ([titles] if headers else []):
        for idx in range(len(fields)):
            widths[idx] = max(widths[idx], len(line[idx]))
    rows = [line if line is not None else ["-"] * len(fields) for line in rows]
    if separator is not None:
        lines = [separator.join(titles)] if headers else []
        return lines + [separator.join(line) for line in rows]

    def lay_out(line: list[str]) -> str:
        return " ".join(cell.rjust(w) if r else cell.ljust(w)
                        for cell, w, r in zip(line, widths, right, strict=True))

    result = [lay_out(titles)] if headers else []
    if fields and not right[-1]:
        widths[-1] = 0
    return result + [lay_out(line) for line in rows]
