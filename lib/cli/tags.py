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


def tag_commands(kind: str, noun: str | None, tag_opts: list) -> dict:
    """list-tags/add-tags/remove-tags entries of a program's command table.

    ``noun`` names the object argument ("node", "group"); None means the
    cluster, which takes no object name.
    """
    from ganeti.cli.base import Command

    def split(args: list[str]) -> tuple[str | None, list[str]]:
        return (None, args) if noun is None else (args[0], args[1:])

    def list_(opts, args) -> int:
        return list_tags(kind, split(args)[0])

    def add(opts, args) -> int:
        name, tags = split(args)
        return change_tags("OP_TAGS_SET", kind, name, opts, tags)

    def remove(opts, args) -> int:
        name, tags = split(args)
        return change_tags("OP_TAGS_DEL", kind, name, opts, tags)

    if noun is None:
        what, arg, nargs = "the cluster", "", {"min_args": 0}
    else:
        what, arg, nargs = "the given %s" % noun, "<%s_name> " % noun, {"min_args": 1}
    return {
        "list-tags": Command(list_, arg.strip(), [], "List the tags of %s" % what,
                             max_args=nargs["min_args"], **nargs),
        "add-tags": Command(add, arg + "tag...", tag_opts, "Add tags to %s" % what, **nargs),
        "remove-tags": Command(remove, arg + "tag...", tag_opts, "Remove tags from %s" % what,
                               **nargs),
    }
