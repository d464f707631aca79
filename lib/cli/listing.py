"""Generic ``list`` and ``list-fields`` over LUXI Query/QueryFields.

Every gnt-* listing is the same dance: fields from ``-o`` (``+`` appends
to the defaults), a filter from the arguments (names, globs or a filter
expression), one Query call, a table. Doing it once here keeps the
output, the unknown-field warning and exit code 14 identical everywhere.
"""

from __future__ import annotations

import sys

from ganeti import constants

TYPE_CHECKING = False   # typing costs ~10 ms of every command's start-up
if TYPE_CHECKING:
    from typing import Any

    from ganeti.cli.table import FormatOverride


def parse_fields(selected: str | None, default: list[str]) -> list[str]:
    """The -o value as a field list; a leading "+" extends the defaults."""
    if selected is None:
        return list(default)
    if selected.startswith("+"):
        return list(default) + selected[1:].split(",")
    return selected.split(",")


def apply_format_override(fielddefs: list[dict], rows: list,
                          override: FormatOverride | None) -> tuple[list[dict], list]:
    """Pre-format overridden columns so the table code shows them verbatim.

    The table renders by field kind; an overridden column becomes "text"
    (or "number" when it must be right-aligned) holding ready strings.
    """
    if not override:
        return fielddefs, rows
    idx = {i: override[f["name"]] for i, f in enumerate(fielddefs) if f["name"] in override}
    if not idx:
        return fielddefs, rows
    new_defs = []
    for i, fdef in enumerate(fielddefs):
        if i in idx and fdef.get("kind") != constants.QFT_UNKNOWN:
            fdef = dict(fdef, kind=constants.QFT_NUMBER if idx[i][1] else constants.QFT_TEXT)
        new_defs.append(fdef)
    new_rows = []
    for row in rows:
        new_row = list(row)
        for i, (fn, _) in idx.items():
            status, value = row[i]
            if status == constants.RS_NORMAL:
                new_row[i] = [status, fn(value)]
        new_rows.append(new_row)
    return new_defs, new_rows


def warn_unknown(fielddefs: list[dict]) -> bool:
    """Warn on stderr about unknown fields; True if there were any."""
    unknown = [f["name"] for f in fielddefs if f.get("kind") == constants.QFT_UNKNOWN]
    if unknown:
        sys.stderr.write("Warning: Queried for unknown fields %s\n" % ", ".join(unknown))
    return bool(unknown)


def generic_list(opts: Any, args: list[str], what: str, default_fields: list[str],
                 namefield: str = "name", isnumeric: bool = False, extra_filter: Any = None,
                 client: Any = None, format_override: FormatOverride | None = None,
                 fields: list[str] | None = None) -> int:
    """Query ``what`` over LUXI and print it as a table; return the exit code."""
    from ganeti import qlang
    from ganeti.cli import jobs, table
    if fields is None:
        fields = parse_fields(getattr(opts, "output", None), default_fields)
    qfilter = qlang.make_filter(args, getattr(opts, "force_filter", False), namefield,
                                isnumeric) if args else None
    if extra_filter is not None:
        qfilter = extra_filter if qfilter is None else [qlang.OP_AND, qfilter, extra_filter]
    client = client or jobs.get_client()
    response = client.query(what, fields, qfilter)
    warn_unknown(response["fields"])
    fdefs, rows = apply_format_override(response["fields"], response["data"],
                                        format_override)
    status, lines = table.format_query_result(
        fdefs, rows, separator=getattr(opts, "separator", None),
        header=not getattr(opts, "no_headers", False), units=getattr(opts, "units", None),
        verbose=bool(getattr(opts, "verbose", 0)))
    sys.stdout.write("".join(line + "\n" for line in lines))
    if status == table.QR_UNKNOWN:
        return constants.EXIT_UNKNOWN_FIELD
    return constants.EXIT_SUCCESS


def generic_list_fields(opts: Any, args: list[str], what: str, client: Any = None) -> int:
    """Describe the fields of ``what`` (all, or those named); 14 if any is unknown."""
    from ganeti.cli import jobs, table
    client = client or jobs.get_client()
    response = client.query_fields(what, args or None)
    found_unknown = warn_unknown(response["fields"])
    lines = table.format_list_fields(response["fields"], getattr(opts, "separator", None),
                                     not getattr(opts, "no_headers", False))
    sys.stdout.write("".join(line + "\n" for line in lines))
    return constants.EXIT_UNKNOWN_FIELD if found_unknown else constants.EXIT_SUCCESS


def make_simple_filter(field: str, values: list | None) -> list | None:
    """``field`` equal to any of ``values`` (None when there are none)."""
    if not values:
        return None
    return ["|"] + [["==", field, value] for value in values]
