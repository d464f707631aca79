"""Generic ``list`` and ``list-fields`` over LUXI Query/QueryFields."""

from __future__ import annotations

import sys

from ganeti import constants


def parse_fields(selected: str | None, default: list[str]) -> list[str]:
    if selected is None:
        return list(default)
    if selected.startswith("+"):
        return list(default) + [f for f in selected[1:].split(",") if f]
    return [f for f in selected.split(",") if f]


def generic_list(opts, args: list[str], what: str, default_fields: list[str],
                 namefield: str = "name", isnumeric: bool = False, extra_filter=None,
                 client=None) -> int:
    from ganeti import qlang
    from ganeti.cli import jobs, table
    fields = parse_fields(opts.output, default_fields)
    qfilter = qlang.make_filter(args, opts.force_filter, namefield, isnumeric)
    if extra_filter is not None:
        qfilter = extra_filter if qfilter is None else ["&", qfilter, extra_filter]
    client = client or jobs.get_client()
    response = client.query(what, fields, qfilter)
    status, lines = table.format_query_result(response["fields"], response["data"],
                                              separator=opts.separator,
                                              header=not opts.no_headers, units=opts.units,
                                              verbose=bool(opts.verbose))
    unknown = [f["name"] for f in response["fields"] if f["kind"] == constants.QFT_UNKNOWN]
    if unknown:
        sys.stderr.write("Warning: Queried for unknown fields %s\n" % ", ".join(unknown))
    for line in lines:
        print(line)
    if status == table.QR_UNKNOWN:
        return constants.EXIT_UNKNOWN_FIELD
    return constants.EXIT_SUCCESS


def generic_list_fields(opts, args: list[str], what: str, client=None) -> int:
    from ganeti.cli import jobs, table
    client = client or jobs.get_client()
    response = client.query_fields(what, args or None)
    fdefs = response["fields"]
    unknown = [f["name"] for f in fdefs if f["kind"] == constants.QFT_UNKNOWN]
    if unknown:
        sys.stderr.write("Warning: Queried for unknown fields %s\n" % ", ".join(unknown))
    for line in table.format_list_fields(fdefs, opts.separator, not opts.no_headers):
        print(line)
    return constants.EXIT_UNKNOWN_FIELD if unknown else constants.EXIT_SUCCESS
