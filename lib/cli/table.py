"""Rendering of list output the way Ganeti's CLI prints it."""

from __future__ import annotations

import time
from typing import Any

from ganeti import constants
from ganeti.utils.text import format_unit

QR_NORMAL, QR_UNKNOWN, QR_INCOMPLETE = 0, 1, 2

_SPECIAL = {
    constants.RS_UNKNOWN: ("??", "(unknown)"),
    constants.RS_NODATA: ("?", "(nodata)"),
    constants.RS_UNAVAIL: ("-", "(unavail)"),
    constants.RS_OFFLINE: ("*", "(offline)"),
}
_NUMERIC = (constants.QFT_NUMBER, constants.QFT_NUMBER_FLOAT, constants.QFT_UNIT)
KIND_NAMES = {
    constants.QFT_UNKNOWN: "Unknown", constants.QFT_TEXT: "Text", constants.QFT_BOOL: "Boolean",
    constants.QFT_NUMBER: "Number", constants.QFT_NUMBER_FLOAT: "Floating-point number",
    constants.QFT_UNIT: "Storage size", constants.QFT_TIMESTAMP: "Timestamp",
    constants.QFT_OTHER: "Custom",
}


def format_value(kind: str, value: Any, units: str) -> str:
    if kind == constants.QFT_BOOL:
        return "Y" if value else "N"
    if kind == constants.QFT_UNIT and isinstance(value, (int, float)):
        return format_unit(value, units)
    if kind == constants.QFT_TIMESTAMP and isinstance(value, (int, float)):
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(value))
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ",".join(value)
    if value is None:
        return "None"
    return str(value)


def format_query_result(fielddefs: list[dict], rows: list, separator: str | None = None,
                        header: bool = True, units: str | None = None,
                        verbose: bool = False) -> tuple[int, list[str]]:
    if units is None:
        units = "m" if separator is not None else "h"
    status = QR_NORMAL
    if any(f["kind"] == constants.QFT_UNKNOWN for f in fielddefs):
        status = QR_UNKNOWN
    table = []
    for row in rows:
        cells = []
        for fdef, (rs, value) in zip(fielddefs, row, strict=True):
            if rs == constants.RS_NORMAL:
                cells.append(format_value(fdef["kind"], value, units))
            else:
                if status == QR_NORMAL:
                    status = QR_INCOMPLETE
                cells.append(_SPECIAL.get(rs, ("??", "(unknown)"))[1 if verbose else 0])
        table.append(cells)
    headers = [f["title"] for f in fielddefs] if header else None
    numeric = [f["kind"] in _NUMERIC for f in fielddefs]
    return status, render(headers, table, numeric, separator)


def render(headers: list[str] | None, table: list[list[str]], numeric: list[bool],
           separator: str | None) -> list[str]:
    all_rows = ([headers] if headers else []) + table
    if separator is not None:
        return [separator.join(r) for r in all_rows]
    if not all_rows:
        return []
    ncols = len(all_rows[0])
    widths = [max(len(r[i]) for r in all_rows) for i in range(ncols)]
    lines = []
    for r in all_rows:
        parts = []
        for i, cell in enumerate(r):
            if numeric[i]:
                parts.append(cell.rjust(widths[i]))
            elif i == ncols - 1:
                parts.append(cell)
            else:
                parts.append(cell.ljust(widths[i]))
        lines.append(" ".join(parts).rstrip())
    return lines


def format_list_fields(fielddefs: list[dict], separator: str | None = None,
                       header: bool = True) -> list[str]:
    rows = [[f["name"], KIND_NAMES.get(f["kind"], f["kind"]), f["title"], f["doc"]]
            for f in fielddefs]
    headers = ["Name", "Type", "Title", "Description"] if header else None
    return render(headers, rows, [False] * 4, separator)
