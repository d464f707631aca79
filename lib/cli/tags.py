"""list-tags / add-tags / remove-tags, shared by every gnt-* program with tags."""

from __future__ import annotations

import sys

from ganeti import errors


def tags_from(opts, args: list[str]) -> list[str]:
    """Tags from the arguments plus ``--from FILE`` (one per line, '-' = stdin)."""
    tags = list(args)
    source = getattr(opts, "tags_source", None)
    if source:
        if source == "-":
            data = sys.stdin.read()
        else:
            with open(source, encoding="utf-8") as fh:
                data = fh.read()
        tags.extend(line.strip() for line in data.splitlines())
    return tags


def list_tags(kind: str, name: str | None) -> int:
    from ganeti.cli import jobs
    for tag in sorted(jobs.get_client().query_tags(kind, name)):
        print(tag)
    return 0


def change_tags(op_id: str, kind: str, name: str | None, opts, args: list[str]) -> int:
    """Add (OP_TAGS_SET) or remove (OP_TAGS_DEL) tags of one object."""
    from ganeti.cli import jobs
    tags = tags_from(opts, args)
    if not tags:
        raise errors.OpPrereqError("No tags to be %s" % (
            "added" if op_id == "OP_TAGS_SET" else "removed"), errors.ECODE_INVAL)
    op = {"OP_ID": op_id, "kind": kind, "tags": tags}
    if name is not None:
        op["name"] = name
    jobs.submit_or_send(op, opts)
    return 0
